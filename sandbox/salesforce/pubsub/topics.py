"""The topics the sandbox serves and their Avro schemas, shaped like Salesforce's GetSchema
output: record `<Entity>ChangeEvent` in namespace `com.sforce.eventbus`, field 0 the
ChangeEventHeader, every other field `["null", T]` defaulting to null, compound addresses as
nested optional records, DateTime as epoch-ms long, Date as Avro's `date` (days).

Shape-compatible, not byte-identical: replace with real GetSchema dumps once a dev org is at
hand. A schema's id is a stable hash of its canonical JSON, so it changes exactly when the
fields do (the `schema_change` fault appends a field to show that).
"""

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastavro import parse_schema

NAMESPACE = "com.sforce.eventbus"
CHANGE_TYPES = ["CREATE", "UPDATE", "DELETE", "UNDELETE", "GAP_CREATE", "GAP_UPDATE",
                "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW", "SNAPSHOT"]  # fmt: skip
DATE = {"type": "int", "logicalType": "date"}
DATETIME = "long"  # epoch milliseconds, as Salesforce sends them
ADDRESS_PARTS = [("Street", "string"), ("City", "string"), ("State", "string"),
                 ("PostalCode", "string"), ("Country", "string"), ("Latitude", "double"),
                 ("Longitude", "double"), ("GeocodeAccuracy", "string")]  # fmt: skip
ADDRESS = "com.sforce.eventbus.Address"

