from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connections and pairs"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from connectors.models import Connection, IntegrationPair

        # Secret values never enter the audit log; the *_changed_at fields record that
        # a credential or token changed, and by whom.
        auditlog.register(Connection, exclude_fields=["secrets"])
        auditlog.register(IntegrationPair, exclude_fields=["webhook_token_hash"])
