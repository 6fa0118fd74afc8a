"""Chromium from Debian, driven by pytest-playwright against Django's live server."""

import os
import re
from collections.abc import Callable

import pytest
from django.conf import settings

from connectors.models import IntegrationPair
from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in the test thread; the ORM calls our fixtures
# make there are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture
def login(page, live_server):
    """Sign in through the real login form as the given user, who lands on the dashboard (an
    approver: on the approval queue)."""

    def sign_in(username: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/(dashboard|approvals)/$"))

    return sign_in


@pytest.fixture
def screenshot(page) -> Callable[..., None]:
    """Save what the page shows under var/screenshots/ (`make screenshots` copies them into
    docs/screenshots/ for the README)."""

    def take(name: str, full_page: bool = True) -> None:
        folder = settings.VAR_DIR / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / name), full_page=full_page)

    return take


@pytest.fixture
def streak_pair(streak, sage100) -> IntegrationPair:
    """A Streak → Sage 100 pair on the sandbox connections, its flows as shipped."""
    return IntegrationPair.objects.create(name="Streak → Sage 100", crm=streak, erp=sage100)
