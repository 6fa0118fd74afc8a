"""Passwords: at least 12 characters and Django's other validators, on the Settings page's
"Change password", which says what a refused password lacks."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client, users):
    client.force_login(users["viewer"])
    return client


def change(client, new: str):
    return client.post(
        reverse("password-change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )


def test_the_settings_page_offers_a_password_change(viewer):
    page = viewer.get(reverse("settings")).content.decode()
    assert f'href="{reverse("password-change")}"' in page
    form = viewer.get(reverse("password-change"))
    assert form.status_code == 200 and "Old password" in form.content.decode()


def test_an_eleven_character_password_is_refused_saying_why(viewer, users):
    response = change(viewer, "tangerine-7")  # 11 characters

    assert response.status_code == 200
    assert (
        "This password is too short. It must contain at least 12 characters."
        in response.content.decode()
    )
    users["viewer"].refresh_from_db()
    assert users["viewer"].check_password(PASSWORD)


def test_a_common_password_is_refused_however_long(viewer, users):
    response = change(viewer, "password1234")
    assert "This password is too common." in response.content.decode()
    users["viewer"].refresh_from_db()
    assert users["viewer"].check_password(PASSWORD)


def test_a_good_password_is_saved_and_the_session_goes_on(viewer, users):
    response = change(viewer, "tangerine-orbit-42")

    assert response.status_code == 302 and response["Location"] == reverse("settings")
    users["viewer"].refresh_from_db()
    assert users["viewer"].check_password("tangerine-orbit-42")
    page = viewer.get(reverse("settings")).content.decode()
    assert "Password changed" in page
