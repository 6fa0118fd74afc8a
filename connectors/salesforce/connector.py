"""The Salesforce connector: describe-driven schemas, SOQL reads and change polling by
SystemModstamp, single writes through simple-salesforce and batches through sObject
Collections (200 records a call).

Idempotency: Salesforce has no idempotency header, so a retried create must find what the
first attempt made. `create` therefore
- upserts on the entity's external ID field (describe `externalId`) when `data` has a value
  for it (Account.ExternalID__c): the same write twice is one record;
- else, with `match_on="Field"`, looks a record up by that field's value in `data` first
  and returns it instead of creating a second one (a lookup, so not atomic: two writers
  racing can both create);
- else creates plainly: such a create is not safe to repeat after an unclear failure.
`update` is a PATCH of field values, the same however often it is sent.
"""

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from operator import methodcaller
from typing import Any
from urllib.parse import quote

from connectors.base import (
    Connector,
    Health,
    Record,
    RecordLink,
    WebhookBatch,
    WebhookEvent,
    record_link,
)
from connectors.errors import (
    AuthError,
    Conflict,
    ConnectorError,
    MalformedWebhook,
    ValidationError,
)
from connectors.records import StageHint, Stream, StreamBatch
from connectors.salesforce.client import SYSTEM, SalesforceClient, error_from_code
from connectors.salesforce.crm import SalesforceCrm
from connectors.salesforce.deals import deal_object
from connectors.salesforce.describes import SalesforceDescribes, sobject
from connectors.salesforce.pubsub.client import PubSubClient
from connectors.salesforce.pubsub.events import CHANGE_TOPICS, EVENT_KINDS
from connectors.salesforce.pubsub.streams import streams_of, subscription
from connectors.salesforce.record_ids import record_id
from connectors.salesforce.soql import soql_datetime, soql_literal
from connectors.salesforce.webhooks import (
    ACK_CONTENT_TYPE,
    MalformedOutboundMessage,
    ack_response,
    parse_outbound_message,
    remember_org,
    screen_outbound_message,
)

