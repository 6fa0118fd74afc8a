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
# Why the last session ended, for the sign-in page to say (`signed_out_reason`).
SIGNED_OUT_KEY = "signed_out"
IDLE, EXPIRED = "idle", "expired"
# The last-seen time is written at most this often, not on every request.
IDLE_RESOLUTION_SECONDS = 60
# Elements that refresh themselves (hx-trigger "every …"; htmx names the element in
# HX-Trigger): a page left open refreshing is no one at work, so these are not activity.
SELF_REFRESHING = frozenset({"pair-cards", "run-table", "initial-load-progress", "replay-progress"})


def is_self_refresh(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and (
        request.headers.get("HX-Trigger") in SELF_REFRESHING
    )


class SessionIdleTimeout:
    """Signs a person out after CLARITY_SESSION_IDLE_SECONDS without a request of their own,
    and SESSION_COOKIE_AGE after signing in whatever they do (ASVS V7.3): a screen left open
    in the office is not a session forever, even while its dashboard refreshes itself. Both
    times live in the session, because saving it (as noting the last request does) moves the
    cookie's own expiry on. The sign-in page then says why (`signed_out_reason`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = request.session
            now = int(time.time())
            signed_in_at = session.setdefault(SIGNED_IN_KEY, now)
            last_seen = session.get(LAST_SEEN_KEY, now)
            if now - last_seen > settings.CLARITY_SESSION_IDLE_SECONDS:
                sign_out(request, IDLE)
            elif now - signed_in_at > settings.SESSION_COOKIE_AGE:
                sign_out(request, EXPIRED)
            elif LAST_SEEN_KEY not in session or (
                now - last_seen >= IDLE_RESOLUTION_SECONDS and not is_self_refresh(request)
            ):
                session[LAST_SEEN_KEY] = now
        return self.get_response(request)


def sign_out(request: HttpRequest, reason: str) -> None:
    logout(request)
    request.session[SIGNED_OUT_KEY] = reason


def in_words(seconds: int) -> str:
    """30 minutes, 1 hour, 12 hours, 90 seconds."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def signed_out_reason(request: HttpRequest) -> str:
    """Why the session before this one ended, once ("" when the person signed out)."""
    reason = request.session.pop(SIGNED_OUT_KEY, "")
    if reason == IDLE:
        idle = in_words(settings.CLARITY_SESSION_IDLE_SECONDS)
        return f"You were signed out after {idle} without activity. Sign in again to go on."
    if reason == EXPIRED:
        lifetime = in_words(settings.SESSION_COOKIE_AGE)
        return (
            f"You were signed out {lifetime} after signing in: every session ends then. "
            "Sign in again to go on."
        )
    return ""
