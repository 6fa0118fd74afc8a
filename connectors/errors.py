"""The one set of connector errors, classified where they are raised.

The runner decides what to do from the class alone (shared/DESIGN.md §4): transient errors
are retried with backoff, `RateLimited` waits as told without using an attempt, `AuthError`
pauses the pair, and the permanent rest stop the run with the system's own message.
"""

from typing import Any


class ConnectorError(Exception):
    """Base class. `message` is a plain sentence for people; `detail` the system's own words."""

    permanent = True

    def __init__(
        self, message: str, *, system: str = "", status: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class TransientError(ConnectorError):
    """Network trouble, timeouts, 5xx, a locked record: trying again later may work."""

    permanent = False


class RateLimited(TransientError):
    """The system asked us to slow down; wait `retry_after` seconds, attempt not counted.
    `reservation`: the slot of our own API budget kept for the call (connectors/budgets.py)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        reservation: dict[str, Any] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.reservation = reservation


class AuthError(ConnectorError):
    """Credentials refused or expired: nothing works until someone re-authorises."""


class ValidationError(ConnectorError):
    """The system refused the data; `fields` maps each field path to what is wrong with it."""

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.fields = fields or {}


class Ambiguous(ValidationError):
    """Several records match where one was expected: a person chooses. `fields` names each
    candidate as `candidate <key>` → its name, so the run's page can offer them."""

    CANDIDATE = "candidate "

    def __init__(self, message: str, *, candidates: dict[str, str], **kwargs) -> None:
        fields = {f"{self.CANDIDATE}{key}": name for key, name in candidates.items()}
        super().__init__(message, fields=fields, **kwargs)

    @classmethod
    def candidates_in(cls, fields: dict[str, str]) -> dict[str, str]:
        """The candidates an error's stored `fields` name: key → description."""
        return {
            name.removeprefix(cls.CANDIDATE): value
            for name, value in fields.items()
            if name.startswith(cls.CANDIDATE)
        }


class NotFound(ConnectorError):
    """A record or reference the request named does not exist."""


class Conflict(ConnectorError):
    """A duplicate, or a record changed by someone else meanwhile."""


class Unsupported(ConnectorError):
    """The system cannot do this at all (no such record type, no such write): no retry can
    help, and the flows that need it are not offered for the system."""


class OutboundRefused(ConnectorError):
    """A server-side request we refused to send (`connectors.outbound`): the URL's form, or an
    address it resolves to (private, loopback, link-local…) that no setting allows. Nothing
    left this server; `host` and `reason` say which address and why."""

    def __init__(self, message: str, *, host: str = "", reason: str = "", **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.host = host
        self.reason = reason


class StreamPositionLost(ConnectorError):
    """The system refused a stream's stored position (expired or unknown): the stream can
    only resume from its newest event, and what came between must be read another way."""


class MalformedWebhook(ValueError):
    """A webhook body we cannot read; `field` and `reason` say what is wrong with it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason
