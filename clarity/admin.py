"""The Django admin behind our own sign-in (with its second step), and API tokens in it.

The admin's own login form would sign a person in with the password alone, so it only sends
people to ours; and its pages need what every page needs (`clarity.permissions.refusal`): a
session verified with its code when the person has an authenticator, an authenticator at all
when CLARITY_REQUIRE_2FA asks one of an Integration admin."""

from typing import Any

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from clarity.models import ApiToken
from clarity.permissions import SIGNED_IN, refusal
from clarity.two_factor import missing_second_factor


class ClarityAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and missing_second_factor(request.user) is None

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        back_to = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        if not request.user.is_authenticated:
            return redirect_to_login(back_to)
        if self.has_permission(request):
            return redirect("admin:index")
        response = refusal(request, SIGNED_IN)
        if response is not None:
            return response
        raise PermissionDenied("The admin is for staff: ask an Integration admin.")


# django-otp's documented way to put its own site class under `admin.site`.
admin.site.__class__ = ClarityAdminSite


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Who has an API token, to revoke one (delete it); tokens are made on the Settings page."""

    list_display = ("user", "prefix", "created_at")
    readonly_fields = ("user", "prefix", "created_at")
    search_fields = ("user__username", "prefix")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False
