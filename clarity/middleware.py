"""Every page shows times in the signed-in person's own time zone (`UserPreference`), else in
the installation's TIME_ZONE.

The zone is kept in the session once read, so a page costs no extra query; saving the
preference puts the new zone there (`remember_time_zone`).
"""

import zoneinfo
from collections.abc import Callable
from contextlib import suppress

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
