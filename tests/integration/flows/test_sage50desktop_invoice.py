"""Won Streak deals (Wholesale pipeline) → Sage 50 US desktop customer and sales invoice, end
to end: the Streak sandbox's box delivered to our webhook, the run executed inline, the
invoice read back from the Sage 50 company over ODBC (JrnlHdr / JrnlRow) and the box and its
comments read back from Streak. The flow is the same one every ERP runs.

Shared helpers: `tests/won_deals.py`."""

from decimal import Decimal

import pytest

from connectors.models import Connection, IntegrationPair
from connectors.sage50desktop.customers import fitted_reference
from connectors.services import connector_for
from flows.models import InboundEvent, SyncRun
from flows.services import retry_run
from mappings.defaults.base import PRODUCT_TO_SAGE50_ITEM
from mappings.versions import import_table
from sandbox.catalogue import CODES_UNKNOWN_TO_SAGE
from sandbox.sage50desktop.data import INACTIVE_ITEM_CODES
from sandbox.sage50desktop.ledger import SALES_JOURNAL
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "deal_won_to_invoice"
LABEL = "Sage 50 (US desktop)"


@pytest.fixture
def wholesale(streak_sandbox) -> Connection:
    """The Streak connection of the Wholesale pipeline, whose deals Sage 50 invoices."""
    return shared.streak_connection(streak_sandbox, streak_data.WHOLESALE)


@pytest.fixture
def invoice_pair(wholesale, sage50desktop) -> tuple[IntegrationPair, str]:
    return shared.make_pair("Streak Wholesale Sage 50", wholesale, sage50desktop, FLOW)


@pytest.fixture
def streak(wholesale):
    return connector_for(wholesale)


def invoices_for(sandbox, deal_id: str) -> list[dict]:
    return shared.sage50desktop_documents(sandbox, SALES_JOURNAL, deal_id)


def customers_named(sandbox, name: str) -> list[dict]:
    return shared.sage50desktop_rows(
        sandbox, "SELECT * FROM Customers WHERE Customer_Bill_Name = ?", name
    )


def journal_size(sandbox) -> tuple[int, int]:
    """How many transactions and journal rows the company holds."""
    [counts] = shared.sage50desktop_rows(
        sandbox, "SELECT (SELECT COUNT(*) FROM JrnlHdr) AS h, (SELECT COUNT(*) FROM JrnlRow) AS r"
    )
    return counts["h"], counts["r"]


def comments(streak, key: str) -> list[str]:
    return [comment["message"] for comment in streak.search("Comment", box_key=key)]


def test_a_won_wholesale_box_becomes_one_sage50_invoice_with_item_lines_and_its_number_on_the_box(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair, streak
):
    pair, token = invoice_pair
    [company] = shared.sage50desktop_rows(sage50desktop_sandbox, "SELECT * FROM Company")
    key, run = shared.win_box(client, streak_sandbox, pair, token, "WHL-3013")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message

    [invoice] = invoices_for(sage50desktop_sandbox, "WHL-3013")
    number = invoice["Reference"]
    assert number == str(company["NextInvoiceNumber"])  # Sage's own next invoice number
    box = streak.get("Box", key)
    assert box["fieldsByName"]["Sage Invoice ID"] == number
    # Each line tied to its item, on the account the deal's GL code 4000 looks up: 40000.
    assert invoice["lines"] == [
        (code, quantity, price, quantity * price, "40000")
        for code, quantity, price in shared.products(box)
    ]
    assert invoice["MainAmount"] == Decimal("3345.93")
    organization = streak.get("Organization", box["organizations"][0]["key"])
    assert invoice["Customer_Bill_Name"] == organization["name"]
    assert invoice["CustomField5"] == fitted_reference(organization["key"])  # its digest
    assert len(invoice["CustomField5"]) <= 20
    note = f"{LABEL} sales invoice {number} created for {organization['name']}: 3345.93 USD."
    assert comments(streak, key) == [note]
    assert run.references["sage_invoice_number"] == number

    redelivered = shared.raw_box(streak_sandbox, key)  # the box as Streak reports it now
    for _ in range(2):
        assert shared.deliver_streak(client, pair, token, redelivered).status_code == 200
    assert InboundEvent.objects.filter(pair=pair).count() == 2  # the repeat is the same event
    again = SyncRun.objects.filter(pair=pair, entity_key=key).latest("pk")
    assert again.pk != run.pk and again.status == SyncRun.Status.SUCCEEDED, again.error_message
    assert again.steps.get(name="sales_invoice").output["how"].startswith("found")
    assert len(invoices_for(sage50desktop_sandbox, "WHL-3013")) == 1
    assert comments(streak, key) == [note]
    assert len(customers_named(sage50desktop_sandbox, organization["name"])) == 1


