from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connections and pairs"

    def ready(self) -> None:
        """Connect the app's hooks (connectors/signals.py), which need the models."""
        from connectors import signals

        signals.connect()
