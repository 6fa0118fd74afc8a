"""The CRM role's contract, the same tests for every CRM connector (`crm`, see conftest):
won deals read in the shape the default mappings read, stage hints, the document number
and notes written back, the deal found again by its ID, and accounts read, written and
loaded. What differs per CRM is decided by its attributes, never by which system it is."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.base import FeedCursor
from connectors.crm_role import CrmRole
from connectors.errors import Unsupported
from connectors.records import ContactRecord, StageHint
from connectors.roles import (
    ACCOUNT_LOAD,
    ACCOUNT_SYNC,
    ACCOUNTS,
    CUSTOMER_CONTACTS,
    DEAL_STAGE,
    INVOICE_FIELD,
    ITEM_RECORDS,
    WON_DEALS,
)
from connectors.values import ADDRESS_PARTS, same
from flows.polling import event_of, read_feed
from mappings.paths import compile_getter
from tests.contract.defaults import deal_mappings, run

pytestmark = pytest.mark.django_db

SAGE = "Sage 100"  # the ERP label the CRM names in what it writes
# Sage-owned values as customer sync hands them to the CRM; a CRM that cannot hold one of
# them names it instead of writing it.
SAGE_VALUES = {
    "phone": "+1 312-555-0199",
    "email": "accounts@contract-test.example",
    "credit_limit": "25000.00",
    "terms": "Net 30",
    "balance": "1234.56",
}
# Sage customers as the initial load hands them over (`customer_values` plus ref, source_id).
CUSTOMERS = [
    {
        "name": f"Contract Test Supplies {number}",
        "phone": f"+1 217-555-01{number}0",
        "email": f"buyer{number}@contract-test.example",
        "billing_address": {
            "street": f"{number} Test Way",
            "city": "Springfield",
            "state": "IL",
            "zip": "62701",
            "country": "US",
        },
        "credit_limit": "5000.00",
        "terms": "Net 30",
        "balance": "0.00",
        "account_number": f"CT000{number}",
        "ref": f"00-CT000{number}",
        "source_id": f"S100-00-CT000{number}",
    }
    for number in (1, 2)
]


def mapped(crm: CrmRole, record: dict[str, Any], target: str) -> list[dict[str, Any]]:
    """The record through every default mapping of its deals to `target`, each error-free."""
    outputs = []
    for erp, mapping in deal_mappings(crm):
        if mapping.target_entity == target:
            result = run(mapping, record, erp)
            assert not result.errors, (mapping.name, result.errors)
            outputs.append(result.output)
    assert outputs, f"no default mapping reads {crm.label} deals into {target}"
    return outputs


def says_won(crm: CrmRole, hint: StageHint | None, deal: str) -> bool:
    """Whether the hint names the won stage as the flows compare it: by the key `read_deal`
    resolves where the deal lives, or by name."""
    assert hint is not None
    if hint.by_key:
        read = crm.read_deal(deal, crm.won_stage)
        return (hint.stage, hint.scope) == (read.trigger_key, read.scope)
    return hint.stage == crm.won_stage


def polled_changes(crm: CrmRole, topic: str, since: FeedCursor) -> list[tuple[Any, Any, Any]]:
    """(feed, record, change) for each change the CRM's feeds of `topic` read since then."""
    return [
        (feed, record, change)
        for feed in crm.feeds.get(topic, ())
        for record, change in read_feed(crm, feed.entity, since)[0]
    ]


def a_minute_ago() -> FeedCursor:
    return FeedCursor(datetime.now(UTC) - timedelta(minutes=1))


# ---------------------------------------------------------------- capabilities

# One call per method of each capability, made on a CRM that lacks it.
PROBES: dict[str, tuple[Callable[[Any], object], ...]] = {
    WON_DEALS: (
        lambda crm: crm.read_deal("CT-0", "Won"),
        lambda crm: crm.write_deal("CT-0", {}, "contract-probe"),
        lambda crm: crm.add_note("CT-0", "A note", "contract-probe"),
        lambda crm: crm.find_deal("CT-0"),
    ),
    INVOICE_FIELD: (),  # no method: a deal field (`document_fields["invoice"]`)
    ACCOUNT_SYNC: (
        lambda crm: crm.read_account("CT-0"),
        lambda crm: crm.account_values({}, {}),
        lambda crm: crm.write_account({}, {}, SAGE, {}, "contract-probe"),
    ),
    ACCOUNT_LOAD: (lambda crm: crm.load_accounts([], SAGE, "contract-probe"),),
    ITEM_RECORDS: (
        lambda crm: crm.load_items([]),
        lambda crm: crm.update_item_stock({}, "contract-probe"),
    ),
    CUSTOMER_CONTACTS: (
        lambda crm: crm.contacts_of("CT-0"),
        lambda crm: crm.read_contact("CT-0"),
        lambda crm: crm.contact_account("CT-0", ["CT-0"]),
        lambda crm: crm.write_contact("CT-0", ContactRecord(""), [], "contract-probe"),
    ),
}


