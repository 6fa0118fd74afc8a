from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Dashboard, run history, error queue, approval queue, alerts and audit views."""

    name = "monitoring"
