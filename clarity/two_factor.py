"""The second factor (TOTP through django-otp): whose sign-in needs a code, checking one under
django-otp's throttling, and what an authenticator app scans.

A person with a confirmed device signs in with password and code (clarity/signin.py); with
CLARITY_REQUIRE_2FA an Integration admin without one may do nothing but add one
(`clarity.permissions.refusal`). API tokens are not asked for a code: a token is made from a
signed-in session and stands for both factors."""

import base64
import math
from typing import Any

import qrcode
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathFillImage

from clarity.roles import INTEGRATION_ADMIN, role_of

# What a signed-in request lacks before it may do anything: a code from the person's device
# in this session, or (CLARITY_REQUIRE_2FA, Integration admins) a device at all.
VERIFY = "verify"
SET_UP = "set-up"


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def unconfirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=False).first()


def missing_second_factor(user: Any) -> str | None:
    """VERIFY, SET_UP or None for `request.user`. django-otp's middleware gives a session's
    user `is_verified()`; a user who came with an API token has none, and needs no code."""
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return None
    if confirmed_device(user) is not None:
        return VERIFY if is_verified is not None else None
    if settings.CLARITY_REQUIRE_2FA and role_of(user) == INTEGRATION_ADMIN:
        return SET_UP
    return None


def code_problem(device: TOTPDevice, code: str) -> str | None:
    """None when `code` is the device's current one (each code counts once); otherwise what
    to tell the person. Wrong codes make the next try wait 1, 2, 4, 8… seconds (django-otp's
    throttling), so guessing six digits takes longer than a code lives."""
    wait = seconds_to_wait(device)
    if wait:
        return f"Too many wrong codes: wait {wait} s, then enter the code your app shows."
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if locked.verify_token(code.strip().replace(" ", "")):
            return None
    return "That code is not right: enter the 6-digit code your authenticator app shows now."


def seconds_to_wait(device: TOTPDevice) -> int:
    allowed, _ = device.verify_is_allowed()
    if allowed or device.throttling_failure_timestamp is None:
        return 0
    required = device.get_throttle_factor() * 2 ** (device.throttling_failure_count - 1)
    waited = (timezone.now() - device.throttling_failure_timestamp).total_seconds()
    return max(1, math.ceil(required - waited))


def readable_secret(device: TOTPDevice) -> str:
    """The key as an app asks for it when typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[start : start + 4] for start in range(0, len(secret), 4))


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code in a data: URI (the CSP allows data: images and
    no inline script)."""
    image = qrcode.make(device.config_url, image_factory=SvgPathFillImage)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()
