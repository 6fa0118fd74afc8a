"""Sign-in lockout per username as well as per username and address: a guesser spreading
five tries over five addresses still locks the username, and the page says what happened and
when to try again (the same for a username that does not exist)."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ADDRESSES = ["198.51.100.1", "198.51.100.2", "203.0.113.3", "203.0.113.4", "192.0.2.5"]


def sign_in(client, username: str, password: str, address: str):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_five_failures_from_five_addresses_lock_the_username(client, users):
    for address in ADDRESSES[:-1]:
        assert sign_in(client, "viewer", "wrong", address).status_code == 200
    assert sign_in(client, "viewer", "wrong", ADDRESSES[-1]).status_code == 429  # the fifth

    response = sign_in(client, "viewer", PASSWORD, "192.0.2.99")  # yet another address

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "After 5 failed sign-ins as “viewer”" in page
    assert "locked for 15 minutes, from any address" in page
    assert "Try again after" in page and "Each try before then starts the wait again" in page


def test_the_lock_is_on_that_username_only(client, users):
    for address in ADDRESSES:
        sign_in(client, "viewer", "wrong", address)
    response = sign_in(client, "operator", PASSWORD, "192.0.2.99")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(users["operator"].pk)


def test_an_unknown_username_locks_the_same_way(client, users):
    for address in ADDRESSES:
        sign_in(client, "nobody", "wrong", address)
    page = sign_in(client, "nobody", "wrong", "192.0.2.99").content.decode()
    assert "After 5 failed sign-ins as “nobody”" in page
