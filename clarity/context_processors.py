"""Navigation and the signed-in user's role, for the base layout."""

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from clarity.roles import role_of

# (label, url name, path prefix that marks it active). Entries whose page does not exist
# yet (a later app adds the url name) are left out rather than shown as dead links.
NAVIGATION = [
    ("Dashboard", "dashboard", "/dashboard"),
    ("Pairs", "pair-list", "/pairs"),
    ("Connections", "connection-list", "/connections"),
    ("Mappings", "mapping-list", "/mappings"),
    ("Runs", "run-list", "/runs"),
    ("Bindings", "binding-list", "/bindings"),
    ("Errors", "error-queue", "/errors"),
    ("Approvals", "approval-list", "/approvals"),
    ("Alerts", "alert-list", "/alerts"),
    ("Audit log", "audit-log", "/audit"),
    ("Settings", "settings", "/settings"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    role = role_of(request.user)
    items = []
    for label, url_name, prefix in NAVIGATION:
        if role is None and url_name != "settings":
            continue  # without a role, only one's own settings are there to see
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path.startswith(prefix)})
    return {"nav_items": items, "user_role": role}
