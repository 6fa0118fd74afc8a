"""Pages of the project itself: the user's settings (their role, API token, time zone, password
and second factor)."""

import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from clarity.middleware import remember_time_zone
from clarity.models import ApiToken, UserPreference
from clarity.permissions import (
    SETTING_UP_SECOND_FACTOR,
    SIGNED_IN,
    RuleRequiredMixin,
    rule_required,
)
from clarity.roles import INTEGRATION_ADMIN, role_of
from clarity.signin import CodeForm
from clarity.two_factor import (
    code_problem,
    confirmed_device,
    qr_code_data_uri,
    readable_secret,
    unconfirmed_device,
)


@rule_required(SIGNED_IN)
def account_settings(request: HttpRequest) -> HttpResponse:
    return render_settings(request)


def render_settings(request: HttpRequest, new_token: str = "") -> HttpResponse:
    users = []
    if role_of(request.user) == INTEGRATION_ADMIN:
        users = [
            {"user": user, "role": role_of(user)}
            for user in get_user_model().objects.prefetch_related("groups").order_by("username")
        ]
    context = {
        "role": role_of(request.user),
        "token": ApiToken.objects.filter(user=request.user).first(),
        "new_token": new_token,
        "device": confirmed_device(request.user),
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


@never_cache
@rule_required(SIGNED_IN)
@require_POST
def regenerate_api_token(request: HttpRequest) -> HttpResponse:
    """Replace the user's API token and show the new one in this answer only: it is stored
    hashed, and never in the session either."""
    token = ApiToken.issue(request.user)
    messages.success(request, "New API token created. Copy it now: it is shown only once.")
    return render_settings(request, new_token=token)


class PasswordChange(RuleRequiredMixin, PasswordChangeView):
    """Django's password change, in our layout; the validators of AUTH_PASSWORD_VALIDATORS
    (12 characters and more) say what a refused password lacks."""

    permission = SIGNED_IN
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("settings")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        messages.success(self.request, "Password changed. Your other sessions are signed out.")
        return super().form_valid(form)


@never_cache
@rule_required(SETTING_UP_SECOND_FACTOR)
def two_factor(request: HttpRequest) -> HttpResponse:
    """Two-factor sign-in: add an authenticator app (scan, then confirm with a code) or
    remove it (with a code)."""
    device = confirmed_device(request.user)
    adding = None if device else unconfirmed_device(request.user)
    context = {
        "device": device,
        "adding": adding,
        "required": settings.CLARITY_REQUIRE_2FA and role_of(request.user) == INTEGRATION_ADMIN,
        "form": CodeForm(),
    }
    if adding is not None:
        context.update(qr_code=qr_code_data_uri(adding), secret=readable_secret(adding))
    return render(request, "clarity/two_factor.html", context)


@rule_required(SETTING_UP_SECOND_FACTOR)
@require_POST
def two_factor_add(request: HttpRequest) -> HttpResponse:
    """A new, unconfirmed device (a fresh secret); it counts once confirmed with a code."""
    if confirmed_device(request.user) is None:
        TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
        TOTPDevice.objects.create(user=request.user, name="Authenticator app", confirmed=False)
    return redirect("two-factor")


@rule_required(SETTING_UP_SECOND_FACTOR)
@require_POST
def two_factor_confirm(request: HttpRequest) -> HttpResponse:
    device = unconfirmed_device(request.user)
    if device is None:
        messages.warning(request, "Start again: add an authenticator app first.")
        return redirect("two-factor")
    problem = code_problem(device, request.POST.get("code", ""))
    if problem:
        messages.error(request, problem)
        return redirect("two-factor")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    messages.success(request, "Two-factor sign-in is on: sign-in now asks for a code too.")
    return redirect("settings")


@rule_required(SIGNED_IN)
@require_POST
def two_factor_remove(request: HttpRequest) -> HttpResponse:
    device = confirmed_device(request.user)
    if device is None:
        return redirect("two-factor")
    problem = code_problem(device, request.POST.get("code", ""))
    if problem:
        messages.error(request, problem)
        return redirect("two-factor")
    device.delete()
    messages.success(request, "Two-factor sign-in is off: sign-in asks for the password only.")
    return redirect("settings")