ENTITIES = [
    "Account", "Contact", "Opportunity", "OpportunityLineItem", "Product2", "Pricebook2",
    "PricebookEntry", "Order", "OrderItem",
]  # fmt: skip
COLLECTION_SIZE = 200  # records per sObject Collections call
UNSELECTABLE = {"base64", "address", "location"}  # not wanted (or allowed) in bulk SOQL


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome in a batch: its id, or the classified error that refused it."""

    id: str | None
    success: bool
    created: bool = False
    error: ConnectorError | None = None


def without_attributes(record: dict[str, Any]) -> Record:
    return {key: value for key, value in record.items() if key != "attributes"}


class SalesforceConnector(SalesforceDescribes, SalesforceCrm, Connector):
    system = "salesforce"
    label = "Salesforce"
    event_kinds = {**SalesforceCrm.event_kinds, **EVENT_KINDS}  # + Change Data Capture

    @classmethod
    def stage_hint(cls, event: WebhookEvent) -> StageHint | None:
        """A record re-read after a change-event gap may show our own write-back, as a
        polled one may."""
        hint = super().stage_hint(event)
        if hint is not None and event.payload.get("gap"):
            return replace(hint, echo_prone=True)
        return hint

    @classmethod
    def parse_webhook(cls, body: bytes, params: dict[str, str]) -> WebhookBatch:
        """An Outbound Message: one event per notification, answered with the SOAP Ack."""
        try:
            notifications = parse_outbound_message(body)
        except MalformedOutboundMessage as exc:
            raise MalformedWebhook("body", exc.detail) from None
        events = [
            WebhookEvent(
                kind=f"OutboundMessage:{note.sobject_type}",
                entity_key=note.record_id,
                dedupe_key=note.dedupe_key,
                payload={
                    "sobject": note.sobject_type,
                    "organization_id": note.organization_id,
                    "fields": note.fields,
                },
            )
            for note in notifications
        ]
        return WebhookBatch(events, ack_response(), ACK_CONTENT_TYPE)

    @classmethod
    def screen_webhook(
        cls,
        batch: WebhookBatch,
        settings: dict[str, Any],
        token_hash: str,
        headers: Mapping[str, str],
    ) -> WebhookBatch:
        return screen_outbound_message(batch, settings)

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self.client = SalesforceClient(connection)
        self.describes: dict[str, dict[str, Any]] = {}  # this connector's (describes.py)
        self.read_now: set[str] = set()

    @classmethod
    def record_links(
        cls, settings: dict[str, Any], entity_key: str, references: dict[str, Any]
    ) -> list[RecordLink]:
        base, deal = settings.get("login_url", ""), deal_object(entity_key)
        return record_link(f"Salesforce {deal.noun}", base, f"{deal.noun}s", entity_key, False)

    # ------------------------------------------------------------ health and schema

    def test(self) -> Health:
        """A new token (so the stored credentials are what is tested) and the org's limits."""
        try:
            with self.client.batch():
                stored = self.client.stored_token(self.connection.secrets or {})
                token = self.client.renew(rejected=stored.access_token if stored else "")
                limits = self.client.call(lambda sf: sf.limits())
        except ConnectorError as exc:
            return Health(ok=False, message=exc.message, needs_reauth=isinstance(exc, AuthError))
        daily = limits.get("DailyApiRequests", {})
        used = daily.get("Max", 0) - daily.get("Remaining", 0)
        remember_org(self.connection, token.org_id)
        self.settings = self.connection.settings
        pubsub_ok, pubsub = self.test_pubsub()
        return Health(
            ok=pubsub_ok,
            message=f"Connected to Salesforce org {token.org_id} at {token.instance_url}; "
            f"{used} of {daily.get('Max', '?')} daily API requests used.{pubsub}",
            details={
                "org_id": token.org_id,
                "instance_url": token.instance_url,
                "api_used": used,
                "api_limit": daily.get("Max"),
            },
        )

    def test_pubsub(self) -> tuple[bool, str]:
        """Whether the Pub/Sub API answers for the opportunity change events (none asked
        without a Pub/Sub address), and a sentence saying so."""
        address = (self.settings.get("pubsub_address") or "").strip()
        if not address:
            return True, ""
        topic = CHANGE_TOPICS["Opportunity"]
        client = PubSubClient(self.client, address)
        try:
            info = client.topic(topic)
        except ConnectorError as exc:
            return False, f" But the Pub/Sub API at {address} did not answer: {exc.message}."
        finally:
            client.close()
        if not info.can_subscribe:
            return False, f" But the Pub/Sub API at {address} does not let us subscribe to {topic}."
        return True, f" The Pub/Sub API at {address} answers: {topic} can be subscribed to."

    # ------------------------------------------------------------ push streams

    def streams(self) -> list[Stream]:
        return streams_of(self.settings)

    def subscribe(
        self, topic: str, position: str, stopping: threading.Event
    ) -> Iterator[StreamBatch]:
        return subscription(self, topic, position, stopping)

    def entities(self) -> list[str]:
        """The order-to-cash objects; any other sObject name works in every method too."""
        return list(ENTITIES)

    # ------------------------------------------------------------ reads

    def select(self, entity: str) -> str:
        names = [f["name"] for f in self.fields(entity).values() if f["type"] not in UNSELECTABLE]
        return f"SELECT {', '.join(names)} FROM {entity}"

    def get(self, entity: str, key: str) -> Record:
        """By record Id, or by external ID written as `Field__c/value`."""
        field, _, value = key.rpartition("/")
        if field:
            path = f"sobjects/{quote(entity)}/{quote(field)}/{quote(value, safe='')}"
            found = self.client.call(lambda sf: sf.restful(path))
        else:
            record = record_id(key)  # simple-salesforce would resolve a `..` in it
            found = self.client.call(lambda sf: sobject(sf, entity).get(record))
        return without_attributes(found)

    def query(self, soql: str) -> Iterator[Record]:
        """Every row of a SOQL query, all pages."""
        for row in self.client.query(soql):
            yield without_attributes(row)

    def search(self, entity: str, **criteria: Any) -> list[Record]:
        """Records whose fields equal the given values, e.g. `search("Account", Name="X")`."""
        with self.client.batch():
            known = self.fields(entity)
            conditions = []
            for name, value in criteria.items():
                field = known.get(name.lower()) or self.fields(entity, fresh=True).get(name.lower())
                if field is None:
                    raise ValidationError(
                        f"Salesforce {entity} has no field {name}",
                        fields={name: "no such field"},
                        system=SYSTEM,
                    )
                conditions.append(f"{field['name']} = {soql_literal(value, field['type'])}")
            where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            return list(self.read_fresh(lambda: f"{self.select(entity)}{where}"))

    def changes(self, entity: str, since: datetime) -> Iterator[Record]:
        """Records whose SystemModstamp is after `since`, oldest first (Id breaks ties)."""
        with self.client.batch():
            yield from self.read_fresh(
                lambda: (
                    f"{self.select(entity)} WHERE SystemModstamp > {soql_datetime(since)} "
                    "ORDER BY SystemModstamp, Id"
                )
            )

    def sample(self, entity: str, n: int = 5) -> list[Record]:
        with self.client.batch():
            newest = f" ORDER BY SystemModstamp DESC LIMIT {int(n)}"
            return list(self.read_fresh(lambda: f"{self.select(entity)}{newest}"))

    # ------------------------------------------------------------ single writes

    def create(
        self, entity: str, data: Record, idempotency_key: str, *, match_on: str = ""
    ) -> Record:
        """Create once, however often retried; see the module docstring for how. Returns
        `{"Id": …, "created": bool}` (False when an earlier attempt had made it)."""
        with self.client.batch():
            external = self.external_id_field(entity)
            given = {key.lower(): key for key in data}
            if external and data.get(given.get(external.lower(), "")) not in (None, ""):
                key = given[external.lower()]
                rest = {k: v for k, v in data.items() if k != key}
                return self.upsert(entity, external, str(data[key]), rest)
            if match_on:
                if data.get(match_on) in (None, ""):
                    raise ValidationError(
                        f"Cannot match an existing {entity}: {match_on} has no value",
                        fields={match_on: "needed to find an earlier attempt's record"},
                        system=SYSTEM,
                    )
                found = self.search(entity, **{match_on: data[match_on]})
                if len(found) > 1:
                    raise Conflict(
                        f"{len(found)} Salesforce {entity} records have {match_on} = "
                        f"{data[match_on]!r}; cannot tell which one is meant",
                        system=SYSTEM,
                    )
                if found:
                    return {"Id": found[0]["Id"], "created": False}
            reply = self.client.call(lambda sf: sobject(sf, entity).create(data))
            return {"Id": reply["id"], "created": True}

    def update(self, entity: str, key: str, data: Record, idempotency_key: str) -> Record:
        """PATCH the given fields of the record with Id `key` (naturally idempotent)."""
        record = record_id(key)
        self.client.call(lambda sf: sobject(sf, entity).update(record, data))
        return {"Id": record}

    def upsert(self, entity: str, external_id_field: str, value: str, data: Record) -> Record:
        """Create or update the record whose external ID field has `value`: repeating it
        never makes a second record. Returns `{"Id": …, "created": bool}`."""
        path = f"{external_id_field}/{quote(str(value), safe='')}"
        response = self.client.call(
            lambda sf: sobject(sf, entity).upsert(path, data, raw_response=True)
        )
        if response.status_code == 204:  # API versions before 46.0 answer without a body
            found = self.get(entity, f"{external_id_field}/{value}")
            return {"Id": found["Id"], "created": False}
        body = response.json()
        return {"Id": body["id"], "created": bool(body.get("created"))}

    # ------------------------------------------------------------ batches (sObject Collections)

    def upsert_many(
        self, entity: str, external_id_field: str, records: list[Record]
    ) -> list[RecordResult]:
        """Upsert by external ID, 200 records a call with allOrNone false: one result per
        record, in order. A failed call raises; repeating the batch is safe."""
        path = f"composite/sobjects/{quote(entity)}/{quote(external_id_field)}"
        return self.collection("PATCH", path, entity, records)

    def create_many(self, entity: str, records: list[Record]) -> list[RecordResult]:
        """Create 200 records a call. Not idempotent: prefer `upsert_many` where there is an
        external ID."""
        return self.collection("POST", "composite/sobjects", entity, records)

    def update_many(self, entity: str, records: list[Record]) -> list[RecordResult]:
        """Update 200 records a call; each record carries its `Id`."""
        return self.collection("PATCH", "composite/sobjects", entity, records)

    def collection(
        self, method: str, path: str, entity: str, records: list[Record]
    ) -> list[RecordResult]:
        results: list[RecordResult] = []
        with self.client.batch():
            for start in range(0, len(records), COLLECTION_SIZE):
                chunk = [
                    {"attributes": {"type": entity}, **record}
                    for record in records[start : start + COLLECTION_SIZE]
                ]
                body = {"allOrNone": False, "records": chunk}
                send = methodcaller("restful", path, method=method, json=body)
                replies = self.client.call(send)
                results.extend(self.record_result(reply) for reply in replies)
        return results

    @staticmethod
    def record_result(reply: dict[str, Any]) -> RecordResult:
        if reply.get("success"):
            return RecordResult(reply.get("id"), True, bool(reply.get("created")))
        errors = reply.get("errors") or [{}]
        first = errors[0]
        error = error_from_code(
            first.get("statusCode", ""), first.get("message", ""), first.get("fields")
        )
        return RecordResult(reply.get("id"), False, error=error)