def test_another_pairs_deal_for_the_organization_finds_its_customer_by_the_crm_id(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair, wholesale, sage50desktop
):
    pair, token = invoice_pair
    _, first = shared.win_box(client, streak_sandbox, pair, token, "WHL-3013")
    first.refresh_from_db()
    assert first.steps.get(name="customer").output["how"] == "created"
    # A second pair on the same systems knows no binding: Sage's CustomField5 tells it.
    other, other_token = shared.make_pair("Wholesale invoices 2", wholesale, sage50desktop, FLOW)
    _, second = shared.win_box(client, streak_sandbox, other, other_token, "WHL-3046")
    second.refresh_from_db()
    assert second.status == SyncRun.Status.SUCCEEDED, second.error_message
    assert second.steps.get(name="customer").output["how"] == "found by CRM id"
    [one] = invoices_for(sage50desktop_sandbox, "WHL-3013")
    [two] = invoices_for(sage50desktop_sandbox, "WHL-3046")
    assert one["CustomerID"] == two["CustomerID"]
    assert len(customers_named(sage50desktop_sandbox, "Cedar Ridge Manufacturing")) == 1


def test_an_agent_that_commits_then_fails_still_ends_with_one_customer_and_one_invoice(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair, streak
):
    pair, token = invoice_pair
    shared.set_faults(sage50desktop_sandbox, commit_then_fail_rate=1.0)
    key, run = shared.win_box(client, streak_sandbox, pair, token, "WHL-3022")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED  # the customer was made, reply lost
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED  # the invoice was made, reply lost
    assert len(invoices_for(sage50desktop_sandbox, "WHL-3022")) == 1
    shared.set_faults(sage50desktop_sandbox)
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [invoice] = invoices_for(sage50desktop_sandbox, "WHL-3022")
    assert streak.get("Box", key)["fieldsByName"]["Sage Invoice ID"] == invoice["Reference"]
    assert len(customers_named(sage50desktop_sandbox, "Redwood Analytics")) == 1


# ---------------------------------------------------------------- currency


def priced_in_eur(streak, deal_id: str) -> None:
    """The deal's prices are euros now, as a Streak user sets the box's Currency."""
    box = streak.search("Box", **{"Deal ID": deal_id})[0]
    streak.update("Box", box["key"], {"Currency": "EUR"}, f"eur-{deal_id}")


def test_a_eur_deal_is_invoiced_in_dollars_converted_once_and_the_note_says_the_rate(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair, streak
):
    pair, token = invoice_pair
    shared.eur_rate(pair)  # 1.08 USD per EUR; the Sage 50 company keeps USD only
    priced_in_eur(streak, "WHL-3024")
    key, run = shared.win_box(client, streak_sandbox, pair, token, "WHL-3024")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    box = streak.get("Box", key)
    assert shared.products(box) == [("WIDGET-126", Decimal(5), Decimal("74.00"))]
    [invoice] = invoices_for(sage50desktop_sandbox, "WHL-3024")
    # 74.00 EUR at 1.08 is 79.92 USD a unit, converted once (not 86.31, 1.08 twice).
    assert invoice["lines"] == [
        ("WIDGET-126", Decimal(5), Decimal("79.92"), Decimal("399.60"), "40000")
    ]
    assert invoice["MainAmount"] == Decimal("399.60")
    number = invoice["Reference"]
    assert box["fieldsByName"]["Sage Invoice ID"] == number
    assert comments(streak, key) == [
        f"{LABEL} sales invoice {number} created for {invoice['Customer_Bill_Name']}: "
        "399.60 USD. Converted from 370.00 EUR at 1.08 USD per EUR."
    ]


