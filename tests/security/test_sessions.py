"""Sessions end after 30 minutes without activity and 12 hours after signing in (ASVS V7.3),
and the sign-in page says why; someone at work is not signed out, and a page refreshing
itself is not someone at work. Time passes by moving the session's own clock back."""

import time

import pytest
from django.urls import reverse

from clarity.middleware import LAST_SEEN_KEY, SIGNED_IN_KEY
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

MINUTE = 60
IDLE_MESSAGE = "You were signed out after 30 minutes without activity"


@pytest.fixture
def signed_in(client, users):
    response = client.post(reverse("login"), {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 302
    client.get(reverse("dashboard"))  # the first page notes the times
    return client


def set_clock(client, **seconds_ago: int) -> None:
    """Make the session's last request (last_seen) or sign-in (signed_in_at) that long ago."""
    session = client.session
    keys = {"last_seen": LAST_SEEN_KEY, "signed_in_at": SIGNED_IN_KEY}
    for name, ago in seconds_ago.items():
        session[keys[name]] = int(time.time()) - ago
    session.save()


def test_after_31_idle_minutes_the_next_page_is_the_sign_in_page_saying_why(signed_in):
    set_clock(signed_in, last_seen=31 * MINUTE)

    response = signed_in.get(reverse("run-list"), follow=True)

    assert response.redirect_chain[-1][0] == f"{reverse('login')}?next={reverse('run-list')}"
    assert IDLE_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in signed_in.session
    again = signed_in.get(reverse("login"))
    assert IDLE_MESSAGE not in again.content.decode()  # said once


def test_twelve_hours_after_signing_in_the_session_ends_however_active(signed_in):
    set_clock(signed_in, signed_in_at=12 * 60 * MINUTE + MINUTE, last_seen=10)

    response = signed_in.get(reverse("dashboard"), follow=True)

    assert "You were signed out 12 hours after signing in" in response.content.decode()
    assert "_auth_user_id" not in signed_in.session


def test_someone_at_work_stays_signed_in(signed_in):
    set_clock(signed_in, last_seen=29 * MINUTE)
    assert signed_in.get(reverse("dashboard")).status_code == 200
    seen = signed_in.session[LAST_SEEN_KEY]
    assert time.time() - seen < MINUTE  # the request counted as activity

    set_clock(signed_in, last_seen=29 * MINUTE)
    assert signed_in.get(reverse("run-list")).status_code == 200


def test_a_dashboard_refreshing_itself_is_not_activity(signed_in):
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER": "pair-cards",
            "HTTP_HX_CURRENT_URL": "http://testserver/dashboard/"}  # fmt: skip
    set_clock(signed_in, last_seen=29 * MINUTE)
    before = signed_in.session[LAST_SEEN_KEY]

    assert signed_in.get(reverse("dashboard-cards"), **poll).status_code == 200
    assert signed_in.session[LAST_SEEN_KEY] == before

    set_clock(signed_in, last_seen=31 * MINUTE)
    response = signed_in.get(reverse("dashboard-cards"), **poll)
    # The whole window goes to the sign-in page (not the cards' box), back to the dashboard.
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/dashboard/"
    assert IDLE_MESSAGE in signed_in.get(response["HX-Redirect"]).content.decode()


def test_the_session_cookie_ends_with_the_browser(client, users):
    client.post(reverse("login"), {"username": "viewer", "password": PASSWORD})
    cookie = client.cookies["sessionid"]
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert cookie["httponly"]