HEADER = {
    "name": "ChangeEventHeader",
    "type": {
        "type": "record", "name": "ChangeEventHeader", "namespace": NAMESPACE,
        "fields": [
            {"name": "entityName", "type": "string"},
            {"name": "recordIds", "type": {"type": "array", "items": "string"}},
            {"name": "changeType", "type": {"type": "enum", "name": "ChangeType",
                                            "namespace": NAMESPACE, "symbols": CHANGE_TYPES}},
            {"name": "changeOrigin", "type": "string"},
            {"name": "transactionKey", "type": "string"},
            {"name": "sequenceNumber", "type": "int"},
            {"name": "commitTimestamp", "type": "long"},
            {"name": "commitNumber", "type": "long"},
            {"name": "commitUser", "type": "string"},
            {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
            {"name": "diffFields", "type": {"type": "array", "items": "string"}},
            {"name": "changedFields", "type": {"type": "array", "items": "string"}},
        ],
    },
    "doc": "Data:ChangeEventHeader",
}  # fmt: skip

# (change event field, Avro type); ADDRESS marks a compound field read from <Prefix><Part>.
CHANGE_EVENT_FIELDS: dict[str, list[tuple[str, Any]]] = {
    "Opportunity": [
        ("AccountId", "string"), ("Name", "string"), ("StageName", "string"),
        ("Amount", "double"), ("Probability", "double"), ("CloseDate", DATE),
        ("IsClosed", "boolean"), ("IsWon", "boolean"), ("OwnerId", "string"),
        ("CurrencyIsoCode", "string"), ("Description", "string"),
        ("LastModifiedDate", DATETIME), ("Sage_Order_No__c", "string"),
        ("Sage_Invoice_No__c", "string"), ("ExternalID__c", "string"),
        ("Sage_Order_Status__c", "string"),
    ],
    "Order": [
        ("AccountId", "string"), ("OpportunityId", "string"), ("OrderNumber", "string"),
        ("Status", "string"), ("EffectiveDate", DATE), ("TotalAmount", "double"),
        ("Pricebook2Id", "string"), ("BillingAddress", ADDRESS), ("ShippingAddress", ADDRESS),
        ("CurrencyIsoCode", "string"), ("LastModifiedDate", DATETIME),
        ("Sage_Order_No__c", "string"), ("Sage_Invoice_No__c", "string"),
    ],
    "Account": [
        ("Name", "string"), ("Phone", "string"), ("BillingAddress", ADDRESS),
        ("Industry", "string"), ("AccountNumber", "string"), ("LastModifiedDate", DATETIME),
    ],
}  # fmt: skip

PLATFORM_EVENTS: dict[str, list[dict]] = {
    "Sage_Order_Request__e": [
        {"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"},
        {"name": "CreatedById", "type": "string", "doc": "CreatedBy:EntityId"},
        {"name": "Record_Id__c", "type": ["null", "string"], "default": None, "doc": "Data:Text"},
        {"name": "Action__c", "type": ["null", "string"], "default": None, "doc": "Data:Text"},
    ],
}


def change_event_topic(entity: str) -> str:
    return f"/data/{entity}ChangeEvent"


def optional(name: str, avro_type: Any) -> dict:
    return {"name": name, "type": ["null", avro_type], "default": None}


def change_event_schema(entity: str) -> dict:
    fields: list[dict] = [HEADER]
    address_defined = False
    for name, avro_type in CHANGE_EVENT_FIELDS[entity]:
        if avro_type == ADDRESS and not address_defined:
            # A named type is defined once per schema; later uses refer to it by name.
            address_defined = True
            avro_type = {"type": "record", "name": "Address", "namespace": NAMESPACE,
                         "fields": [optional(p, t) for p, t in ADDRESS_PARTS]}  # fmt: skip
        fields.append(optional(name, avro_type))
    return {"type": "record", "name": f"{entity}ChangeEvent", "namespace": NAMESPACE,
            "fields": fields}  # fmt: skip


def schema_id_of(schema: dict) -> str:
    """22 url-safe characters, like Salesforce's ids; equal schemas get equal ids."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Schema:
    schema_id: str
    schema_json: str
    parsed: Any  # fastavro's parsed form, for writing payloads

    @classmethod
    def of(cls, schema: dict) -> "Schema":
        return cls(schema_id_of(schema), json.dumps(schema), parse_schema(schema))


@dataclass(frozen=True)
class Topic:
    name: str
    entity: str | None  # the sObject of a change event channel; None for a platform event
    schema: dict

    @property
    def can_publish(self) -> bool:
        return self.name.startswith("/event/") and self.name.endswith("__e")


def standard_topics() -> dict[str, Topic]:
    topics = {
        change_event_topic(entity): Topic(
            change_event_topic(entity), entity, change_event_schema(entity)
        )
        for entity in CHANGE_EVENT_FIELDS
    }
    for name, fields in PLATFORM_EVENTS.items():
        schema = {"type": "record", "name": name, "namespace": NAMESPACE, "fields": fields}
        topics[f"/event/{name}"] = Topic(f"/event/{name}", None, schema)
    return topics


class TopicRegistry:
    """Topics, their current schema, and every schema ever served (kept by `remember`, so an
    event in the log can always be decoded with the schema it was written with)."""

    def __init__(
        self, remember: Callable[[str, str], None], recall: Callable[[str], str | None]
    ) -> None:
        self._remember, self._recall = remember, recall
        self._lock = threading.Lock()
        self._topics = standard_topics()
        self._current: dict[str, Schema] = {}
        self._known: dict[str, Schema] = {}
        self.reset()

    def reset(self) -> None:
        """Every topic back on its shipped schema."""
        with self._lock:
            for topic in self._topics.values():
                self._current[topic.name] = self._add(topic.schema)

    def _add(self, schema: dict) -> Schema:
        served = Schema.of(schema)
        if served.schema_id not in self._known:
            self._known[served.schema_id] = served
            self._remember(served.schema_id, served.schema_json)
        return served

    def topic(self, name: str) -> Topic | None:
        return self._topics.get(name)

    def names(self) -> list[str]:
        return list(self._topics)

    def current(self, name: str) -> Schema:
        with self._lock:
            return self._current[name]

    def schema(self, schema_id: str) -> Schema | None:
        with self._lock:
            found = self._known.get(schema_id)
        if found is None:
            stored = self._recall(schema_id)
            if stored is not None:
                found = Schema.of(json.loads(stored))
        return found

    def bump(self, name: str) -> Schema:
        """A new field at the end of the topic's schema, as when an admin adds one: a new
        schema id mid-stream, earlier field positions (and so bitmaps) unchanged."""
        with self._lock:
            schema = json.loads(self._current[name].schema_json)
            number = sum(1 for f in schema["fields"] if f["name"].startswith("Sandbox_Added_"))
            schema["fields"].append(optional(f"Sandbox_Added_{number + 1}__c", "string"))
            self._current[name] = self._add(schema)
            return self._current[name]