def test_a_eur_deal_without_a_rate_waits_for_review_then_one_invoice_once_the_rate_is_added(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair, streak
):
    pair, token = invoice_pair
    priced_in_eur(streak, "WHL-3039")  # WIDGET-118 x 11 @ 23.00
    key, run = shared.win_box(client, streak_sandbox, pair, token, "WHL-3039")
    run.refresh_from_db()
    assert (run.status, run.error_class) == (SyncRun.Status.FAILED, "NeedsReview")
    assert "No EUR → USD exchange rate" in run.error_message
    assert "Add the rate under Currency rates, then retry." in run.error_message
    assert not invoices_for(sage50desktop_sandbox, "WHL-3039")
    assert not streak.get("Box", key)["fieldsByName"]["Sage Invoice ID"]

    shared.eur_rate(pair)
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [invoice] = invoices_for(sage50desktop_sandbox, "WHL-3039")
    assert invoice["MainAmount"] == Decimal("273.24")  # 253.00 EUR at 1.08
    assert streak.get("Box", key)["fieldsByName"]["Sage Invoice ID"] == invoice["Reference"]


def test_a_european_organizations_eur_deal_makes_its_customer_and_invoice(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair
):
    pair, token = invoice_pair
    shared.eur_rate(pair)
    _, run = shared.win_box(client, streak_sandbox, pair, token, "WHL-3007")  # Van Dijk, NL
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [invoice] = invoices_for(sage50desktop_sandbox, "WHL-3007")
    assert invoice["MainAmount"] == Decimal("709.56")  # 657.00 EUR at 1.08


# ---------------------------------------------------------------- items Sage refuses


def test_an_unknown_item_stops_with_the_fix_and_the_fixed_lookup_invoices_it(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair, streak
):
    pair, token = invoice_pair
    key, run = shared.win_box(client, streak_sandbox, pair, token, "WHL-3008")
    run.refresh_from_db()
    [unknown] = [
        code for code, _, _ in shared.products(streak.get("Box", key))
        if code in CODES_UNKNOWN_TO_SAGE
    ]  # fmt: skip
    assert run.status == SyncRun.Status.FAILED
    assert run.error_message == (
        f"Item {unknown} is not in {LABEL}: add it to the product lookup table or create the "
        "item, then retry"
    )
    assert run.steps.get(name="items").status == "failed"
    assert not invoices_for(sage50desktop_sandbox, "WHL-3008")

    import_table(pair, {"name": PRODUCT_TO_SAGE50_ITEM, "entries": {unknown: "WIDGET-100"}})
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [invoice] = invoices_for(sage50desktop_sandbox, "WHL-3008")
    assert invoice["lines"][-1][0] == "WIDGET-100"  # the line Sage did not know, mapped


def test_an_inactive_item_is_refused_by_sage_naming_the_line_and_nothing_is_posted(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair, streak
):
    pair, token = invoice_pair
    inactive = INACTIVE_ITEM_CODES[0]
    box = streak.search("Box", **{"Deal ID": "WHL-3024"})[0]  # WIDGET-126 x 5 @ 74.00
    products = f"WIDGET-126 x 5 @ 74.00\n{inactive} x 2 @ 20.00"
    streak.update("Box", box["key"], {"Products": products, "Amount": "410.00"}, "inactive")
    [stock_before] = shared.sage50desktop_rows(
        sage50desktop_sandbox, "SELECT QuantityOnHand FROM LineItem WHERE ItemID = 'WIDGET-126'"
    )
    posted_before = journal_size(sage50desktop_sandbox)

    _, run = shared.win_box(client, streak_sandbox, pair, token, "WHL-3024")
    run.refresh_from_db()

    assert (run.status, run.error_class) == (SyncRun.Status.FAILED, "ValidationError")
    assert (
        run.error_message == f"Sage 50 refused the write: Line 2: Item ID '{inactive}' is inactive."
    )
    assert run.steps.get(name="sales_invoice").status == "failed"
    assert not invoices_for(sage50desktop_sandbox, "WHL-3024")
    assert journal_size(sage50desktop_sandbox) == posted_before
    assert shared.sage50desktop_rows(
        sage50desktop_sandbox, "SELECT QuantityOnHand FROM LineItem WHERE ItemID = 'WIDGET-126'"
    ) == [stock_before]  # no stock moved for the line Sage would have taken
