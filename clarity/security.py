"""Who is asking: the client address behind our own reverse proxy, for sign-in lockout."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or with CLARITY_BEHIND_PROXY the address the proxy appended last to
    X-Forwarded-For: anything before it was written by the client and proves nothing."""
    if settings.CLARITY_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")
