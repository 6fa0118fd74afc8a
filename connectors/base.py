"""The connector interface every system implements (shared/DESIGN.md §4).

A connector wraps one `Connection`. Reads return plain dicts in the system's own shape;
mappings turn them into the canonical model. Writes take an idempotency key so a retried
write never creates a second record.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connectors.errors import Unsupported

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
    # Why the pair takes no interest in it (`Connector.screen_webhook`: a record outside the
    # connection's scope): kept as ignored with this reason, and no flow runs for it.
    ignored: str = ""


@dataclass(frozen=True)
class WebhookBatch:
    """What a delivery held, and the body the system expects back (e.g. a SOAP Ack)."""

    events: list[WebhookEvent]
    reply_body: str = ""
    reply_content_type: str = "text/plain"


class SenderRefused(Exception):
    """A delivery the system's own sender check refuses (`Connector.screen_webhook`): the
    message says what did not match and what to do about it."""


@dataclass(frozen=True)
class FeedCursor:
    """Where one poll's change feed stands. It lives on the poll's Watermark, never on the
    connection: two pairs or two flows reading one connection each keep their own place.

    `since` is the newest change read. `seen` marks the changes already taken near it, for
    a system whose change stamps are too coarse to tell apart changes made in the same
    instant (Sage 100's); the other systems leave it empty."""

    since: datetime
    seen: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RecordLink:
    """A link to a record in the system's own pages, for a run's page."""

    label: str
    url: str


def record_link(
    label: str, base: str, kind: str, record_id: Any, show_id: bool = True
) -> list[RecordLink]:
    """`base/kind/id`, or none without a base. CRM keys are long and shown beside the link
    already; Sage numbers are worth reading in it."""
    if not base or not record_id:
        return []
    text = f"{label} {record_id}" if show_id else label
    return [RecordLink(text, f"{base.rstrip('/')}/{kind}/{record_id}")]


def parse_moment(text: str) -> datetime:
    """ISO 8601 as the APIs write it (Z, +0000 or +00:00), as an aware time."""
    text = text.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
        raise Unsupported(f"{self.label} cannot search {entity}", system=self.system)

    def changes(self, entity: str, since: datetime) -> Iterator[Record]:
        """Records created or changed since `since`, oldest first."""
        raise Unsupported(f"{self.label} has no change feed for {entity}", system=self.system)

    def create(self, entity: str, data: Record, idempotency_key: str) -> Record:
        raise Unsupported(f"{self.label} cannot create {entity}", system=self.system)

    def update(self, entity: str, key: str, data: Record, idempotency_key: str) -> Record:
        raise Unsupported(f"{self.label} cannot update {entity}", system=self.system)

    # ---- webhooks received

    @classmethod
    def parse_webhook(cls, body: bytes, params: dict[str, str]) -> WebhookBatch:
        """Turn a delivery into events; raise errors.MalformedWebhook saying what is wrong.

        A class method: reading a delivery needs no connection, so the webhook endpoint
        neither builds a connector nor decrypts the connection's secrets for it."""
        raise Unsupported(f"{cls.label} does not send webhooks", system=cls.system)

    @classmethod
    def screen_webhook(
        cls,
        batch: WebhookBatch,
        settings: dict[str, Any],
        token_hash: str,
        headers: Mapping[str, str],
    ) -> WebhookBatch:
        """Check a parsed delivery against what the system offers to prove its sender
        (a header token, an organization id), from the connection's non-secret `settings`
        and the pair's URL `token_hash` alone: the hot path decrypts nothing. Raise
        SenderRefused when the system would not have sent it to this pair; else return the
        batch, with events about records outside the connection's scope marked `ignored`."""
        return batch

    # ---- webhooks the system can be told to send ("Register webhook")

    supports_webhook_registration: bool = False

    def register_webhook(self, target_url: str) -> list[Record]:
        """Ask the system to post the events flows need to `target_url`."""
        raise Unsupported(f"{self.label} cannot register webhooks", system=self.system)

    def webhooks(self) -> list[Record]:
        """Webhooks registered with the system, each with at least `key` and `targetUrl`."""
        raise Unsupported(f"{self.label} cannot list webhooks", system=self.system)

    def delete_webhook(self, key: str) -> bool:
        raise Unsupported(f"{self.label} cannot delete webhooks", system=self.system)

    # ---- OAuth authorization-code connect ("Connect to Sage", "Reconnect")

    supports_oauth_connect: bool = False

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the admin's browser to grant us access."""
        raise Unsupported(f"{self.label} has no OAuth connect", system=self.system)

    def authorization_origin(self) -> str:
        """scheme://host of the consent page: the connect form's CSP must allow it."""
        raise Unsupported(f"{self.label} has no OAuth connect", system=self.system)

    def complete_authorization(self, code: str, redirect_uri: str) -> None:
        """Exchange the code for tokens and store them on the connection."""
        raise Unsupported(f"{self.label} has no OAuth connect", system=self.system)

    def sample(self, entity: str, n: int = 5) -> list[Record]:
        """A few real records, for the mapping designer's live preview."""
        raise Unsupported(f"{self.label} cannot sample {entity}", system=self.system)

    @classmethod
    def record_links(
        cls, settings: dict[str, Any], entity_key: str, references: dict[str, Any]
    ) -> list[RecordLink]:
        """Links to a run's records (its entity key, the references it kept) in this
        system's pages. A class method: a page needs no connector, nor its secrets."""
        return []

    # ---- how the pair's mappings see this system's records (the mapping designer)

    hidden_sample_paths: tuple[str, ...] = ()  # raw parts of samples mappings never read

    def mapping_entity(self, name: str) -> tuple[str, str]:
        """The connector's entity for a mapping's entity name, and the entity of its lines
        ("" when it has none)."""
        return name, ""

    def mapping_samples(self, entity: str, n: int = 5) -> list[Record]:
        """A few records shaped as the flows hand them to mappings."""
        return self.sample(entity, n)

    def field_path(self, info: FieldInfo) -> str:
        """Where a schema field sits in the record the flows hand to mappings."""
        return info.name
