"""API permissions: reading needs the model's view permission, writing its add/change/delete."""

from rest_framework.permissions import BasePermission, DjangoModelPermissions


class RolePermissions(DjangoModelPermissions):
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def require(perm: str, message: str) -> type[BasePermission]:
    """A permission class for one custom action that needs one specific permission."""

    class HasPermission(BasePermission):
        def has_permission(self, request, view) -> bool:
            self.message = message
            return bool(request.user and request.user.has_perm(perm))

    return HasPermission
