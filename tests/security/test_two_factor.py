"""Two-factor sign-in (TOTP, django-otp): a person with an authenticator signs in with the
password and then a code; wrong codes are throttled; with CLARITY_REQUIRE_2FA an Integration
admin without one can do nothing before adding one; a session that never gave the code opens
no page, admin pages included. The browser side: tests/e2e/test_two_factor.py."""

import time

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

STEP = 30


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the person's app shows (`steps_ahead` time steps later: each code counts once)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() + steps_ahead * STEP
    return f"{totp.token():06d}"


def wrong_code(device: TOTPDevice) -> str:
    """A code none of the accepted time steps (now and one either side) shows."""
    shown = {code(device, steps) for steps in (-1, 0, 1)}
    return next(candidate for candidate in ("000000", "111111", "222222", "333333")
                if candidate not in shown)  # fmt: skip


@pytest.fixture
def phone(users) -> TOTPDevice:
    return TOTPDevice.objects.create(user=users["admin"], name="phone", confirmed=True)


def password_step(client, username: str = "admin", next_url: str = ""):
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def test_the_password_alone_does_not_sign_in_a_person_with_an_authenticator(client, phone):
    response = password_step(client, next_url=reverse("run-list"))

    assert response["Location"] == reverse("sign-in-code")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))

    signed_in = client.post(reverse("sign-in-code"), {"code": code(phone)})
    assert signed_in["Location"] == reverse("run-list")
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.session["otp_device_id"] == phone.persistent_id


def test_a_wrong_code_is_refused_and_the_next_try_must_wait(client, phone):
    password_step(client)

    wrong = client.post(reverse("sign-in-code"), {"code": wrong_code(phone)})
    assert "That code is not right" in wrong.content.decode()
    # Even the right code waits now (1, 2, 4… seconds after each wrong one): no fast guessing.
    throttled = client.post(reverse("sign-in-code"), {"code": code(phone)})
    assert "Too many wrong codes: wait" in throttled.content.decode()
    assert "_auth_user_id" not in client.session

    time.sleep(1.1)
    assert client.post(reverse("sign-in-code"), {"code": code(phone)}).status_code == 302
    assert "_auth_user_id" in client.session


def test_a_code_counts_once(client, phone):
    password_step(client)
    used = code(phone)
    client.post(reverse("sign-in-code"), {"code": used})
    client.post(reverse("logout"))

    password_step(client)
    again = client.post(reverse("sign-in-code"), {"code": used})
    assert "That code is not right" in again.content.decode()


def test_the_code_page_needs_the_password_step_within_five_minutes(client, phone):
    assert client.get(reverse("sign-in-code")).status_code == 400
    password_step(client)
    session = client.session
    session["sign_in_pending"]["until"] = int(time.time()) - 1
    session.save()

    response = client.post(reverse("sign-in-code"), {"code": code(phone)})
    assert response.status_code == 400
    assert "This sign-in has expired" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_session_without_the_code_opens_no_page_nor_the_admin(client, users, phone):
    client.force_login(users["admin"])  # signed in some other way than our two steps

    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    response = client.get("/admin/login/?next=/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "Sign in again with a code from your authenticator app" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admins_own_login_form_signs_no_one_in(client, users):
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_a_verified_admin_uses_the_admin(client, phone):
    password_step(client)
    client.post(reverse("sign-in-code"), {"code": code(phone)})
    assert client.get("/admin/").status_code == 200


class TestRequired:
    """CLARITY_REQUIRE_2FA: an Integration admin must add an authenticator first."""

    @pytest.fixture(autouse=True)
    def required(self, settings) -> None:
        settings.CLARITY_REQUIRE_2FA = True

    def test_an_admin_without_one_is_sent_to_add_one_from_every_page(self, client, users):
        assert password_step(client).status_code == 302
        for url in (reverse("dashboard"), reverse("connection-list"), reverse("settings")):
            assert client.get(url)["Location"] == reverse("two-factor"), url
        assert client.get("/admin/", follow=True).redirect_chain[-1][0] == reverse("two-factor")
        api = client.get("/api/v1/connections/")
        assert api.status_code == 403 and "add an authenticator app" in api.json()["detail"]
        page = client.get(reverse("two-factor")).content.decode()
        assert "Your role (Integration admin) needs two-factor sign-in" in page

    def test_once_added_everything_opens(self, client, users):
        password_step(client)
        client.post(reverse("two-factor-add"))
        device = TOTPDevice.objects.get(user=users["admin"])
        client.post(reverse("two-factor-confirm"), {"code": code(device)})
        assert client.get(reverse("dashboard")).status_code == 200
        assert client.get("/admin/").status_code == 200

    def test_other_roles_are_not_asked(self, client, users):
        password_step(client, "operator")
        assert client.get(reverse("dashboard")).status_code == 200


def test_adding_shows_a_qr_code_and_the_secret_and_needs_a_code(client, users):
    client.force_login(users["viewer"])
    client.post(reverse("two-factor-add"))
    page = client.get(reverse("two-factor")).content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    device = TOTPDevice.objects.get(user=users["viewer"])
    assert not device.confirmed
    secret = page.split('data-testid="totp-secret">')[1].split("<")[0].replace(" ", "")
    assert secret and secret in device.config_url

    client.post(reverse("two-factor-confirm"), {"code": "123"})
    device.refresh_from_db()
    assert not device.confirmed
    time.sleep(1.1)  # the wrong code's wait
    client.post(reverse("two-factor-confirm"), {"code": code(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert "Two-factor sign-in is on" in client.get(reverse("settings")).content.decode()


def test_removing_needs_a_code(client, phone):
    password_step(client)
    client.post(reverse("sign-in-code"), {"code": code(phone)})

    client.post(reverse("two-factor-remove"), {"code": wrong_code(phone)})
    assert TOTPDevice.objects.filter(pk=phone.pk).exists()
    time.sleep(1.1)  # the wrong code's wait
    client.post(reverse("two-factor-remove"), {"code": code(phone, steps_ahead=1)})
    assert not TOTPDevice.objects.filter(pk=phone.pk).exists()
