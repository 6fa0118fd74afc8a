"""Sign-in lockout, CSP without inline scripts, and transport security outside DEBUG."""

import re

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_five_failed_sign_ins_lock_the_account_even_with_the_right_password(client, users):
    for _ in range(5):
        client.post(reverse("login"), {"username": "viewer", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_failed_sign_in_says_so_without_saying_which_part(client, users):
    response = client.post(reverse("login"), {"username": "viewer", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


@pytest.mark.parametrize("url", ["/login/", "/dashboard/", "/connections/", "/pairs/"])
def test_pages_send_a_strict_csp_and_carry_no_inline_script(client, users, url):
    if url != "/login/":
        client.force_login(users["admin"])
    response = client.get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.content.decode(), re.S)
    assert scripts, "the layout loads htmx and our script"
    assert all("src=" in attrs and not body.strip() for attrs, body in scripts)


def test_https_responses_carry_hsts_and_cookies_are_secure(client, users, settings):
    assert not settings.DEBUG
    response = client.get("/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert response["X-Frame-Options"] == "DENY"
