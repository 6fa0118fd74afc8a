"""The mappings app's REST API (under /api/v1/): one module per area, like its views."""

from rest_framework.routers import DefaultRouter

from mappings.api.lookups import LookupEntryViewSet, LookupTableViewSet
from mappings.api.mappings import MappingViewSet


def register(router: DefaultRouter) -> None:
    """Add the mappings API to the project's router."""
    router.register("mappings", MappingViewSet, basename="api-mapping")
    router.register("lookup-tables", LookupTableViewSet, basename="api-lookup-table")
    router.register("lookup-entries", LookupEntryViewSet, basename="api-lookup-entry")
