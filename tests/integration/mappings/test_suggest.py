"""Suggestions against the sandboxes' real schemas: a Streak box (pipeline fields read live,
with the organization and contact the flows attach) and Sage 100's AR_Customer columns read
over ODBC. Every accepted suggestion must compile and map the sample without an error."""

import copy

import pytest

from connectors.base import FieldInfo
from connectors.models import Connection
from connectors.services import connector_for
from mappings import canonical
from mappings.engine import compile_spec
from mappings.suggest import suggest
from sandbox.sage100.app import BRIDGE_KEY
from sandbox.streak import data

pytestmark = pytest.mark.django_db

BOX_NAME = "Van Dijk Installaties B.V. - New site fit-out"  # seeded, with organization + contact


@pytest.fixture
def streak(streak_sandbox):
    connection = Connection.objects.create(
        name="Streak", system="streak",
        settings={"base_url": streak_sandbox.url, "pipeline_key": data.SALES["key"],
                  "requests_per_second": 500},
        secrets={"api_key": "sandbox-streak-key"},
    )  # fmt: skip
    return connector_for(connection)


@pytest.fixture
def ar_customer(sage100_sandbox) -> list[FieldInfo]:
    connection = Connection.objects.create(
        name="Sage 100", system="sage100",
        settings={"odbc_connection_string": sage100_sandbox.app.odbc_connection_string,
                  "odbc_dialect": "sqlite", "company_code": "ABC",
                  "bridge_url": sage100_sandbox.url, "default_warehouse": "000"},
        secrets={"bridge_key": BRIDGE_KEY},
    )  # fmt: skip
    return connector_for(connection).schema("customer")


@pytest.fixture
def box(streak) -> dict:
    found = streak.search("Box", name=BOX_NAME)[0]
    return streak.read_deal(found["key"], "Closed-Won").record


@pytest.fixture
def box_fields(streak) -> list[FieldInfo]:
    """The box's schema as the designer lists it: pipeline fields under fieldsByName, plus
    the organization's and contact's fields."""
    fields = [
        FieldInfo(**{**vars(info), "name": f"fieldsByName.{info.name}"}) if info.custom else info
        for info in streak.schema("Box")
    ]
    for part in ("Organization", "Contact"):
        fields += [
            FieldInfo(**{**vars(info), "name": f"{part.lower()}.{info.name}"})
            for info in streak.schema(part)
        ]
    return fields


def by_target(suggestions) -> dict:
    return {suggestion.target: suggestion for suggestion in suggestions}


def assert_usable(suggestions, target_fields, record) -> None:
    """Accepting them all gives a spec that compiles and maps the record without errors."""
    spec = {"rules": [suggestion.rule for suggestion in suggestions]}
    result = compile_spec(spec, target_fields, "Sage 100").apply(record)
    mapped = {s.target for s in suggestions}
    errors = [issue for issue in result.errors if issue.field in mapped]
    assert errors == []


def test_a_streak_box_is_matched_to_ar_customer_by_synonyms(box_fields, ar_customer, box):
    found = suggest(box_fields, ar_customer, box, {"rules": []})
    suggestions = by_target(found)

    name = suggestions["CustomerName"]
    assert name.rule["source"] == "organization.name"
    assert name.reason.startswith("synonym: organization.name ↔ CustomerName")
    assert {"name": "truncate"} in name.rule["transforms"]  # a CRM name may exceed 50

    email = suggestions["EmailAddress"]
    assert email.rule["source"] in ("emailAddresses[0]", "contact.emailAddresses[0]")
    assert [step["name"] for step in email.rule["transforms"]] == ["trim", "lower", "truncate"]
    assert "looks like an email" in email.reason

    assert suggestions["TelephoneNo"].rule["source"] == "organization.phoneNumbers[0]"
    assert suggestions["URLAddress"].rule["source"] == "organization.domains[0]"

    terms = suggestions["TermsCode"]  # "Net 30" does not fit a 2-character code
    assert terms.rule["source"] == "fieldsByName.Payment Terms"
    assert "Lookup table" in terms.reason and terms.confidence < name.confidence
    assert_usable([s for s in found if s.target != "TermsCode"], ar_customer, box)


