from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Local stand-ins of Streak, Salesforce, Sage Accounting and Sage 100.

    Product code never imports this app; it only hosts the `run_sandboxes` command.
    """

    name = "sandbox"
