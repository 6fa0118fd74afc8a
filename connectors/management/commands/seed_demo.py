from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from clarity.roles import APPROVER, INTEGRATION_ADMIN, OPERATOR, VIEWER
from connectors.models import Connection, IntegrationPair

DEMO_USERS = {"admin": INTEGRATION_ADMIN, "operator": OPERATOR, "approver": APPROVER,
              "viewer": VIEWER}  # fmt: skip
SANDBOX_DIR = settings.VAR_DIR / "sandbox"

# The demo connections point at the local sandboxes (manage.py run_sandboxes).
DEMO_CONNECTIONS = [
    {
        "name": "Demo Streak",
        "system": "streak",
        "settings": {
            "base_url": "http://127.0.0.1:8101",
            "pipeline_key": "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDE6c2FuZGJveA",  # Sales
        },
        "secrets": {"api_key": "sandbox-streak-key"},
    },
    {
        "name": "Demo Salesforce",
        "system": "salesforce",
        "settings": {
            "login_url": "https://127.0.0.1:8443",
            "auth_flow": "client_credentials",
            "client_id": "sandbox-client",
            "api_version": "59.0",
            "ca_bundle": str(SANDBOX_DIR / "salesforce-cert.pem"),
        },
        "secrets": {"client_secret": "sandbox-secret"},
    },
    {
        "name": "Demo Sage 100",
        "system": "sage100",
        "settings": {
            "odbc_connection_string": f"DRIVER={{SQLite3}};Database={SANDBOX_DIR / 'sage100.db'}",
            "odbc_dialect": "sqlite",
            "company_code": "ABC",
            "bridge_url": "http://127.0.0.1:8104",
            "default_warehouse": "000",
        },
        "secrets": {"bridge_key": "sandbox-bridge-key"},
    },
    {
        "name": "Demo Sage 50",
        "system": "sage50",
        "settings": {
            "api_url": "http://127.0.0.1:8102/v3.1",
            "auth_url": "http://127.0.0.1:8102/oauth/authorize",
            "token_url": "http://127.0.0.1:8102/oauth/token",
            "client_id": "sandbox-client",
        },
        "secrets": {"client_secret": "sandbox-secret"},
    },
]
DEMO_PAIRS = [
    ("Streak to Sage 100", "Demo Streak", "Demo Sage 100"),
    ("Salesforce to Sage 100", "Demo Salesforce", "Demo Sage 100"),
    ("Streak to Sage 50", "Demo Streak", "Demo Sage 50"),
]


class Command(BaseCommand):
    help = "Create the demo users and the sandbox connections and pairs; safe to run again."

    @transaction.atomic
    def handle(self, **options) -> None:
        password = settings.CLARITY_DEMO_PASSWORD
        for username, role in DEMO_USERS.items():
            user, created = get_user_model().objects.get_or_create(
                username=username, defaults={"is_staff": role == INTEGRATION_ADMIN}
            )
            if created:
                user.set_password(password)
                user.save()
            user.groups.set([Group.objects.get(name=role)])
        connections = {}
        for spec in DEMO_CONNECTIONS:
            connection, created = Connection.objects.get_or_create(
                name=spec["name"], defaults={"system": spec["system"], "settings": spec["settings"]}
            )
            if created:
                connection.set_secrets(spec["secrets"])
                connection.save()
            connections[spec["name"]] = connection
        for name, crm, erp in DEMO_PAIRS:
            if IntegrationPair.objects.filter(name=name).exists():
                continue
            # The token is never printed: the pair page's Rotate button shows a fresh URL.
            pair = IntegrationPair(name=name, crm=connections[crm], erp=connections[erp])
            pair.rotate_webhook_token()
            pair.full_clean()
            pair.save()
        self.stdout.write(
            f"Demo users: {', '.join(DEMO_USERS)} with password {password!r} "
            "(set CLARITY_DEMO_PASSWORD to change it for new users)."
        )
