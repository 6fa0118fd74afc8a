from django.apps import AppConfig


class FlowsConfig(AppConfig):
    """Flow templates, the webhook inbox, runs, retries, bindings and approvals."""

    name = "flows"
