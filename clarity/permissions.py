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

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.views import View
from rest_framework.permissions import SAFE_METHODS, BasePermission

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


# Any signed-in user, whatever the role: the dashboard, one's own settings.
SIGNED_IN = Rule((), ())


def refusal(request: HttpRequest, rule: Rule) -> HttpResponse | None:
    """None when a page request may go on; the sign-in page for anonymous visitors; a 403
    (PermissionDenied) for signed-in users the rule refuses."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not rule.allows(request.user, request.method or "GET"):
        raise PermissionDenied(rule.message)
    return None


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
        if rule.message:
            self.message = rule.message
        return rule.allows(request.user, request.method)
