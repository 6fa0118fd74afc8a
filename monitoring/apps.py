from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MonitoringConfig(AppConfig):
    """Dashboard, run history, error queue, approval queue, alerts and audit views."""

    name = "monitoring"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from clarity import schedules
        from monitoring.models import AlertChannel, AlertRule

        auditlog.register(AlertChannel, exclude_fields=["secrets"])
        auditlog.register(AlertRule)
        post_migrate.connect(schedules.ensure_alert_schedule, dispatch_uid="monitoring.alerts")
