"""Operations on connections that pages, the API and the worker share."""

import logging

from django.utils import timezone

from connectors.base import Connector, Health
from connectors.errors import AuthError, ConnectorError
from connectors.models import Connection
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
    if health.ok:
        connection.status = Connection.Status.OK
    elif health.needs_reauth:
        connection.status = Connection.Status.NEEDS_REAUTH
    else:
        connection.status = Connection.Status.FAILING
    connection.last_checked_at = timezone.now()
    connection.last_error = "" if health.ok else health.message
    connection.save(update_fields=["status", "last_checked_at", "last_error", "updated_at"])
    return health