def test_suggestions_come_best_first_and_stay_within_zero_and_one(box_fields, ar_customer, box):
    found = suggest(box_fields, ar_customer, box, {"rules": []})
    confidences = [suggestion.confidence for suggestion in found]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 < confidence <= 1 for confidence in confidences)
    assert by_target(found)["EmailAddress"].confidence > by_target(found)["TermsCode"].confidence


def test_rules_the_spec_has_are_left_alone_and_their_source_not_reused(
    box_fields, ar_customer, box
):
    spec = {"rules": [{"target": "CustomerName", "source": "name"},
                      {"target": "EmailAddress", "constant": "orders@acme.example"}]}  # fmt: skip
    before = copy.deepcopy(spec)
    suggestions = by_target(suggest(box_fields, ar_customer, box, spec))
    assert "CustomerName" not in suggestions and "EmailAddress" not in suggestions
    assert spec == before
    # the box's name feeds CustomerName already: no weak guess may reuse it elsewhere
    assert all(s.rule["source"] != "name" for s in suggestions.values())


def test_a_value_that_looks_like_an_email_is_enough_without_a_matching_name(ar_customer):
    sources = [FieldInfo("fieldsByName.Billing contact", "Billing contact", "string", custom=True),
               FieldInfo("fieldsByName.Region", "Region", "string", custom=True)]  # fmt: skip
    record = {"fieldsByName": {"Billing contact": "ap@harbor.example", "Region": "West"}}
    suggestions = by_target(suggest(sources, ar_customer, record, {"rules": []}))
    email = suggestions["EmailAddress"]
    assert email.rule["source"] == "fieldsByName.Billing contact"
    assert email.reason.startswith("sample value looks like an email")
    assert 0.4 <= email.confidence < 0.8


def test_a_bare_pipeline_field_name_is_read_where_the_box_keeps_it(ar_customer, box):
    sources = [FieldInfo("Payment Terms", "Payment Terms", "choice", custom=True)]
    suggestions = by_target(suggest(sources, ar_customer, box, {"rules": []}))
    assert suggestions["TermsCode"].rule["source"] == "fieldsByName.Payment Terms"


def test_canonical_customer_to_ar_customer_fills_address_columns(ar_customer):
    sources = list(canonical.schema("Customer"))
    spec = {"rules": [], "source_entity": "Customer", "target_entity": "AR_Customer"}
    suggestions = by_target(suggest(sources, ar_customer, None, spec))
    assert suggestions["AddressLine1"].rule["source"] == "billing_address.lines[0]"
    assert suggestions["ZipCode"].rule["source"] == "billing_address.zip"
    assert suggestions["City"].rule["source"] == "billing_address.city"
    state = [step["name"] for step in suggestions["State"].rule["transforms"]]
    assert state == ["trim", "upper", "truncate"]
    assert suggestions["CustomerName"].rule["source"] == "name"
    assert suggestions["CreditLimit"].rule == {"target": "CreditLimit", "source": "credit_limit"}
    assert "CustomerNo" not in suggestions or suggestions["CustomerNo"].confidence < 0.8


def test_dates_get_a_date_transform_and_amounts_a_number(sage100_sandbox):
    header = [FieldInfo("OrderDate", "Order Date", "date"),
              FieldInfo("CustomerPONo", "Customer PO No", "string", length=30),
              FieldInfo("TaxableAmt", "Taxable Amt", "number")]  # fmt: skip
    deal = [FieldInfo("fieldsByName.Close date", "Order date", "string"),
            FieldInfo("fieldsByName.PO", "PO", "string"),
            FieldInfo("fieldsByName.Amount", "Amount", "string")]  # fmt: skip
    record = {"fieldsByName": {"Close date": "03/14/2025", "PO": "PO-7781", "Amount": "1,250.00"}}
    suggestions = by_target(suggest(deal, header, record, {"rules": []}))
    assert suggestions["OrderDate"].rule["transforms"] == [{"name": "date"}]
    assert suggestions["CustomerPONo"].rule["source"] == "fieldsByName.PO"
    assert suggestions["CustomerPONo"].reason.startswith("synonym: PO ↔ CustomerPONo")
    output = compile_spec({"rules": [s.rule for s in suggestions.values()]}, header).apply(record)
    assert output.output["OrderDate"] == "2025-03-14"
    assert output.errors == []
