from django.apps import AppConfig


class FlowsConfig(AppConfig):
    """Flow templates, the webhook inbox, runs, retries, bindings and approvals."""

    name = "flows"

    def ready(self) -> None:
        """Register the flow templates and connect the app's hooks (flows/signals.py),
        which need the models."""
        from flows import signals

        signals.connect()
