"""One way for pages and the API to decide who may do what.

Every view declares the `Rule` it needs in one attribute, `permission` (a function view
through `rule_required`, an API action through `@action(permission=...)`); the page mixin,
the decorator and the API's permission class all read that attribute, so a view states its
rule once and the same rule guards both sides. Which role holds which permission is
`clarity.roles`' table, the single answer to "who".
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django_htmx.http import HttpResponseClientRedirect
from rest_framework.permissions import SAFE_METHODS, BasePermission

from clarity.roles import INTEGRATION_ADMIN, role_of
from clarity.two_factor import SET_UP, VERIFY, missing_second_factor

Permissions = tuple[str, ...]
PageView = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Rule:
    """The permissions ("app_label.codename") a view needs, by HTTP method.

    GET, HEAD and OPTIONS need `read`, every other method `write`, unless `by_method` names
    a method's own (a model's add and delete). No permissions at all: any signed-in user.
    `message` is the API's answer when the rule refuses.
    """

    read: Permissions
    write: Permissions
    message: str = ""
    by_method: tuple[tuple[str, Permissions], ...] = ()
    # Open to someone who must add a second factor before anything else (the pages that add
    # one): everyone else is sent there first.
    while_setting_up_second_factor: bool = False

    def needed(self, method: str) -> Permissions:
        for name, permissions in self.by_method:
            if name == method:
                return permissions
        return self.read if method in SAFE_METHODS else self.write

    def allows(self, user: Any, method: str = "POST") -> bool:
        """Whether `user` may send `method` (by default: may act, not only look)."""
        return bool(user.is_authenticated and user.has_perms(self.needed(method)))


def needs(*permissions: str, message: str = "") -> Rule:
    """The same permissions for every method: a page that only shows, or only acts."""
    return Rule(permissions, permissions, message)


def reads_writes(read: str, write: str, message: str = "") -> Rule:
    """Looking needs `read`; sending anything needs `write`."""
    return Rule((read,), (write,), message)


def model_rule(model: type[Model]) -> Rule:
    """A model's own four: view to read, add to POST, change to PUT/PATCH, delete to DELETE."""
    label = f"{model._meta.app_label}.%s_{model._meta.model_name}"
    return Rule(
        (label % "view",),
        (label % "change",),
        by_method=(("POST", (label % "add",)), ("DELETE", (label % "delete",))),
    )


# Any signed-in user, whatever the role, even none yet: one's own settings and account.
SIGNED_IN = Rule((), ())
# The pages that add a second factor: open to an admin who must add one (CLARITY_REQUIRE_2FA).
SETTING_UP_SECOND_FACTOR = Rule((), (), while_setting_up_second_factor=True)
NO_ROLE_MESSAGE = "You have no role yet: ask an Integration admin to give you one."
# What every role may see: a page showing the integration's data needs a role (the dashboard).
HAS_ROLE = needs("connectors.view_integrationpair", "flows.view_syncrun", message=NO_ROLE_MESSAGE)


def refusal(request: HttpRequest, rule: Rule) -> HttpResponse | None:
    """None when a page request may go on. Otherwise: the sign-in page for anonymous
    visitors; for a session still owing its second factor, sign-in again or the page that
    adds one; for someone without a role, a page saying whom to ask; a 403
    (PermissionDenied) for signed-in users the rule refuses."""
    if not request.user.is_authenticated:
        return to_sign_in(request)
    missing = missing_second_factor(request.user)
    if missing == VERIFY:
        logout(request)
        messages.info(request, "Sign in again with a code from your authenticator app.")
        return to_sign_in(request)
    if missing == SET_UP and not rule.while_setting_up_second_factor:
        messages.warning(
            request,
            "Your role needs two-factor sign-in: add an authenticator app before going on.",
        )
        return to_page(request, reverse("two-factor"))
    if not rule.allows(request.user, request.method or "GET"):
        if role_of(request.user) is None:
            return no_role_page(request)
        raise PermissionDenied(rule.message)
    return None


def to_page(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect; for an htmx request (a part of a page refreshing itself) one of the whole
    window, or the page would show inside its own card."""
    if request.headers.get("HX-Request"):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def to_sign_in(request: HttpRequest) -> HttpResponse:
    """The sign-in page, back to this page afterwards (for an htmx request, to the page the
    browser shows rather than the part that asked)."""
    htmx = getattr(request, "htmx", None)
    here = (htmx.current_url_abs_path if htmx else None) or request.get_full_path()
    response = redirect_to_login(here)
    return to_page(request, response["Location"])


def no_role_page(request: HttpRequest) -> HttpResponse:
    """What a signed-in person without a role sees instead of any data: whom to ask."""
    admins = (
        get_user_model()
        .objects.filter(Q(groups__name=INTEGRATION_ADMIN) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("username")
    )
    names = [admin.get_full_name() or admin.get_username() for admin in admins]
    return render(request, "clarity/no_role.html", {"admins": names}, status=403)


class RuleRequiredMixin(View):
    """A class-based page guarded by its `permission` rule."""

    permission: ClassVar[Rule]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return refusal(request, self.permission) or super().dispatch(request, *args, **kwargs)


def rule_required(rule: Rule) -> Callable[[PageView], PageView]:
    """A function page guarded by `rule`, which it keeps as `permission` (like the classes)."""

    def decorate(view: PageView) -> PageView:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return refusal(request, rule) or view(request, *args, **kwargs)

        guarded.permission = rule  # type: ignore[attr-defined]
        return guarded

    return decorate


class RulePermission(BasePermission):
    """The API's side (the default permission class): the view's or action's `permission`
    rule decides; a view that declares none is refused."""

    def has_permission(self, request: Any, view: Any) -> bool:
        rule = getattr(view, "permission", None)
        if rule is None:
            return False
        if request.user.is_authenticated and missing_second_factor(request.user):
            self.message = (
                "Finish two-factor sign-in first: on your Settings page in the browser, add "
                "an authenticator app (your role needs one) or sign in again with its code."
            )
            return False
        if rule.message:
            self.message = rule.message
        allowed = rule.allows(request.user, request.method)
        if not allowed and request.user.is_authenticated and role_of(request.user) is None:
            self.message = NO_ROLE_MESSAGE
        return allowed
