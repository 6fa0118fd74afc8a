"""What the connectors app hooks into when it is ready: API call counts saved where the web
process serves them, described schemas beginning a configuration generation (runs keep
them per process), and connections and pairs in the audit log."""

from auditlog.registry import auditlog
from django.core.signals import request_finished

from connectors import call_counts, configuration, metering
from connectors.models import Connection, IntegrationPair, SchemaCache


def connect() -> None:
    metering.store_counts_with(call_counts.save)
    request_finished.connect(metering.flush_after_request, dispatch_uid="flush-api-call-counts")
    configuration.watch(SchemaCache)
    # Secret values never enter the audit log; the *_changed_at fields record that a
    # credential or token changed, and by whom.
    auditlog.register(Connection, exclude_fields=["secrets"])
    auditlog.register(IntegrationPair, exclude_fields=["webhook_token_hash"])
