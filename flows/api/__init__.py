"""The flows app's REST API (under /api/v1/): one module per area, like its views.

`register` adds the viewsets to the project's router; `urlpatterns` holds the rest.
"""

from django.urls import path
from rest_framework.routers import DefaultRouter

from flows.api.approvals import ApprovalViewSet
from flows.api.bindings import BindingViewSet
from flows.api.credit import CustomerCreditView
from flows.api.dry_run import MappingDryRunView
from flows.api.events import DeliveryViewSet, SubscriptionViewSet
from flows.api.exactly_once import ExactlyOnceView
from flows.api.reconciliation import ReconciliationRepairView, ReconciliationView
from flows.api.replays import urlpatterns as replay_urls
from flows.api.runs import InboundEventViewSet, SyncRunViewSet


def register(router: DefaultRouter) -> None:
    router.register("runs", SyncRunViewSet, basename="api-run")
    router.register("events", InboundEventViewSet, basename="api-event")
    router.register("subscriptions", SubscriptionViewSet, basename="api-subscription")
    router.register("deliveries", DeliveryViewSet, basename="api-delivery")
    router.register("approvals", ApprovalViewSet, basename="api-approval")
    router.register("bindings", BindingViewSet, basename="api-binding")


urlpatterns = [
    path(
        "pairs/<slug:slug>/customers/<str:crm_id>/credit/",
        CustomerCreditView.as_view(),
        name="api-customer-credit",
    ),
    path("pairs/<slug:slug>/exactly-once/", ExactlyOnceView.as_view(), name="api-exactly-once"),
    path("mappings/<int:pk>/dry-run/", MappingDryRunView.as_view(), name="api-mapping-dry-run"),
    path(
        "pairs/<slug:slug>/reconciliation/",
        ReconciliationView.as_view(),
        name="api-reconciliation",
    ),
    path(
        "pairs/<slug:slug>/reconciliation/repair/",
        ReconciliationRepairView.as_view(),
        name="api-reconciliation-repair",
    ),
    *replay_urls,
]
