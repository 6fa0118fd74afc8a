"""Operations on connections that pages, the API and the worker share."""

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from connectors.base import Connector, FieldInfo, Health
from connectors.errors import AuthError, ConnectorError, RateLimited, TransientError
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
    """A Test's verdict, always written. Passing ends an outage; failing starts none (a
    Test cannot tell an absent system from a refusing one), and `record_outcome` leaves its
    verdict to the next Test."""
    now = timezone.now()
    if health.ok:
        connection.status = Connection.Status.OK
        connection.last_success_at = now
        connection.unreachable_since, connection.failing_call = None, ""
        changed = HEALTH_FIELDS
    else:
        connection.status = (
            Connection.Status.NEEDS_REAUTH if health.needs_reauth else Connection.Status.FAILING
        )
        connection.last_error_at = now
        changed = ["status", "last_error", "last_error_at"]
    connection.last_checked_at = now
    connection.last_error = "" if health.ok else health.message
    connection.save(update_fields=[*changed, "last_checked_at", "updated_at"])
    _written[connection.pk] = time.monotonic()


def record_outcome(
    connections: Iterable[Connection],
    error: BaseException | None = None,
    call: str = "",
    again: bool = False,
) -> list[Connection]:
    """The health of every call's outcome, from the runner (after each step), the polls and
    the subscribers. `connections` are those the work used; `call` names the work (a run's
    step, a poll, a stream).

    - no error: the connections answered (throttled: one write per HEALTH_WRITE_SECONDS per
      connection and process, unless the health changes);
    - a transient error (not a rate limit): the connection of the system that raised it
      (`ConnectorError.system`) is failing, unreachable since the first such failure;
    - refused credentials: that connection needs a reconnect, at once;
    - any other connector error: the system answered.
    An answer ends an outage only when it comes to work that got none: the `call` that began
    it, or work tried `again` after it failed for want of an answer. Other work passing says
    little: Sage's ODBC reads pass while its writes get no answer.
    Returns the connections written."""
    connections = list(connections)
    if error is None:
        return [c for c in connections if answered(c, call, again, succeeded=True)]
    if not isinstance(error, ConnectorError):
        return []  # our own bug: it says nothing about the system
    raised = [c for c in connections if c.system == error.system]
    if isinstance(error, AuthError):
        for connection in raised:
            record_health(
                connection, Health(ok=False, message=str(error)[:2000], needs_reauth=True)
            )
        return raised
    if isinstance(error, TransientError) and not isinstance(error, RateLimited):
        return [c for c in raised if unreachable(c, error, call)]
    return [c for c in raised if answered(c, call, again, succeeded=False)]


# The traffic health of one connection changes at once; unchanged (only its last answer moves
# on), it is written at most this often per process, so that a busy connection's hot path
# stays fast: with many pairs, writes every few seconds cost more CPU than the runs' mapping.
HEALTH_WRITE_SECONDS = 30.0
HEALTH_FIELDS = ["status", "last_error", "last_error_at", "last_success_at",
                 "unreachable_since", "failing_call"]  # fmt: skip
_written: dict[int, float] = {}  # connection pk → when this process last wrote its health


def due(connection: Connection) -> bool:
    return time.monotonic() - _written.get(connection.pk, float("-inf")) >= HEALTH_WRITE_SECONDS


def ends_outage(call: str, again: bool) -> Q:
    """The connection is out, and this answer ends it (see `record_outcome`)."""
    if again:
        return Q(unreachable_since__isnull=False)
    return Q(unreachable_since__isnull=False, failing_call=call) & ~Q(failing_call="")


def answered(connection: Connection, call: str, again: bool, succeeded: bool) -> bool:
    """The system answered: the outage is over if this answer ends it; a connection never
    tested is OK. Credentials refused stay refused until a reconnect or a Test."""
    out = connection.unreachable_since is not None
    clears = connection.status != Connection.Status.NEEDS_REAUTH and (
        connection.status == Connection.Status.UNKNOWN
        or (out and (again or (call != "" and connection.failing_call == call)))
    )
    if not clears and not (succeeded and due(connection)):
        return False
    now = timezone.now()
    if not clears and still_ok(connection, now):
        return True
    ends = ends_outage(call, again)
    recovers = (ends | Q(status=Connection.Status.UNKNOWN)) & ~Q(
        status=Connection.Status.NEEDS_REAUTH
    )
    changes: dict[str, Any] = {
        "status": where(recovers, Connection.Status.OK, "status"),
        "last_error": where(ends, "", "last_error"),
        "unreachable_since": where(ends, None, "unreachable_since"),
        "failing_call": where(ends, "", "failing_call"),
    }
    if succeeded:
        changes["last_success_at"] = now
    return write_health(connection, changes)


def still_ok(connection: Connection, now: datetime) -> bool:
    """The heartbeat of a connection the database also holds OK with no outage: only its
    last success moves on, in a plain UPDATE (the general one's conditions cost more to
    compile than it took to answer). False when another process marked it meanwhile."""
    healthy = Connection.objects.filter(
        pk=connection.pk, status=Connection.Status.OK, unreachable_since__isnull=True
    )
    if not healthy.update(last_success_at=now, updated_at=now):
        return False
    _written[connection.pk] = time.monotonic()
    connection.last_success_at = now
    return True


def unreachable(connection: Connection, error: ConnectorError, call: str) -> bool:
    """No answer: the connection is failing, unreachable since the first failure of this
    outage, which `call` began unless another work began it first."""
    if connection.unreachable_since is not None and not due(connection):
        return False
    now = timezone.now()
    begins, reauth = Q(unreachable_since__isnull=True), Connection.Status.NEEDS_REAUTH
    changes: dict[str, Any] = {
        "status": where(~Q(status=reauth), Connection.Status.FAILING, "status"),
        "last_error": str(error)[:2000],
        "last_error_at": now,
        "unreachable_since": Coalesce(F("unreachable_since"), Value(now)),
        "failing_call": where(begins, call[:200], "failing_call"),
    }
    return write_health(connection, changes)


def where(condition: Q, value: Any, name: str) -> Case:
    """For an UPDATE: `value` in the rows where `condition` holds, the field `name` as it
    is in the others."""
    field = Connection._meta.get_field(name)
    return Case(When(condition, then=Value(value)), default=F(name), output_field=field)


def write_health(connection: Connection, changes: dict[str, Any]) -> bool:
    """One UPDATE whose conditions are read in the database (another process may have
    written since this connection was loaded), then the outcome read back into it."""
    rows = Connection.objects.filter(pk=connection.pk)
    rows.update(**changes, updated_at=timezone.now())
    _written[connection.pk] = time.monotonic()
    for name, value in (rows.values(*HEALTH_FIELDS).first() or {}).items():
        setattr(connection, name, value)
    return True


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
    saved only if the CRM accepted the registration; the CRM is asked with no transaction
    open (on SQLite each one holds the one write lock while the CRM answers).
    """
    connector = connector_for(pair.crm)
    stale = [
        hook["key"]
        for hook in connector.webhooks()
        if hook.get("targetUrl", "").startswith(pair.webhook_base_url)
    ]
    token = pair.rotate_webhook_token()
    registered = connector.register_webhook(pair.webhook_url(token))
    pair.save(update_fields=["webhook_token_hash", "webhook_token_changed_at", "updated_at"])
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
