"""Operations pages and endpoints, included at the root: alerts, the audit log, /metrics."""

from django.urls import path

from monitoring import metrics, views_audit
from monitoring.alerts import views as alerts

urlpatterns = [
    path("metrics", metrics.metrics, name="metrics"),
    path("audit/", views_audit.AuditLogView.as_view(), name="audit-log"),
    path("alerts/", alerts.AlertListView.as_view(), name="alert-list"),
    path("alerts/channels/new/", alerts.ChannelFormView.as_view(), name="alert-channel-create"),
    path("alerts/channels/<int:pk>/", alerts.ChannelFormView.as_view(), name="alert-channel-edit"),
    path("alerts/channels/<int:pk>/test/", alerts.send_test_view, name="alert-channel-test"),
    path("alerts/rules/new/", alerts.RuleFormView.as_view(), name="alert-rule-create"),
    path("alerts/rules/<int:pk>/", alerts.RuleFormView.as_view(), name="alert-rule-edit"),
]
