"""The four roles, as Django groups with model permissions.

Roles are declared here once; `sync_role_permissions` (run after every migrate) gives each
group the permissions that exist, so models added later join their roles by themselves.
"""

from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

INTEGRATION_ADMIN = "Integration admin"
OPERATOR = "Operator"
APPROVER = "Approver"
VIEWER = "Viewer"
ROLES = (INTEGRATION_ADMIN, OPERATOR, APPROVER, VIEWER)

# Apps whose models make up the product (clarity's: the outbox, worker heartbeats); roles only
# grant permissions on these.
PRODUCT_APPS = ("clarity", "connectors", "mappings", "flows", "monitoring")

# Beyond "view everything": the extra permission codenames (app_label.codename) of a role.
# Codenames of models that do not exist yet are picked up once they do.
ROLE_EXTRA_PERMISSIONS: dict[str, tuple[str, ...]] = {
    OPERATOR: (
        "flows.retry_syncrun",
        "flows.cancel_syncrun",
        "connectors.pause_integrationpair",
        "connectors.test_connection",
        # Fixing a lookup row (an unknown item code) is part of clearing the error queue.
        "mappings.add_lookupentry",
        "mappings.change_lookupentry",
        "mappings.delete_lookupentry",
        # Sending unsent e-mail again once EMAIL_URL is fixed (the alerts page).
        "clarity.retry_outboxmessage",
    ),
    APPROVER: ("flows.decide_approval",),
    VIEWER: (),
}


def permissions_for(role: str) -> "list[Permission]":
    product = Q(content_type__app_label__in=PRODUCT_APPS)
    if role == INTEGRATION_ADMIN:
        return list(Permission.objects.filter(product))
    wanted = Q(product & Q(codename__startswith="view_"))
    for dotted in ROLE_EXTRA_PERMISSIONS[role]:
        app_label, codename = dotted.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(wanted))


def sync_role_permissions(sender: Any = None, **kwargs: Any) -> None:
    """Create the role groups and set their permissions to exactly the declared ones."""
    if not global_apps.is_installed("django.contrib.auth"):
        return
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role))


def role_of(user: Any) -> str | None:
    """The user's most powerful role name, for display."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return INTEGRATION_ADMIN
    names = set(user.groups.values_list("name", flat=True))
    return next((role for role in ROLES if role in names), None)
