"""Settings, read from the environment (12-factor) with a `.env` file beside manage.py.

`make run` writes `.env` with a random SECRET_KEY and CLARITY_ENCRYPTION_KEYS on first start.
"""

import os
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Comma-separated Fernet keys: the first encrypts, all decrypt (see clarity/fields.py).
CLARITY_ENCRYPTION_KEYS = env.list("CLARITY_ENCRYPTION_KEYS")
# Demo mode (`make run` sets it): seed_demo may create the well-known demo accounts, and the
# server refuses to start in it when ALLOWED_HOSTS reaches beyond this machine.
CLARITY_DEMO = env.bool("CLARITY_DEMO", default=False)
CLARITY_DEMO_PASSWORD = env.str("CLARITY_DEMO_PASSWORD", default="clarity-demo")
# Hosts (name or address, optionally :port) that server-side requests may reach although
# they resolve to a private, loopback or link-local address: the sandboxes in the demo and
# tests. Everything else private is refused after DNS resolution (connectors/outbound.py).
CLARITY_OUTBOUND_ALLOWED_HOSTS = env.list("CLARITY_OUTBOUND_ALLOWED_HOSTS", default=[])
# Base URL the CRMs use to reach our webhooks (shown on the pair page).
CLARITY_PUBLIC_URL = env.str("CLARITY_PUBLIC_URL", default="http://127.0.0.1:8000")
# A worker heartbeat older than this makes /readyz answer 503 (see clarity/health.py).
CLARITY_WORKER_STALE_SECONDS = env.int("CLARITY_WORKER_STALE_SECONDS", default=20)
# Told to stop, a worker gives a run back after at most this long in a step (run_workers).
CLARITY_WORKER_STOP_SECONDS = env.float("CLARITY_WORKER_STOP_SECONDS", default=3.0)
# Runs (flows/runner.py): full-jitter backoff between attempts, a lease per attempt that
# the worker renews every third of it (flows/leases.py).
CLARITY_RETRY_BASE_SECONDS = env.float("CLARITY_RETRY_BASE_SECONDS", default=30.0)
CLARITY_RETRY_CAP_SECONDS = env.float("CLARITY_RETRY_CAP_SECONDS", default=3600.0)
CLARITY_MAX_ATTEMPTS = env.int("CLARITY_MAX_ATTEMPTS", default=8)
CLARITY_RUN_LEASE_SECONDS = env.int("CLARITY_RUN_LEASE_SECONDS", default=30)
# A run still going this long after it was taken is hung: its lease is no longer renewed.
CLARITY_RUN_MAX_SECONDS = env.float("CLARITY_RUN_MAX_SECONDS", default=600.0)
CLARITY_MAX_CRASHES = env.int("CLARITY_MAX_CRASHES", default=3)
CLARITY_SWEEP_SECONDS = env.int("CLARITY_SWEEP_SECONDS", default=60)
CLARITY_WEBHOOK_MAX_BYTES = 1024 * 1024
# Deeper JSON than this is refused (400) and kept as an invalid delivery.
CLARITY_WEBHOOK_MAX_DEPTH = env.int("CLARITY_WEBHOOK_MAX_DEPTH", default=32)
# Per webhook token and web process: deliveries a second on average, and the burst allowed;
# more answers 429 before the database is touched (flows/throttle.py); a rate of 0 is no limit.
CLARITY_WEBHOOK_RATE_PER_SECOND = env.float("CLARITY_WEBHOOK_RATE_PER_SECOND", default=100.0)
CLARITY_WEBHOOK_BURST = env.int("CLARITY_WEBHOOK_BURST", default=500)
# A mapping preview (designer and API) stops after this long or this much output.
CLARITY_PREVIEW_SECONDS = env.float("CLARITY_PREVIEW_SECONDS", default=0.5)
CLARITY_PREVIEW_MAX_BYTES = env.int("CLARITY_PREVIEW_MAX_BYTES", default=256 * 1024)
# Live questions to Sage (credit limit and balance) answer within this or say Sage is slow.
CLARITY_CREDIT_BUDGET_SECONDS = env.float("CLARITY_CREDIT_BUDGET_SECONDS", default=5.0)
# /metrics answers a signed-in user, or `Authorization: Bearer <token>` when this is set.
CLARITY_METRICS_TOKEN = env.str("CLARITY_METRICS_TOKEN", default="")

