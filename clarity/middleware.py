"""Per-person request state: times in the signed-in person's own time zone (`UserPreference`,
else the installation's TIME_ZONE), and sign-out after a while idle.

The zone is kept in the session once read, so a page costs no extra query; saving the
preference puts the new zone there (`remember_time_zone`).
"""

import time
import zoneinfo
from collections.abc import Callable
from contextlib import suppress

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from clarity.models import UserPreference

SESSION_KEY = "time_zone"


def remember_time_zone(request: HttpRequest, zone: str) -> None:
    request.session[SESSION_KEY] = zone


def zone_of(request: HttpRequest) -> str:
    """The person's zone ("" for the default), from the session or, once, the database."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    if SESSION_KEY not in request.session:
        chosen = UserPreference.objects.filter(user=user).values_list("time_zone", flat=True)
        remember_time_zone(request, chosen.first() or "")
    return request.session[SESSION_KEY]


class UserTimeZone:
    """Activates the person's zone for the request (after authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.deactivate()
        zone = zone_of(request)
        if zone:
            with suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):  # unknown here now
                timezone.activate(zoneinfo.ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


LAST_SEEN_KEY = "last_seen"
SIGNED_IN_KEY = "signed_in_at"
# The last-seen time is written at most this often, not on every request.
IDLE_RESOLUTION_SECONDS = 60


class SessionIdleTimeout:
    """Signs a person out after CLARITY_SESSION_IDLE_SECONDS without a request, and
    SESSION_COOKIE_AGE after signing in whatever they do (ASVS V7.3): a screen left open in
    the office is not a session forever. Both times live in the session, because saving it
    (as noting the last request does) moves the cookie's own expiry on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = request.session
            now = int(time.time())
            signed_in_at = session.setdefault(SIGNED_IN_KEY, now)
            last_seen = session.get(LAST_SEEN_KEY, now)
            if (
                now - last_seen > settings.CLARITY_SESSION_IDLE_SECONDS
                or now - signed_in_at > settings.SESSION_COOKIE_AGE
            ):
                logout(request)
            elif now - last_seen >= IDLE_RESOLUTION_SECONDS or LAST_SEEN_KEY not in session:
                session[LAST_SEEN_KEY] = now
        return self.get_response(request)
