"""X-Forwarded-Proto and X-Forwarded-For come from a client unless our own reverse proxy
wrote them: they count only with CLARITY_BEHIND_PROXY. By default a client claiming HTTPS
is still on HTTP, and sign-in lockout counts the address it really came from."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

pytestmark = pytest.mark.django_db

CLAIMS_HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}


def test_a_client_claiming_https_is_still_sent_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("login"), **CLAIMS_HTTPS)
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/"


def test_a_client_claiming_https_gets_no_https_only_headers(client):
    response = client.get(reverse("login"), **CLAIMS_HTTPS)
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response


def test_behind_our_proxy_its_https_header_counts(client, settings):
    settings.CLARITY_BEHIND_PROXY = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # as settings.py
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("login"), **CLAIMS_HTTPS)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=")


def failed_sign_in(client, **meta: str) -> str:
    """The address the lockout counted for one failed sign-in."""
    client.post(reverse("login"), {"username": "viewer", "password": "wrong"}, **meta)
    return AccessAttempt.objects.get(username="viewer").ip_address


def test_lockout_counts_the_real_address_not_a_forwarded_for_header(client, users):
    counted = failed_sign_in(client, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert counted == "198.51.100.7"


def test_behind_our_proxy_lockout_counts_the_address_it_appended(client, users, settings):
    settings.CLARITY_BEHIND_PROXY = True
    counted = failed_sign_in(
        client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.20"
    )
    assert counted == "198.51.100.20"  # what the client wrote itself (first) proves nothing
