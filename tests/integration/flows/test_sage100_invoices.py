"""Won Streak service deals (Services pipeline) → Sage 100 customer and S/O invoice, with no
sales order: the box delivered to our webhook, the run executed inline, the invoice read back
from the Sage 100 company over ODBC (SO_InvoiceHeader / SO_InvoiceDetail) and the box read
back from Streak. The order flow stays off: a pair makes one or the other."""

from decimal import Decimal

import pytest
from django.urls import reverse

from connectors.errors import ValidationError
from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig, SyncRun
from flows.registry import FLOWS
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.factories import IntegrationPairFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "deal_won_to_invoice"


@pytest.fixture
def services(streak_sandbox) -> Connection:
    return shared.streak_connection(streak_sandbox, streak_data.SERVICES)


@pytest.fixture
def invoice_pair(services, sage100) -> tuple[IntegrationPair, str]:
    return shared.make_pair("Streak Services Sage 100", services, sage100, FLOW)


@pytest.fixture
def streak(services):
    return connector_for(services)


@pytest.fixture
def sage(sage100):
    return connector_for(sage100)


def invoices_for(sage, deal_id: str) -> list[dict]:
    return sage.search("invoice", UDF_DEAL_ID=deal_id)


def test_a_won_service_deal_becomes_one_sage100_invoice_and_its_number_goes_on_the_box(
    client, streak_sandbox, invoice_pair, streak, sage
):
    pair, token = invoice_pair
    assert not FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order").enabled
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SRV-2023")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message

    [invoice] = invoices_for(sage, "SRV-2023")
    assert invoice["InvoiceType"] == "IN" and invoice["SalesOrderNo"] == ""
    lines = [(line["ItemCode"], line["QuantityShipped"], line["UnitPrice"], line["SalesAcctKey"])
             for line in invoice["lines"]]  # fmt: skip
    # SERV-INSTALL x 5 @ 450.00, SERV-SUPPORT x 2 @ 1200.00 on GL 4100: Service Revenue.
    assert lines == [
        ("SERV-INSTALL", Decimal(5), Decimal(450), "000000018"),
        ("SERV-SUPPORT", Decimal(2), Decimal(1200), "000000018"),
    ]
    assert invoice["NonTaxableSalesAmt"] == Decimal("4650.00")
    assert not shared.orders_for(sage, "SRV-2023")  # no sales order behind it
    number = invoice["InvoiceNo"]
    box = streak.get("Box", key)
    assert box["fieldsByName"]["Sage Invoice ID"] == number
    assert run.references["sage_invoice_number"] == number

    redelivered = shared.raw_box(streak_sandbox, key)
    assert shared.deliver_streak(client, pair, token, redelivered).status_code == 200
    again = SyncRun.objects.filter(pair=pair, entity_key=key).latest("pk")
    assert again.pk != run.pk and again.status == SyncRun.Status.SUCCEEDED, again.error_message
    assert again.steps.get(name="sales_invoice").output["how"].startswith("found")
    assert len(invoices_for(sage, "SRV-2023")) == 1


def test_a_deal_sage_invoiced_and_posted_is_found_in_history_not_invoiced_again(
    client, streak_sandbox, sage100_sandbox, invoice_pair, sage
):
    pair, token = invoice_pair
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SRV-2007")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [invoice] = invoices_for(sage, "SRV-2007")
    sage100_sandbox.app.backend.post_invoice(invoice["InvoiceNo"])  # Sage posts it
    assert not invoices_for(sage, "SRV-2007")
    [posted] = sage.search("invoice_history", UDF_DEAL_ID="SRV-2007")
    assert posted["InvoiceNo"] == invoice["InvoiceNo"]

    ExternalLink.objects.filter(pair=pair, entity="invoice").delete()  # binding lost: ask Sage
    shared.deliver_streak(client, pair, token, shared.raw_box(streak_sandbox, key))
    again = SyncRun.objects.filter(pair=pair, entity_key=key).latest("pk")
    assert again.status == SyncRun.Status.SUCCEEDED, again.error_message
    made = again.steps.get(name="sales_invoice").output
    assert made["how"].startswith("found") and made["invoice_number"] == posted["InvoiceNo"]
    assert len(sage.search("invoice_history", UDF_DEAL_ID="SRV-2007")) == 1
    assert not invoices_for(sage, "SRV-2007")
    # Posting opened its balance: the customer owes it now.
    [open_invoice] = sage.search("open_invoice", InvoiceNo=posted["InvoiceNo"])
    assert open_invoice["Balance"] == Decimal("2250.00")


def test_an_item_sage_does_not_have_is_refused_naming_the_item_code_and_nothing_is_written(
    sage100_sandbox, sage
):
    customer = next(row for row in sage.stream("customer") if row["CustomerStatus"] == "A")
    values = {
        "ARDivisionNo": customer["ARDivisionNo"],
        "CustomerNo": customer["CustomerNo"],
        "UDF_DEAL_ID": "SRV-9999",
        "lines": [
            {"ItemCode": "SERV-HOUR", "QuantityOrdered": 1},
            {"ItemCode": "SERV-NOPE", "QuantityOrdered": 1, "UnitPrice": 10},
        ],
    }
    with pytest.raises(ValidationError) as refused:
        sage.create("invoice", values, "unknown-item")
    assert "ItemCode" in refused.value.fields
    assert "SERV-NOPE is not on file" in refused.value.message
    assert not invoices_for(sage, "SRV-9999")


def test_an_unknown_item_on_a_won_deal_stops_the_run_before_sage(
    client, streak_sandbox, invoice_pair, sage
):
    pair, token = invoice_pair
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SRV-2008")  # has WIDGET-999
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert "WIDGET-999" in run.error_message
    assert run.steps.get(name="items").status == "failed"
    assert not invoices_for(sage, "SRV-2008")


def test_the_flows_page_offers_the_invoice_flow_for_sage100_and_refuses_it_beside_orders(
    client, users
):
    pair = IntegrationPairFactory(name="Streak → Sage 100 services")
    assert pair.erp.system == "sage100"
    client.force_login(users["admin"])
    page = client.get(reverse("pair-flows", args=[pair.slug])).content.decode()
    offered, _, unavailable = page.partition('id="flows-unavailable"')
    assert FLOWS[FLOW].label in offered and FLOWS[FLOW].label not in unavailable

    FlowConfig.objects.filter(pair=pair, flow="deal_won_to_sales_order").update(enabled=True)
    invoices = FlowConfig.objects.get(pair=pair, flow=FLOW)
    prefix = f"flow-{invoices.pk}"
    reply = client.post(
        reverse("pair-flows", args=[pair.slug]),
        {"config": invoices.pk, f"{prefix}-enabled": "on", f"{prefix}-trigger": "webhook",
         f"{prefix}-option_approval_threshold": "10000",
         f"{prefix}-option_unknown_item_policy": "flag", f"{prefix}-option_trigger_stage": ""},
    )  # fmt: skip
    assert reply.status_code == 400
    assert f"Turn off “{FLOWS['deal_won_to_sales_order'].label}” first" in reply.content.decode()
    invoices.refresh_from_db()
    assert not invoices.enabled
