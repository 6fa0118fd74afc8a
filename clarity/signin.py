"""Signing in: the password, then (for people with an authenticator) a code on a second page,
and the page a locked username sees.

The password step signs no one in when the person has a confirmed TOTP device: it notes who
passed it in the (anonymous) session for PENDING_SECONDS, and only a right code on the second
page signs them in, with the session marked verified (django-otp). Everyone else signs in as
before, in one step."""

import time
from datetime import timedelta
from typing import Any

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django import forms
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from clarity.middleware import in_words, signed_out_reason
from clarity.two_factor import code_problem, confirmed_device

PENDING_KEY = "sign_in_pending"
# The second page waits this long for the code; then the password is asked again.
PENDING_SECONDS = 5 * 60


class SignInView(LoginView):
    """Django's sign-in page, which hands people with an authenticator to the code page."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "reason": signed_out_reason(self.request)}

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if confirmed_device(user) is None:
            return super().form_valid(form)
        session = self.request.session
        session.cycle_key()
        session[PENDING_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "until": int(time.time()) + PENDING_SECONDS,
        }
        return redirect("sign-in-code")


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def pending_sign_in(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING_KEY)
    if pending is None or pending["until"] < time.time():
        return None
    return pending


@never_cache
@csrf_protect
def sign_in_code(request: HttpRequest) -> HttpResponse:
    """The second step: a right code signs in the person who passed the password step."""
    pending = pending_sign_in(request)
    user = None
    if pending is not None:
        user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    device = confirmed_device(user) if user is not None else None
    if device is None:
        request.session.pop(PENDING_KEY, None)
        return render(request, "registration/sign_in_code.html", {"expired": True}, status=400)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        problem = code_problem(device, form.cleaned_data["code"])
        if problem is None:
            del request.session[PENDING_KEY]
            user.otp_device = device  # django-otp marks the new session verified
            login(request, user, backend=pending["backend"])
            return redirect(pending["next"])
        form.add_error("code", problem)
    return render(request, "registration/sign_in_code.html", {"form": form})


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a locked username (AXES_LOCKOUT_CALLABLE): what happened, and
    when to try again. The same for a username that does not exist, so it tells no one which
    accounts do."""
    cool_off = get_cool_off(request) or timedelta(0)
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": get_failure_limit(request, credentials),
        "wait": in_words(int(cool_off.total_seconds())),
        "until": timezone.now() + cool_off,
    }
    return render(request, "registration/locked_out.html", context, status=429)
