"""Change Data Capture and platform events as the inbox stores them.

A change event becomes one `WebhookEvent` per record it names (Salesforce merges identical
changes of several records into one event), of kind `ChangeEvent:<entity>`, deduplicated on
`entityName|transactionKey|sequenceNumber|recordId` (the record id too, since fanned-out events
share the rest). Its payload:

- `header`: the ChangeEventHeader, its `changedFields`, `nulledFields` and `diffFields` bitmaps
  decoded into field names (`BillingAddress.City` for a part of a compound field);
- `fields`: the values of what changed (all set fields of a CREATE or UNDELETE), by top-level
  field name, a compound field as its nested record; dates as ISO text, DateTimes as epoch ms;
- `replay_id`: where it sits in the stream (hex).

So `fields` reads like an Outbound Message's: a stage change carries `StageName`, any other
change does not.

Our own writes are dropped: the connector sends `Sforce-Call-Options: client=clarity-connect`
and Salesforce names that client in `changeOrigin`. A `GAP_*` event carries no values: its
records are re-read over REST and stored with `fields` holding the record as it is now and
`gap` true (our own write-back may be what the gap hid, so such an event is echo-prone). A
`GAP_OVERFLOW` names no records: the entity's SystemModstamp polls read it again from its
commit time. A platform event on the connection's channel names a record (`Record_Id__c`),
which is read the same way and stored as kind `PlatformEvent`, deduplicated on its event id.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from connectors.base import Record, WebhookEvent
from connectors.records import Resync
from connectors.roles import ACCOUNTS, DEAL_STAGE
from connectors.salesforce.client import CALL_OPTIONS

HEADER_FIELD = "ChangeEventHeader"
CHANGE_KIND = "ChangeEvent:"
PLATFORM_KIND = "PlatformEvent"
CHANGE_TOPICS = {
    "Opportunity": "/data/OpportunityChangeEvent",
    "Order": "/data/OrderChangeEvent",
    "Account": "/data/AccountChangeEvent",
}
EVENT_KINDS = {
    f"{CHANGE_KIND}Opportunity": DEAL_STAGE,
    f"{CHANGE_KIND}Order": DEAL_STAGE,
    f"{CHANGE_KIND}Account": ACCOUNTS,
    PLATFORM_KIND: DEAL_STAGE,
}
# Entity keys as the polled feeds and webhooks name the records (accounts are prefixed).
KEY_PREFIX = {"Account": "account:"}
# Which object a record id belongs to, from its key prefix (for platform events).
ID_PREFIXES = {"006": "Opportunity", "801": "Order", "001": "Account"}
RECORD_ID_FIELD = "Record_Id__c"
OVERFLOW = "GAP_OVERFLOW"
WITH_ALL_VALUES = {"CREATE", "UNDELETE"}


@dataclass(frozen=True)
class Reread:
    """A record to read over REST: `event` is stored with the record as `fields`."""

    entity: str
    record_id: str
    event: WebhookEvent

    def with_record(self, record: Record | None) -> WebhookEvent:
        """The event with the record read (none: gone since), ready to store."""
        payload = {**self.event.payload, "fields": record or {}}
        return replace(self.event, payload=payload)


@dataclass
class Translation:
    """What decoded events ask for, in stream order: events to store (a `Reread` once its
    record is read), and stretches of changes for the polls to read again."""

    events: list[WebhookEvent | Reread] = field(default_factory=list)
    resyncs: list[Resync] = field(default_factory=list)

    def extend(self, other: "Translation") -> None:
        self.events += other.events
        self.resyncs += other.resyncs


# ---------------------------------------------------------------- bitmaps


def set_bits(number: int) -> list[int]:
    """Positions of the 1 bits, counted from the least significant."""
    return [position for position in range(number.bit_length()) if number >> position & 1]


def named_records(schema: dict) -> dict[str, dict]:
    """Every named record type in the schema by full and short name: Avro defines a named
    type once and refers to it by name afterwards (ShippingAddress after BillingAddress)."""
    found: dict[str, dict] = {}

    def visit(node: Any, namespace: str) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, namespace)
        elif isinstance(node, dict) and node.get("type") == "record":
            space = node.get("namespace", namespace)
            name = node["name"]
            found[name.rpartition(".")[2]] = node
            found[name if "." in name else f"{space}.{name}"] = node
            for child in node.get("fields", []):
                visit(child["type"], space)
        elif isinstance(node, dict) and isinstance(node.get("type"), dict | list):
            visit(node["type"], namespace)

    visit(schema, schema.get("namespace", ""))
    return found


def record_type(avro_type: Any, named: dict[str, dict]) -> dict | None:
    """The record inside a field's type (an optional record, or a name for one)."""
    for option in avro_type if isinstance(avro_type, list) else [avro_type]:
        if isinstance(option, dict) and option.get("type") == "record":
            return option
        if isinstance(option, str) and option in named:
            return named[option]
    return None


