"""Operations on connections that pages, the API and the worker share."""

import logging
from collections.abc import Iterable
from dataclasses import asdict

from django.db import transaction
from django.utils import timezone

from connectors.base import Connector, FieldInfo, Health
from connectors.errors import AuthError, ConnectorError
from connectors.models import Connection, IntegrationPair, SchemaCache
from connectors.registry import SYSTEMS

logger = logging.getLogger(__name__)


def connector_for(connection: Connection) -> Connector:
    return SYSTEMS[connection.system].connector_class(connection)


def check_connection(connection: Connection) -> Health:
    """Run the connector's test, store the outcome on the connection, and return it."""
    try:
        health = connector_for(connection).test()
    except ConnectorError as exc:
        health = Health(ok=False, message=exc.message, needs_reauth=isinstance(exc, AuthError))
    except Exception as exc:
        logger.exception("Testing connection %s failed unexpectedly", connection.pk)
        health = Health(
            ok=False,
            message=f"The test failed unexpectedly ({exc.__class__.__name__}); see the logs.",
        )
    record_health(connection, health)
    return health


def record_health(connection: Connection, health: Health) -> None:
    """The one place a connection's health is written: from a Test, or from a call's
    outcome (`record_outcome`)."""
    if health.ok:
        connection.status = Connection.Status.OK
    elif health.needs_reauth:
        connection.status = Connection.Status.NEEDS_REAUTH
    else:
        connection.status = Connection.Status.FAILING
    connection.last_checked_at = timezone.now()
    connection.last_error = "" if health.ok else health.message
    connection.save(update_fields=["status", "last_checked_at", "last_error", "updated_at"])


def record_outcome(connections: Iterable[Connection], error: BaseException) -> list[Connection]:
    """After a run or a poll failed: refused credentials mark the connection whose system
    raised the error (`ConnectorError.system`, its registry key) as needing a reconnect.
    Returns the connections marked."""
    if not isinstance(error, AuthError):
        return []
    refused = [connection for connection in connections if connection.system == error.system]
    for connection in refused:
        record_health(connection, Health(ok=False, message=str(error)[:2000], needs_reauth=True))
    return refused


def cached_schema(
    connection: Connection, entity: str, refresh: bool = False
) -> tuple[list[FieldInfo], SchemaCache]:
    """The entity's fields from the cache, or discovered live when absent or asked to."""
    cache = SchemaCache.objects.filter(connection=connection, entity=entity).first()
    if cache is None or refresh:
        fields = connector_for(connection).schema(entity)
        cache, _ = SchemaCache.objects.update_or_create(
            connection=connection,
            entity=entity,
            defaults={"fields": [asdict(f) for f in fields], "fetched_at": timezone.now()},
        )
    fields = [FieldInfo(**{**f, "choices": tuple(f["choices"])}) for f in cache.fields]
    return fields, cache


def register_pair_webhook(pair: IntegrationPair) -> tuple[list[dict], int]:
    """Issue a fresh webhook URL and register it with the pair's CRM, replacing older ones.

    Returns the registrations made and how many older ones were removed. The new token is
    saved only if the CRM accepted the registration.
    """
    connector = connector_for(pair.crm)
    stale = [
        hook["key"]
        for hook in connector.webhooks()
        if hook.get("targetUrl", "").startswith(pair.webhook_base_url)
    ]
    with transaction.atomic():
        token = pair.rotate_webhook_token()
        pair.save(update_fields=["webhook_token_hash", "webhook_token_changed_at", "updated_at"])
        registered = connector.register_webhook(pair.webhook_url(token))
    for key in stale:
        connector.delete_webhook(key)
    return registered, len(stale)


def has_webhook_registered(pair: IntegrationPair, events: tuple[str, ...] = ()) -> bool:
    """Some webhook of the CRM posts to the pair; with `events`, one for each of them."""
    hooks = [
        hook
        for hook in connector_for(pair.crm).webhooks()
        if hook.get("targetUrl", "").startswith(pair.webhook_base_url)
    ]
    return bool(hooks) and set(events) <= {hook.get("event") for hook in hooks}
