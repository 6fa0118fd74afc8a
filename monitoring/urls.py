"""Operations pages, included at the root: dashboard, runs, error queue, approvals, each
pair's flows, alerts, the audit log, and /metrics."""

from django.urls import path

from monitoring import metrics
from monitoring.views import alerts, approvals, audit, bindings, dashboard, errors, pairs, runs
from monitoring.views.exactly_once import exactly_once_page
from monitoring.views.reconciliation import reconciliation_page
from monitoring.views.replays import (
    pair_replays,
    replay_cancel,
    replay_detail,
    replay_preview,
    replay_progress,
)

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/cards/", dashboard.dashboard_cards, name="dashboard-cards"),
    path("dashboard/chart.json", dashboard.dashboard_chart, name="dashboard-chart"),
    path("runs/", runs.run_list, name="run-list"),
    path("runs/retry/", runs.retry_selected, name="run-retry-selected"),
    path("runs/<int:pk>/", runs.run_detail, name="run-detail"),
    path("runs/<int:pk>/retry/", runs.retry, name="run-retry"),
    path("runs/<int:pk>/cancel/", runs.cancel, name="run-cancel"),
    path("runs/<int:pk>/customer/", runs.choose_customer, name="run-choose-customer"),
    path("runs/<int:pk>/edit/", runs.edit_run, name="run-edit"),
    path("bindings/", bindings.binding_list, name="binding-list"),
    path("bindings/<int:pk>/rebind/", bindings.rebind_binding, name="binding-rebind"),
    path("bindings/<int:pk>/unbind/", bindings.unbind_binding, name="binding-unbind"),
    path("errors/", errors.error_queue, name="error-queue"),
    path("errors/close/", errors.close, name="error-close"),
    path("errors/runs/<int:pk>/retry/", errors.retry_one, name="error-run-retry"),
    path("errors/<str:key>/retry/", errors.retry_group, name="error-group-retry"),
    path("approvals/", approvals.approval_list, name="approval-list"),
    path("approvals/<int:pk>/decide/", approvals.decide, name="approval-decide"),
    path("start/", approvals.after_sign_in, name="after-sign-in"),
    path("pairs/<slug:slug>/flows/", pairs.pair_flows, name="pair-flows"),
    path("pairs/<slug:slug>/pause/", pairs.pause_pair, name="pair-pause"),
    path("pairs/<slug:slug>/replays/", pair_replays, name="pair-replays"),
    path("pairs/<slug:slug>/replays/preview/", replay_preview, name="replay-preview"),
    path("pairs/<slug:slug>/replays/<int:pk>/", replay_detail, name="replay-detail"),
    path("pairs/<slug:slug>/replays/<int:pk>/progress/", replay_progress, name="replay-progress"),
    path("pairs/<slug:slug>/replays/<int:pk>/cancel/", replay_cancel, name="replay-cancel"),
    path("pairs/<slug:slug>/exactly-once/", exactly_once_page, name="pair-exactly-once"),
    path("pairs/<slug:slug>/reconciliation/", reconciliation_page, name="pair-reconciliation"),
    path("metrics", metrics.metrics, name="metrics"),
    path("audit/", audit.AuditLogView.as_view(), name="audit-log"),
    path("alerts/", alerts.AlertListView.as_view(), name="alert-list"),
    path("alerts/channels/new/", alerts.ChannelCreateView.as_view(), name="alert-channel-create"),
    path("alerts/channels/<int:pk>/", alerts.ChannelEditView.as_view(), name="alert-channel-edit"),
    path("alerts/channels/<int:pk>/test/", alerts.send_test_view, name="alert-channel-test"),
    path("alerts/rules/new/", alerts.AlertRuleCreateView.as_view(), name="alert-rule-create"),
    path("alerts/rules/<int:pk>/", alerts.AlertRuleEditView.as_view(), name="alert-rule-edit"),
    path("alerts/mail/retry/", alerts.retry_mail_view, name="alert-mail-retry"),
]
