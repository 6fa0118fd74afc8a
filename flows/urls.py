"""Flow pages under a pair (included at the root)."""

from django.urls import path

from flows.api import rules as rules_api
from flows.views import dry_run, initial_load, rules

urlpatterns = [
    path("mappings/<int:pk>/dry-run/", dry_run.DryRunView.as_view(), name="mapping-dry-run"),
    path(
        "pairs/<slug:slug>/initial-load/",
        initial_load.InitialLoadView.as_view(),
        name="initial-load",
    ),
    path(
        "pairs/<slug:slug>/initial-load/progress/",
        initial_load.InitialLoadProgressView.as_view(),
        name="initial-load-progress",
    ),
    path(
        "pairs/<slug:slug>/initial-load/start/",
        initial_load.InitialLoadStartView.as_view(),
        name="initial-load-start",
    ),
    path(
        "pairs/<slug:slug>/flows/<str:flow>/rules/",
        rules.FlowRulesView.as_view(),
        name="flow-rules",
    ),
    path(
        "api/v1/pairs/<slug:slug>/flows/<str:flow>/rules/",
        rules_api.FlowRulesView.as_view(),
        name="api-flow-rules",
    ),
]
