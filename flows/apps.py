from django.apps import AppConfig


class FlowsConfig(AppConfig):
    """Flow templates, the webhook inbox, runs, retries, bindings and approvals."""

    name = "flows"

    def ready(self) -> None:
        """Register the flow templates, the audited models, the signal handlers and the
        flow settings' section of configuration exports (these modules need the models)."""
        from flows import signals
        from flows.registry import register
        from flows.usecases import ALL_FLOWS

        register(*ALL_FLOWS)
        signals.connect()
