"""The account pages in a real browser: changing one's password (12 characters at least), the
page a person without a role sees, and the sign-in page after 30 idle minutes."""

import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import Page, expect

from clarity.middleware import LAST_SEEN_KEY
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_viewer_changes_the_password_and_a_short_one_is_refused(
    page: Page, live_server, users, login
):
    login("viewer")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password", exact=False).first.fill("tangerine-7")
    page.get_by_label("New password confirmation").fill("tangerine-7")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("It must contain at least 12 characters")).to_be_visible()

    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password", exact=False).first.fill("tangerine-orbit-42")
    page.get_by_label("New password confirmation").fill("tangerine-orbit-42")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed")
    expect(page).to_have_url(f"{live_server.url}/settings/")


def test_someone_without_a_role_is_told_whom_to_ask(
    page: Page, live_server, users, make_user, screenshot
):
    make_user("newcomer")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="No role yet")).to_be_visible()
    expect(page.get_by_test_id("no-role")).to_contain_text("Ask an Integration admin")
    expect(page.get_by_test_id("no-role")).to_contain_text("admin")
    expect(page.locator(".sidebar nav a")).to_have_text(["Settings"])
    screenshot("no_role.png")


def test_after_31_idle_minutes_the_browser_shows_the_sign_in_page_saying_why(
    page: Page, live_server, users, login, screenshot
):
    login("viewer")
    # A page that does not refresh itself, and nothing else in flight: the dashboard's own
    # refresh could otherwise be the request that finds the session idle.
    page.get_by_role("link", name="Settings").click()
    expect(page).to_have_url(f"{live_server.url}/settings/")
    page.wait_for_load_state("networkidle")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "sessionid"]
    session = SessionStore(session_key=cookie["value"])
    session[LAST_SEEN_KEY] = int(time.time()) - 31 * 60
    session.save()

    page.reload()

    expect(page).to_have_url(f"{live_server.url}/login/?next=/settings/")
    expect(page.get_by_role("status")).to_contain_text(
        "You were signed out after 30 minutes without activity"
    )
    screenshot("signed_out_idle.png")


def test_a_locked_username_is_told_what_happened_and_when_to_try_again(
    page: Page, live_server, users, screenshot
):
    page.goto(f"{live_server.url}/login/")
    for _ in range(5):
        page.get_by_label("Username").fill("viewer")
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()
        if page.get_by_role("heading", name="Sign-in locked for a while").count():
            break
        expect(page.get_by_text("correct username and password")).to_be_visible()

    expect(page.get_by_role("alert")).to_contain_text("After 5 failed sign-ins as “viewer”")
    expect(page.get_by_text("Try again after")).to_be_visible()
    screenshot("locked_out.png")
