"""Pages of the project itself: the user's settings (their role, API token, time zone)."""

import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from clarity.middleware import remember_time_zone
from clarity.models import UserPreference
from clarity.permissions import SIGNED_IN, rule_required
from clarity.roles import INTEGRATION_ADMIN, role_of


@rule_required(SIGNED_IN)
def account_settings(request: HttpRequest) -> HttpResponse:
    users = []
    if role_of(request.user) == INTEGRATION_ADMIN:
        users = [
            {"user": user, "role": role_of(user)}
            for user in get_user_model().objects.prefetch_related("groups").order_by("username")
        ]
    context = {
        "role": role_of(request.user),
        "has_token": Token.objects.filter(user=request.user).exists(),
        "new_token": request.session.pop("new-api-token", None),
        "users": users,
        "zone_form": TimeZoneForm(initial={"time_zone": zone_of_user(request.user)}),
        "zone_now": timezone.now(),
    }
    return render(request, "clarity/settings.html", context)


@cache
def zone_choices() -> list[tuple[str, str]]:
    default = f"The installation's zone ({settings.TIME_ZONE})"
    return [("", default), *((zone, zone) for zone in sorted(zoneinfo.available_timezones()))]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=zone_choices,
        required=False,
        label="Time zone",
        help_text="Every page shows times in this zone, named after the time.",
    )


def zone_of_user(user: object) -> str:
    chosen = UserPreference.objects.filter(user=user).values_list("time_zone", flat=True)
    return chosen.first() or ""


@rule_required(SIGNED_IN)
@require_POST
def set_time_zone(request: HttpRequest) -> HttpResponse:
    """The person's own time zone, for every page from the next one on."""
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a time zone from the list.")
        return redirect("settings")
    zone = form.cleaned_data["time_zone"]
    UserPreference.objects.update_or_create(user=request.user, defaults={"time_zone": zone})
    remember_time_zone(request, zone)
    messages.success(request, f"Times are shown in {zone or settings.TIME_ZONE} now.")
    return redirect("settings")


@rule_required(SIGNED_IN)
@require_POST
def regenerate_api_token(request: HttpRequest) -> HttpResponse:
    """Replace the user's API token; the new one is shown once on the next page."""
    Token.objects.filter(user=request.user).delete()
    request.session["new-api-token"] = Token.objects.create(user=request.user).key
    messages.success(request, "New API token created. Copy it now: it is shown only once.")
    return redirect("settings")
