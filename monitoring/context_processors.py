"""The approvals badge in the navigation, for users who can decide approvals."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from flows.approvals import DECIDE
from monitoring.views.approvals import waiting_count


def approvals_waiting(request: HttpRequest) -> dict[str, Any]:
    """`approvals_waiting`: how many approvals wait, 0 for users who cannot decide them.
    Lazy, so a page that shows no navigation (an htmx partial) costs no query, and counted
    once per request (`waiting_count`)."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "approvals_waiting": SimpleLazyObject(
            lambda: waiting_count(request) if DECIDE.allows(user) else 0
        )
    }
