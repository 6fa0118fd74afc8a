"""Change Data Capture events as the inbox stores them: bitmaps decoded into field names,
one event per record, our own changes dropped, gaps re-read, overflows resynced, and what the
won-deal flow reads of them. Payloads are real Avro, written and read with fastavro."""

import io
from datetime import UTC, datetime

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from connectors.base import WebhookEvent
from connectors.records import Resync
from connectors.registry import event_topic
from connectors.roles import ACCOUNTS, DEAL_STAGE
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.forms import ConnectionSettingsForm
from connectors.salesforce.pubsub.events import (
    Reread,
    change_events,
    field_names,
    platform_event,
    set_bits,
)

NS = "com.sforce.eventbus"
ADDRESS = {
    "type": "record", "name": "Address", "namespace": NS,
    "fields": [{"name": part, "type": ["null", "string"], "default": None}
               for part in ("Street", "City", "State", "PostalCode", "Country")],
}  # fmt: skip
HEADER = {
    "name": "ChangeEventHeader",
    "type": {
        "type": "record", "name": "ChangeEventHeader", "namespace": NS,
        "fields": [
            {"name": "entityName", "type": "string"},
            {"name": "recordIds", "type": {"type": "array", "items": "string"}},
            {"name": "changeType", "type": {"type": "enum", "name": "ChangeType", "namespace": NS,
                                            "symbols": ["CREATE", "UPDATE", "DELETE", "UNDELETE",
                                                        "GAP_CREATE", "GAP_UPDATE", "GAP_DELETE",
                                                        "GAP_UNDELETE", "GAP_OVERFLOW"]}},
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
}  # fmt: skip


def optional(name: str, avro_type) -> dict:
    return {"name": name, "type": ["null", avro_type], "default": None}


OPPORTUNITY = {
    "type": "record", "name": "OpportunityChangeEvent", "namespace": NS,
    "fields": [HEADER, optional("AccountId", "string"), optional("Name", "string"),
               optional("StageName", "string"), optional("Amount", "double"),
               optional("CloseDate", {"type": "int", "logicalType": "date"}),
               optional("Description", "string"), optional("LastModifiedDate", "long")],
}  # fmt: skip
ORDER = {  # ShippingAddress refers to the Address record BillingAddress defined
    "type": "record", "name": "OrderChangeEvent", "namespace": NS,
    "fields": [HEADER, optional("Status", "string"), optional("BillingAddress", ADDRESS),
               optional("ShippingAddress", f"{NS}.Address")],
}  # fmt: skip
COMMITTED = 1_796_600_000_000  # ms
OPPORTUNITY_ID, OTHER_ID = "006Dn0000000001IAA", "006Dn0000000002IAA"


def header(change_type: str = "UPDATE", records=(OPPORTUNITY_ID,), changed=(),
           origin: str = "com/salesforce/api/rest/59.0") -> dict:  # fmt: skip
    return {
        "entityName": "Opportunity", "recordIds": list(records), "changeType": change_type,
        "changeOrigin": origin, "transactionKey": "tx-1", "sequenceNumber": 3,
        "commitTimestamp": COMMITTED, "commitNumber": 1, "commitUser": "005x",
        "nulledFields": [], "diffFields": [], "changedFields": list(changed),
    }  # fmt: skip


def over_the_wire(schema: dict, values: dict) -> dict:
    """Written as the Pub/Sub API sends it, read back as the subscriber reads it."""
    parsed = parse_schema(schema)
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, values)
    return schemaless_reader(io.BytesIO(buffer.getvalue()), parsed)


def test_bits_count_from_the_least_significant():
    assert set_bits(0x1) == [0]
    assert set_bits(0x650004E0) == [5, 6, 7, 10, 24, 26, 29, 30]
    assert set_bits(0) == []


def test_a_top_level_bitmap_names_fields_by_schema_position():
    # 0x0C: positions 2 and 3 (Name, StageName); 0x80 is beyond the schema's 8 fields.
    assert field_names(["0x0C"], OPPORTUNITY) == ["Name", "StageName"]
    assert field_names(["0x01"], OPPORTUNITY) == ["ChangeEventHeader"]
    assert field_names(["0x300"], OPPORTUNITY) == []


def test_nested_bitmaps_name_parts_of_compound_fields_even_by_type_reference():
    # 2-0x02: BillingAddress.City; 3-0x05: ShippingAddress.Street and .State, whose type is
    # only the name of the Address record defined by BillingAddress.
    names = field_names(["0x02", "2-0x02", "3-0x05"], ORDER)
    assert names == ["Status", "BillingAddress.City", "ShippingAddress.Street",
                     "ShippingAddress.State"]  # fmt: skip


def test_an_update_carries_the_changed_values_and_names_the_fields():
    decoded = over_the_wire(OPPORTUNITY, {
        "ChangeEventHeader": header(changed=["0x88"]),  # StageName, LastModifiedDate
        "StageName": "Closed Won", "LastModifiedDate": COMMITTED,
    })  # fmt: skip

    [event] = change_events(decoded, OPPORTUNITY, "00ff").events

    assert event.kind == "ChangeEvent:Opportunity"
    assert event.entity_key == OPPORTUNITY_ID
    assert event.dedupe_key == f"Opportunity|tx-1|3|{OPPORTUNITY_ID}"
    assert event.payload["fields"] == {"StageName": "Closed Won", "LastModifiedDate": COMMITTED}
    assert event.payload["header"]["changedFields"] == ["StageName", "LastModifiedDate"]
    assert event.payload["replay_id"] == "00ff"


def test_a_create_carries_every_set_field_with_dates_as_text():
    decoded = over_the_wire(OPPORTUNITY, {
        "ChangeEventHeader": header("CREATE"), "Name": "Big deal", "StageName": "Closed Won",
        "Amount": 1250.5, "CloseDate": datetime(2026, 12, 1, tzinfo=UTC).date(),
    })  # fmt: skip

    [event] = change_events(decoded, OPPORTUNITY, "01").events

    assert event.payload["fields"] == {
        "Name": "Big deal", "StageName": "Closed Won", "Amount": 1250.5, "CloseDate": "2026-12-01",
    }  # fmt: skip


def test_a_change_of_several_records_becomes_one_event_each():
    decoded = over_the_wire(OPPORTUNITY, {
        "ChangeEventHeader": header(records=[OPPORTUNITY_ID, OTHER_ID], changed=["0x40"]),
        "Description": "Renewal",
    })  # fmt: skip

    events = change_events(decoded, OPPORTUNITY, "02").events

    assert [event.entity_key for event in events] == [OPPORTUNITY_ID, OTHER_ID]
    assert len({event.dedupe_key for event in events}) == 2


def test_our_own_writes_do_not_come_back():
    ours = "com/salesforce/api/rest/59.0;client=clarity-connect"
    decoded = over_the_wire(OPPORTUNITY, {
        "ChangeEventHeader": header(changed=["0x40"], origin=ours), "Description": "Sage order 7",
    })  # fmt: skip

    translation = change_events(decoded, OPPORTUNITY, "03")

    assert translation.events == [] and translation.resyncs == []


def test_a_gap_asks_for_the_record_to_be_read_and_an_overflow_for_a_resync():
    gap = over_the_wire(OPPORTUNITY, {"ChangeEventHeader": header("GAP_UPDATE")})
    overflow = over_the_wire(OPPORTUNITY, {"ChangeEventHeader": header("GAP_OVERFLOW", [])})

    [reread] = change_events(gap, OPPORTUNITY, "04").events
    resyncs = change_events(overflow, OPPORTUNITY, "05").resyncs

    assert isinstance(reread, Reread) and reread.record_id == OPPORTUNITY_ID
    stored = reread.with_record({"Id": OPPORTUNITY_ID, "StageName": "Closed Won"})
    assert stored.payload["gap"] is True
    assert stored.payload["fields"]["StageName"] == "Closed Won"
    assert resyncs == [Resync("Opportunity", datetime.fromtimestamp(COMMITTED / 1000, UTC))]


def test_a_platform_event_names_the_record_to_read():
    decoded = {"Record_Id__c": OPPORTUNITY_ID, "Action__c": "create", "CreatedDate": COMMITTED,
               "CreatedById": "005x"}  # fmt: skip

    [reread] = platform_event("/event/Sage_Order_Request__e", decoded, "e-1", "06").events

    assert reread.entity == "Opportunity"
    assert reread.event.kind == "PlatformEvent" and reread.event.dedupe_key == "e-1"


def test_change_events_are_about_deal_stages_and_accounts():
    assert event_topic("ChangeEvent:Opportunity")[1] == DEAL_STAGE
    assert event_topic("ChangeEvent:Order")[1] == DEAL_STAGE
    assert event_topic("ChangeEvent:Account")[1] == ACCOUNTS
    assert event_topic("PlatformEvent")[1] == DEAL_STAGE


def test_the_won_deal_flow_reads_the_stage_of_a_change_event():
    stage = over_the_wire(OPPORTUNITY, {
        "ChangeEventHeader": header(changed=["0x08"]), "StageName": "Closed Won",
    })  # fmt: skip
    other = over_the_wire(OPPORTUNITY, {
        "ChangeEventHeader": header(changed=["0x40"]), "Description": "Call back",
    })  # fmt: skip
    [stage_event] = change_events(stage, OPPORTUNITY, "07").events
    [other_event] = change_events(other, OPPORTUNITY, "08").events
    gap = Reread("Opportunity", OPPORTUNITY_ID, WebhookEvent(
        "ChangeEvent:Opportunity", OPPORTUNITY_ID, "k", {"gap": True},
    )).with_record({"StageName": "Closed Won"})  # fmt: skip

    hint = SalesforceConnector.stage_hint(stage_event)

    assert hint is not None and hint.stage == "Closed Won" and not hint.echo_prone
    assert SalesforceConnector.stage_hint(other_event) is None
    # A record re-read after a gap may show our own write-back: runs only when not yet bound.
    assert SalesforceConnector.stage_hint(gap).echo_prone


@pytest.mark.django_db
def test_the_connection_form_takes_a_pubsub_address_and_a_platform_event_channel():
    base = {"name": "Acme", "login_url": "https://login.salesforce.com",
            "auth_flow": "client_credentials", "client_id": "id", "api_version": "59.0",
            "client_secret": "secret"}  # fmt: skip
    good = ConnectionSettingsForm(data={
        **base, "pubsub_address": "api.pubsub.salesforce.com:7443",
        "platform_event_channel": "/event/Sage_Order_Request__e",
    })  # fmt: skip
    bad = ConnectionSettingsForm(data={
        **base, "pubsub_address": "https://api.pubsub.salesforce.com",
        "platform_event_channel": "/data/OpportunityChangeEvent",
    })  # fmt: skip
    alone = ConnectionSettingsForm(
        data={**base, "platform_event_channel": "/event/Sage_Order_Request__e"}
    )

    assert good.is_valid(), good.errors
    assert set(bad.errors) == {"pubsub_address", "platform_event_channel"}
    assert "give its address too" in alone.errors["platform_event_channel"][0]
