"""The connector interface every system implements (shared/DESIGN.md §4).

A connector wraps one `Connection`. Reads return plain dicts in the system's own shape;
mappings turn them into the canonical model. Writes take an idempotency key so a retried
write never creates a second record.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.models import Connection

Record = dict[str, Any]


@dataclass(frozen=True)
class FieldInfo:
    """One field of an entity as the system describes it, custom fields included."""

    name: str
    label: str
    type: str  # string, number, integer, boolean, date, datetime, choice, reference, …
    length: int | None = None
    required: bool = False
    custom: bool = False
    choices: tuple[str, ...] = ()
    key: str = ""  # the system's own id for the field, where it differs from the name


@dataclass(frozen=True)
class Health:
    """The result of `test()`: one plain sentence a person can act on."""

    ok: bool
    message: str
    needs_reauth: bool = False
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    """One event out of a webhook delivery, in a shape flows understand."""

    kind: str  # the system's event name, e.g. BOX_CHANGE_STAGE
    entity_key: str  # the record it is about, e.g. the box key
    dedupe_key: str  # the same for a redelivery of the same event, different otherwise
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookBatch:
    """What a delivery held, and the body the system expects back (e.g. a SOAP Ack)."""

    events: list[WebhookEvent]
    reply_body: str = ""
    reply_content_type: str = "text/plain"


@dataclass(frozen=True)
class FeedCursor:
    """Where one poll's change feed stands. It lives on the poll's Watermark, never on the
    connection: two pairs or two flows reading one connection each keep their own place.

    `since` is the newest change read. `seen` marks the changes already taken near it, for
    a system whose change stamps are too coarse to tell apart changes made in the same
    instant (Sage 100's); the other systems leave it empty."""

    since: datetime
    seen: frozenset[str] = frozenset()


class Connector(ABC):
    system: str = ""
    label: str = ""

    def __init__(self, connection: "Connection") -> None:
        self.connection = connection
        self.settings = connection.settings or {}

    @property
    def secrets(self) -> dict[str, Any]:
        return self.connection.secrets or {}

    @abstractmethod
    def test(self) -> Health:
        """Reach the system with the stored credentials and say what happened."""

    @abstractmethod
    def entities(self) -> list[str]:
        """The entity names this connector reads or writes."""

    @abstractmethod
    def schema(self, entity: str) -> list[FieldInfo]:
        """The entity's fields, discovered live from the system."""

    @abstractmethod
    def get(self, entity: str, key: str) -> Record:
        """One record by its key; NotFound when there is none."""

    def search(self, entity: str, **criteria: Any) -> list[Record]:
        """Records matching simple equality criteria (e.g. a customer by email)."""
        raise NotImplementedError(f"{self.label} cannot search {entity}")

    def changes(self, entity: str, since: datetime) -> Iterator[Record]:
        """Records created or changed since `since`, oldest first."""
        raise NotImplementedError(f"{self.label} has no change feed for {entity}")

    def create(self, entity: str, data: Record, idempotency_key: str) -> Record:
        raise NotImplementedError(f"{self.label} cannot create {entity}")

    def update(self, entity: str, key: str, data: Record, idempotency_key: str) -> Record:
        raise NotImplementedError(f"{self.label} cannot update {entity}")

    # ---- webhooks received

    @classmethod
    def parse_webhook(cls, body: bytes, params: dict[str, str]) -> WebhookBatch:
        """Turn a delivery into events; raise errors.MalformedWebhook saying what is wrong.

        A class method: reading a delivery needs no connection, so the webhook endpoint
        neither builds a connector nor decrypts the connection's secrets for it."""
        raise NotImplementedError(f"{cls.label} does not send webhooks")

    # ---- webhooks the system can be told to send ("Register webhook")

    supports_webhook_registration: bool = False

    def register_webhook(self, target_url: str) -> list[Record]:
        """Ask the system to post the events flows need to `target_url`."""
        raise NotImplementedError(f"{self.label} cannot register webhooks")

    def webhooks(self) -> list[Record]:
        """Webhooks registered with the system, each with at least `key` and `targetUrl`."""
        raise NotImplementedError(f"{self.label} cannot list webhooks")

    def delete_webhook(self, key: str) -> bool:
        raise NotImplementedError(f"{self.label} cannot delete webhooks")

    # ---- OAuth authorization-code connect ("Connect to Sage", "Reconnect")

    supports_oauth_connect: bool = False

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the admin's browser to grant us access."""
        raise NotImplementedError(f"{self.label} has no OAuth connect")

    def authorization_origin(self) -> str:
        """scheme://host of the consent page: the connect form's CSP must allow it."""
        raise NotImplementedError(f"{self.label} has no OAuth connect")

    def complete_authorization(self, code: str, redirect_uri: str) -> None:
        """Exchange the code for tokens and store them on the connection."""
        raise NotImplementedError(f"{self.label} has no OAuth connect")

    def sample(self, entity: str, n: int = 5) -> list[Record]:
        """A few real records, for the mapping designer's live preview."""
        raise NotImplementedError(f"{self.label} cannot sample {entity}")
