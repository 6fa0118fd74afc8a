"""Every page and API endpoint states who may use it through `clarity.permissions`, so a new
view without a rule fails here rather than going out open (or closed) by accident."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIRequestFactory

from clarity.permissions import (
    SIGNED_IN,
    Rule,
    RulePermission,
    RuleRequiredMixin,
    model_rule,
    needs,
    reads_writes,
)
from flows.models import SyncRun

# Open on purpose, or guarded by their own package: signing in (both steps) and out, the
# probes, the metrics scrape (a role or its own token), CRM webhooks (the URL's token), the
# Django admin (staff), the OpenAPI schema and its viewer (any signed-in user,
# drf-spectacular's setting), and the bare "/" that redirects to the dashboard.
EXEMPT = ("login", "sign-in-code", "logout", "healthz", "readyz", "metrics", "webhook", "home",
          "schema", "api-docs")  # fmt: skip
# What a signed-in person without a role may open: their own account, and the pages that only
# send them on (after sign-in) or list the API's endpoints. Nothing of the integration's.
OWN_ACCOUNT = {"settings", "api-token", "time-zone", "password-change", "two-factor",
               "two-factor-add", "two-factor-confirm", "two-factor-remove", "after-sign-in",
               "api-root"}  # fmt: skip
METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
EXEMPT_PREFIXES = ("admin/", "static/", "hooks/")


def routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def guarded_routes() -> list[tuple[str, URLPattern]]:
    return [
        (route, pattern)
        for route, pattern in routes(get_resolver().url_patterns)
        if pattern.name not in EXEMPT and not route.lstrip("^").startswith(EXEMPT_PREFIXES)
    ]


def enforced_rule(view: Callable[..., Any]) -> Rule | None:
    """The rule the one mechanism enforces on this URL's view, or None if it enforces none."""
    api_class = getattr(view, "cls", None)  # DRF: a viewset's action or an APIView
    if api_class is not None:
        if RulePermission not in api_class.permission_classes:
            return None
        initkwargs = getattr(view, "initkwargs", None) or getattr(view, "view_initkwargs", {})
        return initkwargs.get("permission", getattr(api_class, "permission", None))
    page_class = getattr(view, "view_class", None)
    if page_class is not None:
        is_guarded = issubclass(page_class, RuleRequiredMixin)
        return getattr(page_class, "permission", None) if is_guarded else None
    return getattr(view, "permission", None)  # a function page under `rule_required`


def test_the_walk_finds_pages_and_api_endpoints() -> None:
    names = {pattern.name for _, pattern in guarded_routes()}
    some = {"dashboard", "connection-list", "mapping-lineage", "audit-log", "alert-rule-edit",
            "initial-load-start", "api-run-retry", "api-customer-credit", "api-root"}  # fmt: skip
    assert some <= names


@pytest.mark.parametrize(
    ("route", "pattern"), guarded_routes(), ids=[route for route, _ in guarded_routes()]
)
def test_every_view_declares_its_rule(route: str, pattern: URLPattern) -> None:
    rule = enforced_rule(pattern.callback)
    assert isinstance(rule, Rule), (
        f"{route} ({pattern.name}) declares no rule: give its view a `permission` "
        "(clarity.permissions: RuleRequiredMixin, rule_required, or an API view's attribute)"
    )


def test_without_a_role_only_ones_own_account_is_open() -> None:
    """A rule needing no permission for some method lets in a user with no role: only the
    pages of one's own account may have one (the dashboard needs a role: HAS_ROLE)."""
    open_without_role = {
        pattern.name
        for _, pattern in guarded_routes()
        if any(not enforced_rule(pattern.callback).needed(method) for method in METHODS)
    }
    assert open_without_role == OWN_ACCOUNT


def test_a_rule_picks_the_permissions_by_method() -> None:
    rule = reads_writes("app.view_thing", "app.change_thing")
    assert [rule.needed(m) for m in ("GET", "HEAD", "OPTIONS", "POST", "DELETE")] == [
        ("app.view_thing",)] * 3 + [("app.change_thing",)] * 2  # fmt: skip
    runs = model_rule(SyncRun)
    assert [runs.needed(m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")] == [
        ("flows.view_syncrun",), ("flows.add_syncrun",), ("flows.change_syncrun",),
        ("flows.change_syncrun",), ("flows.delete_syncrun",)]  # fmt: skip
    assert needs("a.x", "a.y").needed("GET") == needs("a.x", "a.y").needed("POST") == ("a.x", "a.y")


@pytest.mark.django_db
def test_the_role_table_decides_for_pages_and_the_api_alike(users) -> None:
    """One rule, asked by a page and by the API, answers the same for every role."""
    rule = needs("flows.retry_syncrun", message="Retrying needs the Operator role.")
    api_view = type("View", (), {"permission": rule})()
    factory = APIRequestFactory()
    for name, user in [*users.items(), ("anonymous", AnonymousUser())]:
        request = factory.post("/")
        request.user = user
        may = name in ("admin", "operator")
        assert rule.allows(user) is may, name
        assert RulePermission().has_permission(request, api_view) is may, name
    assert SIGNED_IN.allows(users["viewer"], "GET") and not SIGNED_IN.allows(AnonymousUser())


def test_an_api_view_without_a_rule_is_refused() -> None:
    request = APIRequestFactory().get("/")
    request.user = AnonymousUser()
    assert RulePermission().has_permission(request, object()) is False