def field_names(bitmaps: Iterable[str], schema: dict) -> list[str]:
    """A header bitmap list as field names. The first element (`0x…`) marks top-level fields
    by schema position; `"<parentPos>-0x…"` marks fields of the compound field at that
    position, named `Parent.Child`. Bits beyond the schema are ignored."""
    fields = schema["fields"]
    named = named_records(schema)
    names: list[str] = []
    for bitmap in bitmaps:
        parent_position, _, bits = bitmap.rpartition("-")
        if not parent_position:
            names += [fields[i]["name"] for i in set_bits(int(bits, 16)) if i < len(fields)]
            continue
        parent = fields[int(parent_position)]
        nested = record_type(parent["type"], named)
        if nested is None:
            continue
        children = nested["fields"]
        names += [
            f"{parent['name']}.{children[i]['name']}"
            for i in set_bits(int(bits, 16))
            if i < len(children)
        ]
    return names


# ---------------------------------------------------------------- events


def plain(value: Any) -> Any:
    """A decoded Avro value as JSON can hold it."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def is_ours(header: dict[str, Any]) -> bool:
    """A change our own REST calls made (they name our client in Sforce-Call-Options)."""
    return CALL_OPTIONS in (header.get("changeOrigin") or "")


def moment(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def changed_values(decoded: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
    """What changed, by top-level field: every set field of a CREATE or UNDELETE, else the
    fields the changed and nulled bitmaps name."""
    values = {name: value for name, value in decoded.items() if name != HEADER_FIELD}
    if header["changeType"] in WITH_ALL_VALUES:
        return {name: plain(value) for name, value in values.items() if value is not None}
    names = [*header["changedFields"], *header["nulledFields"]]
    tops = dict.fromkeys(name.partition(".")[0] for name in names)
    return {name: plain(values.get(name)) for name in tops if name in values}


def change_events(decoded: dict[str, Any], schema: dict, replay_id: str) -> Translation:
    """One change event: an event per record, a re-read per record after a gap, a resync
    after an overflow; nothing for a change we made."""
    raw = decoded[HEADER_FIELD]
    header = {
        **plain(raw),
        **{name: field_names(raw.get(name) or [], schema)
           for name in ("changedFields", "nulledFields", "diffFields")},
    }  # fmt: skip
    translation = Translation()
    if is_ours(header):
        return translation
    entity, change_type = header["entityName"], str(header["changeType"])
    since = moment(header["commitTimestamp"])
    if change_type == OVERFLOW:
        translation.resyncs.append(Resync(entity, since))
        return translation
    gap = change_type.startswith("GAP_")
    payload: dict[str, Any] = {"header": header, "replay_id": replay_id}
    if gap:
        payload["gap"] = True
    else:
        payload["fields"] = changed_values(decoded, header)
    for record_id in header["recordIds"]:
        if record_id.endswith("*"):  # a wildcard: the records are not named one by one
            translation.resyncs.append(Resync(entity, since))
            continue
        event = WebhookEvent(
            kind=f"{CHANGE_KIND}{entity}",
            entity_key=f"{KEY_PREFIX.get(entity, '')}{record_id}",
            dedupe_key=(
                f"{entity}|{header['transactionKey']}|{header['sequenceNumber']}|{record_id}"
            )[:255],
            payload=payload,
        )
        gone = change_type.endswith("DELETE")
        translation.events.append(Reread(entity, record_id, event) if gap and not gone else event)
    return translation


def platform_event(
    topic: str, decoded: dict[str, Any], event_id: str, replay_id: str
) -> Translation:
    """A platform event naming a record: the record is read and stored with it."""
    record_id = str(decoded.get(RECORD_ID_FIELD) or "")
    entity = ID_PREFIXES.get(record_id[:3], "")
    event = WebhookEvent(
        kind=PLATFORM_KIND,
        entity_key=f"{KEY_PREFIX.get(entity, '')}{record_id}",
        dedupe_key=(event_id or f"{topic}|{replay_id}")[:255],
        payload={"channel": topic, "event": plain(decoded), "replay_id": replay_id},
    )
    return Translation(events=[Reread(entity, record_id, event) if entity else event])
