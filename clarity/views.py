"""Pages of the project itself: the user's settings."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

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
    }
    return render(request, "clarity/settings.html", context)


@rule_required(SIGNED_IN)
@require_POST
def regenerate_api_token(request: HttpRequest) -> HttpResponse:
    """Replace the user's API token; the new one is shown once on the next page."""
    Token.objects.filter(user=request.user).delete()
    request.session["new-api-token"] = Token.objects.create(user=request.user).key
    messages.success(request, "New API token created. Copy it now: it is shown only once.")
    return redirect("settings")