def test_a_capability_the_crm_lacks_is_unsupported_and_its_attributes_agree(crm):
    assert crm.capabilities <= set(PROBES), "a capability the contract does not know"
    for capability, probes in PROBES.items():
        if capability in crm.capabilities:
            continue
        for probe in probes:
            with pytest.raises(Unsupported) as refused:
                probe(crm)
            assert crm.label in str(refused.value)
    assert (WON_DEALS in crm.capabilities) == ("sales_order" in crm.document_fields)
    assert (INVOICE_FIELD in crm.capabilities) == ("invoice" in crm.document_fields)
    assert (ITEM_RECORDS in crm.capabilities) == bool(crm.item_entity)
    assert crm.won_stage and crm.deal_entity and crm.account_entity


# ---------------------------------------------------------------- won deals


def test_a_won_deal_reads_as_won_in_the_shape_the_default_mappings_read(crm, crm_seed):
    read = crm.read_deal(crm_seed.won_deal, crm.won_stage)

    assert read.won and read.stage == crm.won_stage
    for customer in mapped(crm, read.record, "Customer"):
        assert customer["name"] and customer["external_refs"]["crm"] == crm_seed.account
    documents = mapped(crm, read.record, "SalesOrder") + mapped(crm, read.record, "Invoice")
    for document in documents:
        assert document["crm_deal_id"] and document["customer_name"]
        assert document["lines"], document
        assert all(line["sku"] and line["quantity"] for line in document["lines"])


def test_a_deal_in_another_stage_is_not_won_unless_the_flow_triggers_on_that_stage(crm, crm_seed):
    read = crm.read_deal(crm_seed.open_deal, crm.won_stage)

    assert not read.won
    assert read.stage and read.stage != crm.won_stage
    assert crm.read_deal(crm_seed.open_deal, read.stage).won  # a flow's own trigger stage


def test_a_deal_moved_to_the_won_stage_reads_as_won(crm, crm_seed):
    crm.write_deal(crm_seed.open_deal, {}, "contract-stage", stage=crm.won_stage)

    read = crm.read_deal(crm_seed.open_deal, crm.won_stage)
    assert read.won and read.stage == crm.won_stage


def test_a_pushed_stage_change_hints_at_the_stage_the_deal_reached(crm, crm_seed):
    delivery = crm_seed.stage_change
    [event] = type(crm).parse_webhook(delivery.body, delivery.params).events

    hint = type(crm).stage_hint(event)

    assert crm.event_kinds[event.kind] == DEAL_STAGE
    assert says_won(crm, hint, event.entity_key)
    assert hint is not None and not hint.echo_prone


def test_a_polled_stage_change_hints_at_the_stage_and_may_be_our_own_write(crm, crm_seed):
    if not crm.feeds.get(DEAL_STAGE):  # then it must push them: the won-deal flows need one
        assert DEAL_STAGE in crm.event_kinds.values()
        return
    since = a_minute_ago()
    crm.write_deal(crm_seed.open_deal, {}, "contract-stage", stage=crm.won_stage)

    [(feed, record, change)] = [
        found
        for found in polled_changes(crm, DEAL_STAGE, since)
        if found[2].key == crm_seed.open_deal
    ]
    event = event_of(feed, change, record)
    hint = type(crm).stage_hint(event)

    assert event.entity_key == crm_seed.open_deal  # what the won-deal flows read
    assert says_won(crm, hint, crm_seed.open_deal)
    assert hint is not None and hint.echo_prone


