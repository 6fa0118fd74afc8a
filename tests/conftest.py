"""Fixtures shared by every test layer: users per role, the live sandboxes, a connection to
each, and the Streak → Sage 100 won-deal pair. Unit tests start no sandbox
(tests/unit/conftest.py)."""

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import Group

from clarity.roles import APPROVER, INTEGRATION_ADMIN, OPERATOR, VIEWER
from connectors.models import Connection
from connectors.services import connector_for
from sandbox.core.faults import FaultSettings
from sandbox.core.server import RunningSandbox
from sandbox.registry import start_all
from sandbox.sage50desktop.app import AGENT_KEY
from sandbox.sage50desktop.data import COMPANY_NAME
from sandbox.sage100.app import BRIDGE_KEY
from sandbox.streak import data as streak_data
from tests import won_deals

# The sandboxes listen on 127.0.0.1: tests, and the processes they start, may reach them as
# the demo may (server-side requests to private addresses are refused otherwise). Settings
# were read before this file, so the value is set on them as well as in the environment.
os.environ.setdefault("CLARITY_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")
django_settings.CLARITY_OUTBOUND_ALLOWED_HOSTS = os.environ["CLARITY_OUTBOUND_ALLOWED_HOSTS"].split(
    ","
)

PASSWORD = "test-password-123"
ROLE_USERS = {"admin": INTEGRATION_ADMIN, "operator": OPERATOR, "approver": APPROVER,
              "viewer": VIEWER}  # fmt: skip


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """PBKDF2's deliberate slowness buys nothing in tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(django_user_model) -> Callable:
    def make(username: str, role: str | None = None):
        user = django_user_model.objects.create_user(
            username=username, password=PASSWORD, is_staff=role == INTEGRATION_ADMIN
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def users(make_user) -> dict:
    """One user per role, named after it (admin, operator, approver, viewer)."""
    return {name: make_user(name, role) for name, role in ROLE_USERS.items()}


# ---------------------------------------------------------------- sandboxes
# Each test process starts the sandboxes it needs once, on free ports, with data in a
# temporary folder; each test gets its sandbox reset to the seed data with no faults.


@pytest.fixture(scope="session")
def sandbox_pool(tmp_path_factory) -> Iterator[dict[str, RunningSandbox]]:
    pool: dict[str, RunningSandbox] = {}
    yield pool
    for running in pool.values():
        running.stop()


def _fresh_sandbox(pool: dict[str, RunningSandbox], tmp_path_factory, name: str):
    if name not in pool:
        data_dir = tmp_path_factory.mktemp("sandbox")
        pool.update(start_all(data_dir, ports={name: 0}, names=[name]))
    running = pool[name]
    running.app.faults.configure(FaultSettings())
    running.app.reset()
    return running


@pytest.fixture
def streak_sandbox(sandbox_pool, tmp_path_factory) -> RunningSandbox:
    return _fresh_sandbox(sandbox_pool, tmp_path_factory, "streak")


@pytest.fixture
def salesforce_sandbox(sandbox_pool, tmp_path_factory) -> RunningSandbox:
    return _fresh_sandbox(sandbox_pool, tmp_path_factory, "salesforce")


@pytest.fixture
def sage_accounting_sandbox(sandbox_pool, tmp_path_factory) -> RunningSandbox:
    return _fresh_sandbox(sandbox_pool, tmp_path_factory, "sage_accounting")


@pytest.fixture
def sage100_sandbox(sandbox_pool, tmp_path_factory) -> RunningSandbox:
    return _fresh_sandbox(sandbox_pool, tmp_path_factory, "sage100")


@pytest.fixture
def sage50desktop_sandbox(sandbox_pool, tmp_path_factory) -> RunningSandbox:
    return _fresh_sandbox(sandbox_pool, tmp_path_factory, "sage50desktop")


# ---------------------------------------------------------------- connections
# A Connection to each live sandbox, for the flow, contract and e2e tests.


@pytest.fixture
def sage100(sage100_sandbox) -> Connection:
    return Connection.objects.create(
        name="ABC Distribution",
        system="sage100",
        settings={
            "odbc_connection_string": sage100_sandbox.app.odbc_connection_string,
            "odbc_dialect": "sqlite",
            "company_code": "ABC",
            "bridge_url": sage100_sandbox.url,
            "default_warehouse": "000",
        },
        secrets={"bridge_key": BRIDGE_KEY},
    )


@pytest.fixture
def sage50desktop(sage50desktop_sandbox) -> Connection:
    return Connection.objects.create(
        name=COMPANY_NAME,
        system="sage50desktop",
        settings={
            "odbc_connection_string": sage50desktop_sandbox.app.odbc_connection_string,
            "odbc_dialect": "sqlite",
            "company_name": COMPANY_NAME,
            "agent_url": sage50desktop_sandbox.url,
            "customer_reference_field": "CustomField5",
        },
        secrets={"agent_key": AGENT_KEY, "odbc_password": ""},
    )


@pytest.fixture
def streak(streak_sandbox) -> Connection:
    return Connection.objects.create(
        name="Acme Streak",
        system="streak",
        settings={
            "base_url": streak_sandbox.url,
            "pipeline_key": streak_data.SALES["key"],
            "requests_per_second": 500,
        },
        secrets={"api_key": won_deals.STREAK_KEY},
    )


@pytest.fixture
def salesforce(salesforce_sandbox) -> Connection:
    return Connection.objects.create(
        name="Acme Salesforce",
        system="salesforce",
        settings={
            "login_url": salesforce_sandbox.url,
            "auth_flow": "client_credentials",
            "client_id": "sandbox-client",
            "api_version": "59.0",
            "ca_bundle": str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem"),
        },
        secrets={"client_secret": "sandbox-secret"},
    )


@pytest.fixture
def sage50(sage_accounting_sandbox) -> Connection:
    url = sage_accounting_sandbox.url
    tokens = requests.post(f"{url}/_control/oauth/tokens", timeout=5).json()
    expires = datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])
    return Connection.objects.create(
        name="Brightline Sage",
        system="sage50",
        settings={
            "api_url": f"{url}/v3.1",
            "auth_url": f"{url}/oauth/authorize",
            "token_url": f"{url}/oauth/token",
            "client_id": "sandbox-client",
        },
        secrets={
            "client_secret": "sandbox-secret",
            "access_token": tokens["access_token"],
            "access_token_expires_at": expires.isoformat(),
            "refresh_token": tokens["refresh_token"],
        },
    )


# ---------------------------------------------------------------- won deals


@pytest.fixture
def runs_inline(monkeypatch) -> None:
    """Enqueued tasks (runs, polls) run at once, in this process. Not autouse: tests with
    real qcluster workers or their own worker thread must not have it, so a module asks for
    it with `pytest.mark.usefixtures("runs_inline")`."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)


@pytest.fixture
def sage100_pair(streak_sandbox, sage100_sandbox) -> tuple:
    """Streak (Sales pipeline) + Sage 100 with deal_won_to_sales_order on: (pair, token)."""
    crm = won_deals.streak_connection(streak_sandbox)
    erp = won_deals.sage100_connection(sage100_sandbox)
    return won_deals.make_pair("Streak Sage 100", crm, erp, "deal_won_to_sales_order")


@pytest.fixture
def sage(sage100_pair):
    """The won-deal pair's Sage 100 connector, to read orders and customers back."""
    return connector_for(sage100_pair[0].erp)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The test database is gone; so is the lock file its writers took turns on beside it
    (clarity/sqlite/base.py)."""
    name = django_settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name:
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{name}-writers")
