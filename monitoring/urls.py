"""Operations pages: dashboard, runs, error queue, approvals, and each pair's flows."""

from django.urls import path

from monitoring.views import approvals, dashboard, errors, pairs, runs

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/cards/", dashboard.dashboard_cards, name="dashboard-cards"),
    path("dashboard/chart.json", dashboard.dashboard_chart, name="dashboard-chart"),
    path("runs/", runs.run_list, name="run-list"),
    path("runs/retry/", runs.retry_selected, name="run-retry-selected"),
    path("runs/<int:pk>/", runs.run_detail, name="run-detail"),
    path("runs/<int:pk>/retry/", runs.retry, name="run-retry"),
    path("runs/<int:pk>/cancel/", runs.cancel, name="run-cancel"),
    path("errors/", errors.error_queue, name="error-queue"),
    path("errors/<str:key>/retry/", errors.retry_group, name="error-group-retry"),
    path("approvals/", approvals.approval_list, name="approval-list"),
    path("approvals/<int:pk>/decide/", approvals.decide, name="approval-decide"),
    path("pairs/<slug:slug>/flows/", pairs.pair_flows, name="pair-flows"),
    path("pairs/<slug:slug>/pause/", pairs.pause_pair, name="pair-pause"),
]
