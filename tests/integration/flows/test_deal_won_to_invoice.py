"""Won Streak deals → Sage Accounting customer and sales invoice, end to end against the
Streak and Sage Accounting sandboxes, with ledger accounts, tax and currency."""

from decimal import Decimal

import pytest

from connectors.services import connector_for
from flows.models import FlowConfig, SyncRun
from flows.services import retry_run
from mappings.defaults.base import GL_TO_LEDGER
from mappings.models import LookupEntry
from sandbox.catalogue import CODES_UNKNOWN_TO_SAGE
from sandbox.sage_accounting.data import ledger_account_id
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def sage50_pair(streak_sandbox, sage_accounting_sandbox):
    crm = shared.streak_connection(streak_sandbox, streak_data.SERVICES)
    erp = shared.sage50_connection(sage_accounting_sandbox)
    return shared.make_pair("Streak Sage 50", crm, erp, "deal_won_to_invoice")


@pytest.fixture
def streak(sage50_pair):
    return connector_for(sage50_pair[0].crm)


@pytest.fixture
def sage(sage50_pair):
    return connector_for(sage50_pair[0].erp)


def test_a_won_services_deal_becomes_an_invoice_with_ledger_accounts_and_its_number_on_the_box(
    client, streak_sandbox, sage50_pair, streak, sage
):
    pair, token = sage50_pair
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SRV-2001")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    invoice = sage.get("sales_invoices", run.references["sage_invoice_id"])
    box = streak.get("Box", key)
    assert box["fieldsByName"]["Sage Invoice ID"] == invoice["invoice_number"]
    assert invoice["reference"] == "SRV-2001"
    assert Decimal(invoice["net_amount"]) == Decimal("3373.90")
    # GL 4100 is not in Sage's chart: each line takes its product category's sales account.
    assert [(line["description"], line["ledger_account"]["id"])
            for line in invoice["invoice_lines"]] == [
        ("SERV-HOUR", ledger_account_id(4010)), ("KIT-301", ledger_account_id(4020))
    ]  # fmt: skip
    assert not LookupEntry.objects.filter(table__pair=pair, table__name=GL_TO_LEDGER).exists()
    products = {p["item_code"]: p["id"] for p in sage.search("products")}
    assert [line["product"]["id"] for line in invoice["invoice_lines"]] == [
        products["SERV-HOUR"],
        products["KIT-301"],
    ]  # each line tied to its product in Sage
    organization = streak.get("Organization", box["organizations"][0]["key"])
    assert invoice["contact"]["displayed_as"].startswith(organization["name"])
    comments = [c["message"] for c in streak.search("Comment", box_key=key)]
    assert any(
        f"Sage Accounting sales invoice {invoice['invoice_number']} created" in c for c in comments
    )
    shared.deliver_streak(client, pair, token, shared.raw_box(streak_sandbox, key), "BOX_EDIT")
    assert len(sage.search("sales_invoices", reference="SRV-2001")) == 1


def test_a_eur_deal_without_a_rate_is_held_for_review_then_invoiced_once_the_rate_is_added(
    client, streak_sandbox, sage50_pair, streak, sage
):
    pair, token = sage50_pair
    box = streak.search("Box", **{"Deal ID": "SRV-2004"})[0]  # EUR, services
    streak.update("Box", box["key"], {"GL Account Code": "4000"}, "gl")  # a code Sage knows
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SRV-2004")
    run.refresh_from_db()
    assert (run.status, run.error_class) == (SyncRun.Status.FAILED, "NeedsReview")
    assert "No EUR → USD exchange rate" in run.error_message
    assert not sage.search("sales_invoices", reference="SRV-2004")
    shared.eur_rate(pair)
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [invoice] = sage.search("sales_invoices", reference="SRV-2004")
    assert invoice["currency"]["id"] == "EUR"
    assert Decimal(invoice["net_amount"]) == Decimal("5400.00")
    assert Decimal(invoice["base_currency_net_amount"]) == Decimal("5832.00")  # at 1.08
    # GL 4000 is in Sage's chart: the lookup table was filled from it.
    assert {line["ledger_account"]["id"] for line in invoice["invoice_lines"]} == {
        ledger_account_id(4000)
    }
    assert LookupEntry.objects.get(table__pair=pair, key="4000").value == ledger_account_id(4000)
    assert streak.get("Box", key)["fieldsByName"]["Sage Invoice ID"] == invoice["invoice_number"]


def test_an_unknown_item_stops_the_invoice_with_the_fix_whatever_the_gl_code(
    client, streak_sandbox, sage50_pair, streak, sage
):
    pair, token = sage50_pair
    box = streak.search("Box", **{"Deal ID": "SRV-2008"})[0]
    streak.update("Box", box["key"], {"GL Account Code": "4000"}, "gl")  # a code Sage knows
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SRV-2008")
    run.refresh_from_db()
    box = streak.get("Box", key)
    [unknown] = [code for code, _, _ in shared.products(box) if code in CODES_UNKNOWN_TO_SAGE]
    assert run.status == SyncRun.Status.FAILED
    assert run.error_message.startswith(f"Item {unknown} is not in Sage Accounting: add it")
    assert run.steps.get(name="items").status == "failed"
    assert not sage.search("sales_invoices", reference="SRV-2008")


def test_the_create_policy_makes_the_unknown_product_in_sage_and_invoices_it(
    client, streak_sandbox, sage50_pair, streak, sage
):
    pair, token = sage50_pair
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_invoice")
    config.options = {"unknown_item_policy": "create"}
    config.save()
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SRV-2008")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    box = streak.get("Box", key)
    [(unknown, _, price)] = [
        line for line in shared.products(box) if line[0] in CODES_UNKNOWN_TO_SAGE
    ]
    [product] = sage.search("products", item_code=unknown)
    assert Decimal(product["sales_prices"][0]["price"]) == price
    invoice = sage.get("sales_invoices", run.references["sage_invoice_id"])
    assert product["id"] in [line["product"]["id"] for line in invoice["invoice_lines"]]
    comments = [c["message"] for c in streak.search("Comment", box_key=key)]
    assert any(f"Created in Sage Accounting: {unknown}." in message for message in comments)