def test_each_document_number_written_to_the_deal_reads_back(crm, crm_seed):
    key = crm_seed.won_deal
    fields = {info.name: info for info in crm.schema(crm.deal_entity)}
    for document, field in crm.document_fields.items():
        number = f"CT-{document}-0042"
        path = crm.field_path(fields[field])  # where the mappings find the field

        crm.write_deal(key, {field: number}, f"contract-{document}")

        read = crm.read_deal(key, crm.won_stage, [path])
        assert compile_getter(path)(read.record, read.record) == number
        assert read.won  # a field written leaves the stage alone


def test_a_write_changes_the_deal_version_its_polled_change_carries(crm, crm_seed):
    key = crm_seed.won_deal
    before = crm.deal_version(key)
    since = a_minute_ago()

    crm.write_deal(key, {crm.document_fields["sales_order"]: "CT-0043"}, "contract-version")

    after = crm.deal_version(key)
    assert after and after != before
    polled = {change.stamp for _, _, change in polled_changes(crm, DEAL_STAGE, since)
              if change.key == key}  # fmt: skip
    assert polled == ({after} if crm.feeds.get(DEAL_STAGE) else set())  # dropped as ours


def test_a_note_added_twice_is_on_the_deal_once(crm, crm_seed):
    key = crm_seed.won_deal
    first, second = "Sage 100 sales order CT-0044 created.", "Payment of 10.00 USD received."

    crm.add_note(key, first, "contract-note-1", posted_before=False)
    crm.add_note(key, first, "contract-note-1")  # a retry of the same step
    crm.add_note(key, second, "contract-note-2")

    notes = crm_seed.notes(key)
    assert sum(note.count(first) for note in notes) == 1
    assert sum(note.count(second) for note in notes) == 1


def test_the_deal_is_found_by_the_id_the_won_deal_flows_write(crm, crm_seed):
    read = crm.read_deal(crm_seed.won_deal, crm.won_stage)
    documents = mapped(crm, read.record, "SalesOrder") + mapped(crm, read.record, "Invoice")
    for document in documents:
        assert crm.find_deal(document["crm_deal_id"]) == crm_seed.won_deal
    assert crm.find_deal("CT-NO-SUCH-DEAL") == ""


# ---------------------------------------------------------------- accounts


def test_an_account_reads_in_the_common_fields_its_deal_maps_to(crm, crm_seed):
    values = crm.account_values(crm.read_account(crm_seed.account), {})

    assert values["name"] and values["phone"]
    address = values["billing_address"]
    assert set(address) == set(ADDRESS_PARTS)
    assert all(address.values()), address
    deal = crm.read_deal(crm_seed.won_deal, crm.won_stage)
    for customer in mapped(crm, deal.record, "Customer"):
        assert same(values["name"], customer["name"])
        assert same(address["city"], customer["billing_address"]["city"])


def test_sage_values_written_to_an_account_are_written_once(crm, crm_seed):
    record = crm.read_account(crm_seed.account)

    first = crm.write_account(record, SAGE_VALUES, SAGE, {}, "contract-account-1")

    assert "phone" in first.written
    # each value written, or named as one the account cannot hold
    assert len(first.written) + len(first.missing) == len(SAGE_VALUES), first
    after = crm.read_account(crm_seed.account)
    assert same(crm.account_values(after, {})["phone"], SAGE_VALUES["phone"])
    for feed in crm.feeds.get(ACCOUNTS, ()):  # the poller knows the write for ours
        change = crm.change_of(feed.entity, after)
        assert (change.key, change.stamp) == (crm_seed.account, first.version)

    again = crm.write_account(after, SAGE_VALUES, SAGE, {}, "contract-account-2")

    assert again.written == [] and again.missing == first.missing


def test_loading_customers_twice_makes_one_account_each(crm):
    first = crm.load_accounts(CUSTOMERS, SAGE, "contract-load-1")
    again = crm.load_accounts(CUSTOMERS, SAGE, "contract-load-2")

    assert [result.error for result in first + again] == [""] * 4
    keys = [result.crm_id for result in first]
    assert all(keys) and len(set(keys)) == len(CUSTOMERS)
    assert [result.crm_id for result in again] == keys
    for key, customer in zip(keys, CUSTOMERS, strict=True):
        values = crm.account_values(crm.read_account(key), {})
        assert values["name"] == customer["name"]
        assert same(values["billing_address"], customer["billing_address"])