# Mail leaves through the outbox (clarity/outbox.py). EMAIL_URL is django-environ's form, e.g.
# smtp+tls://user:password@smtp.example.com:587. Unset, development prints mail on the
# console, and production keeps mail queued with the alerts page saying to set EMAIL_URL,
# rather than trying Django's default, a server on localhost:25 that is seldom there. The URL
# itself is no setting: Django's error pages hide EMAIL_HOST_PASSWORD, not EMAIL_URL.
email_url = env.str("EMAIL_URL", default="") or ("consolemail://" if DEBUG else "")
email = (
    env.email_url_config(email_url)
    if email_url
    else {"EMAIL_BACKEND": "clarity.outbox.NotSetUpBackend"}
)
EMAIL_BACKEND = email["EMAIL_BACKEND"]
EMAIL_HOST = email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(email.get("EMAIL_USE_SSL"))
EMAIL_FILE_PATH = email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
EMAIL_TIMEOUT = 10  # seconds per exchange with the mail server: a worker never hangs on it
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Clarity Connect <clarity@localhost>")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_q",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "auditlog",
    "clarity",
    "connectors",
    "mappings",
    "flows",
    "monitoring",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Webhook deliveries go straight to their view from here (flows/middleware.py).
    "flows.middleware.WebhookFastPath",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): signed in with a second factor (TOTP).
    "django_otp.middleware.OTPMiddleware",
    # Signed out after CLARITY_SESSION_IDLE_SECONDS without a request (clarity/middleware.py).
    "clarity.middleware.SessionIdleTimeout",
    # Times in the signed-in person's own zone (clarity/middleware.py).
    "clarity.middleware.UserTimeZone",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clarity.urls"
WSGI_APPLICATION = "clarity.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clarity.context_processors.navigation",
                "monitoring.context_processors.approvals_waiting",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'clarity.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite, whose writers take turns without SQLite's busy-wait sleeps.
    DATABASES["default"]["ENGINE"] = "clarity.sqlite"
    # WAL lets the web process read while a worker writes; IMMEDIATE avoids the
    # "database is locked" upgrade deadlock between two writers.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Keep each process's connection: opening one re-runs the PRAGMAs and re-reads the
    # schema, which cost a webhook delivery more than its own inserts.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    # A file, not memory, so a qcluster started by a test sees the test database; one per
    # process, so test runs side by side do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sessions: signed out after this long without a request, and after the absolute lifetime
