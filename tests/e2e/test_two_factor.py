"""Two-factor sign-in in a real browser: an admin adds an authenticator from the Settings page
(QR code and secret; the code computed here from the secret shown, as the app would), signs
out, and signs in with password and code; a wrong code is refused."""

import base64
import re
import time

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CODE_LABEL = "Code from your authenticator app"


def code(key: bytes, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for `key` (`steps_ahead` 30-second steps later)."""
    totp = TOTP(key)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def wrong_code(key: bytes) -> str:
    shown = {code(key, steps) for steps in (-1, 0, 1)}
    return next(candidate for candidate in ("000000", "111111", "222222")
                if candidate not in shown)  # fmt: skip


def test_admin_adds_an_authenticator_and_then_signs_in_with_a_code(
    page: Page, live_server, users, login, screenshot
):
    login("admin")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_test_id("two-factor-card")).to_contain_text("Off")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    page.get_by_role("button", name="Add an authenticator app").click()

    qr_code = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr_code).to_be_visible()
    assert qr_code.evaluate("image => image.naturalWidth") > 0  # drawn: the CSP allows it
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    screenshot("two_factor_setup.png")
    page.get_by_label(CODE_LABEL).fill(code(key))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_role("status")).to_contain_text("Two-factor sign-in is on")
    expect(page.get_by_test_id("two-factor-card")).to_contain_text("On")
    screenshot("settings_two_factor_on.png")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/login/code/")

    page.get_by_label(CODE_LABEL).fill(wrong_code(key))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    screenshot("sign_in_code.png")
    expect(page.get_by_role("link", name="Sign out")).to_have_count(0)

    time.sleep(1.1)  # a wrong code makes the next try wait a second
    page.get_by_label(CODE_LABEL).fill(code(key, steps_ahead=1))  # the setup used this step's
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.locator(".whoami .who")).to_have_text("admin")


def test_signing_in_without_an_authenticator_is_one_step_as_before(
    page: Page, live_server, users, login
):
    login("operator")
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
