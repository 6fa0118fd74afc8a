from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connections and pairs"

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.core.signals import request_finished

        from connectors import call_counts, configuration, metering
        from connectors.models import Connection, IntegrationPair, SchemaCache

        metering.store_counts_with(call_counts.save)
        request_finished.connect(metering.flush_after_request, dispatch_uid="flush-api-call-counts")
        configuration.watch(SchemaCache)  # runs keep described schemas per process

        # Secret values never enter the audit log; the *_changed_at fields record that
        # a credential or token changed, and by whom.
        auditlog.register(Connection, exclude_fields=["secrets"])
        auditlog.register(IntegrationPair, exclude_fields=["webhook_token_hash"])