# whatever happens; closing the browser ends them too.
CLARITY_SESSION_IDLE_SECONDS = env.int("CLARITY_SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_COOKIE_AGE = env.int("CLARITY_SESSION_MAX_SECONDS", default=12 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Admins must sign in with a TOTP code when set; others may add one on their Settings page.
CLARITY_REQUIRE_2FA = env.bool("CLARITY_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = "Clarity Connect"
LOGIN_URL = "login"
# A view that sends each role to its work: approvers to the approval queue.
LOGIN_REDIRECT_URL = "after-sign-in"
LOGOUT_REDIRECT_URL = "login"

# django-axes: after 5 failures, lock that account from that address and, whatever the
# address (a spread-out guess at one password), that account, for 15 minutes.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_RESET_ON_SUCCESS = True
# Our own page saying what happened and when to try again (clarity/signin.py).
AXES_LOCKOUT_CALLABLE = "clarity.signin.locked_out"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# One way to write a time on every page, with its zone: `{{ value|moment }}` (clarity's
# template filter) in the reader's own zone, set on their Settings page.
DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous API call gets 401 with WWW-Authenticate. Tokens are
        # stored hashed (clarity/authentication.py).
        "clarity.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["clarity.permissions.RulePermission"],
    # JSON with a size and depth limit (clarity/parsers.py), forms and uploads as DRF's.
    "DEFAULT_PARSER_CLASSES": [
        "clarity.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # LimitOffsetPagination with a ceiling on ?limit= (clarity/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "clarity.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clarity Connect API",
    "DESCRIPTION": (
        "Clarity Connect moves won deals from the CRM (Streak, Salesforce) into Sage (Sage 100, "
        "Sage 50 desktop, Sage Accounting) and tells the CRM what Sage did. This API covers "
        "connections and integration pairs; runs (list, retry, cancel) and the inbound events "
        "that started them; approvals (approve, reject); a customer's live credit; bindings "
        "of CRM records to Sage records (list, rebind, unbind); mappings, lookup tables and "
        "their rows; and subscriptions to the events it publishes (signed "
        "POSTs to your URL), with each delivery and its attempts. "
        "Authenticate with `Authorization: Token <token>` (Settings → API token); each call "
        "acts with the token owner's role."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for a choice set used by two fields (a reconciliation row's repairs and the one
    # asked for).
    "ENUM_NAME_OVERRIDES": {"RepairEnum": "flows.reconciliation.ACTIONS"},
}

# django-q2 with the ORM broker on the default alias: enqueueing joins the caller's
# transaction, so an inbox row and its task commit together (see shared/DESIGN.md §2).
Q_CLUSTER = {
    "name": "clarity",
    "orm": "default",
    "workers": env.int("CLARITY_WORKERS", default=2),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 3,
    "ack_failures": False,
    "catch_up": False,
    # Runs keep their own record (SyncRun, RunStep): a finished task is not stored again.
    "save_limit": -1,
    # A worker process is replaced after this many tasks (django-q2's guard against leaks,
    # 500 by default) or once its RSS reaches max_rss KiB. Each replacement costs seconds of
    # the process's throughput: it takes nothing new while its 32 runs finish, and its
    # successor reads configuration, pipelines and price lists again. At 500, a worker
    # under load was replaced every 20 s and deals waited 3 s at each (bench/flows_latency).
    "recycle": env.int("CLARITY_WORKER_RECYCLE_TASKS", default=20_000),
    "max_rss": env.int("CLARITY_WORKER_MAX_RSS_KIB", default=1024 * 1024),
    # An idle cluster looks at the queue this often (one query): how long a new run can wait.
    "poll": env.float("CLARITY_QUEUE_POLL_SECONDS", default=0.1),
    # The ORM broker, woken by a ring when a run is queued on this host (flows/doorbell.py).
    "broker_class": "flows.doorbell.DoorbellBroker",
    "label": "Worker tasks",
}
# Where a process that queues a run rings the workers on this host ("" for never).
CLARITY_DOORBELL = env.str("CLARITY_DOORBELL", default="127.0.0.1:8190")
# Runs in flight at once in each worker process, on threads (flows/inflight.py).
CLARITY_RUNS_PER_WORKER = env.int("CLARITY_RUNS_PER_WORKER", default=32)
# Of those, how many run Python at once; the others wait on systems (clarity/cpu_turns.py).
CLARITY_CPU_TURNS = env.int("CLARITY_CPU_TURNS", default=4)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
    }
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Behind a reverse proxy that sets X-Forwarded-Proto and X-Forwarded-For (and strips what a
# client sent), trust those headers; otherwise a client could claim HTTPS or any address.
CLARITY_BEHIND_PROXY = env.bool("CLARITY_BEHIND_PROXY", default=False)
if CLARITY_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The address sign-in lockout counts: REMOTE_ADDR, or behind the proxy the client address the
# proxy appended last to X-Forwarded-For (clarity/security.py).
AXES_CLIENT_IP_CALLABLE = "clarity.security.client_ip"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# LOG_FORMAT=json: one JSON object a line, with run_id and pair in a run (clarity/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "clarity.logs.JSONFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "filters": {
        "run_context": {"()": "clarity.logs.RunContextFilter"},
        # Webhook URLs' tokens never reach a log line (Django's request logger quotes paths).
        "webhook_tokens": {"()": "clarity.logs.WebhookTokenFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["webhook_tokens", "run_context"],
        },
        # runserver's request lines, as Django writes them, tokens masked.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["webhook_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own handlers (a console in DEBUG, mail to ADMINS) would write its records
        # unmasked: they go to ours only.
        "django": {"handlers": [], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # django-q2 says "Enqueued" at INFO for every task: a line per webhook delivery.
        # The runs' own logs say what happened; its warnings and errors still show.
        "django-q": {"level": "WARNING"},
    },
}
