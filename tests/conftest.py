"""Fixtures shared by every test layer: users per role, and the live sandboxes."""

from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import Group

from clarity.roles import APPROVER, INTEGRATION_ADMIN, OPERATOR, VIEWER
from sandbox.core.faults import FaultSettings
from sandbox.core.server import RunningSandbox
from sandbox.registry import start_all

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
