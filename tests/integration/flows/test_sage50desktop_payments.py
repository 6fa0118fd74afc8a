"""Payments → CRM with Sage 50 US desktop, end to end: a deal won in Streak's Wholesale pipeline
is invoiced in Sage 50 by the won-deal flow, the bookkeeper records the customer's payment on
the Sage 50 sandbox's Receipts page, and the next poll of Sage 50's cash receipts tells the
deal in a Streak comment."""

from datetime import date
from decimal import Decimal

import pytest
import requests

from connectors.services import connector_for
from flows.models import FlowConfig, SyncRun
from sandbox.sage50desktop.ledger import SALES_JOURNAL
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.integration.flows.polling import comments_on, poll_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "payments_to_crm"


def record_payment(sandbox, invoice: str, amount: str, check_no: str) -> None:
    """Receipts: apply a check to the open invoice, as the bookkeeper does in Sage 50."""
    reply = requests.post(
        f"{sandbox.url}/receipts",
        data={"InvoiceNumber": invoice, "Amount": amount, "Reference": check_no,
              "PaymentMethod": "Check", "Date": date.today().isoformat()},
        timeout=10,
    )  # fmt: skip
    assert "flash=" in reply.url, reply.url  # the page said it was recorded


def test_a_payment_recorded_in_sage50_for_the_flows_invoice_is_a_comment_on_the_deal(
    client, streak_sandbox, sage50desktop_sandbox, sage50desktop
):
    crm = shared.streak_connection(streak_sandbox, streak_data.WHOLESALE)
    pair, token = shared.make_pair("Wholesale Sage 50", crm, sage50desktop, "deal_won_to_invoice")
    FlowConfig.objects.filter(pair=pair, flow=FLOW).update(
        enabled=True, trigger=FlowConfig.Trigger.POLL
    )
    key, won = shared.win_box(client, streak_sandbox, pair, token, "WHL-3036")
    won.refresh_from_db()
    assert won.status == SyncRun.Status.SUCCEEDED, won.error_message
    [invoice] = shared.sage50desktop_documents(sage50desktop_sandbox, SALES_JOURNAL, "WHL-3036")
    number = invoice["Reference"]
    assert poll_now(pair, FLOW).runs == 0  # no receipt yet

    record_payment(sage50desktop_sandbox, number, "250.00", "CHK-5521")
    polled = poll_now(pair, FLOW)

    assert polled.runs == 1
    run = SyncRun.objects.get(pair=pair, flow_config__flow=FLOW)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.references == {"deal": key}
    streak = connector_for(crm)
    told = [m for m in comments_on(crm, key) if m.startswith("Payment")]
    assert told == [
        f"Payment of 250.00 USD received on {date.today().isoformat()} (ref CHK-5521) for "
        f"invoice {number}."
    ]
    assert streak.get("Box", key)["fieldsByName"]["Sage Invoice ID"] == number
    [paid] = shared.sage50desktop_rows(
        sage50desktop_sandbox, "SELECT AmountPaid FROM JrnlHdr WHERE PostOrder = ?",
        invoice["PostOrder"],
    )  # fmt: skip
    assert Decimal(paid["AmountPaid"]) == Decimal("250.00")  # applied to the invoice
    assert poll_now(pair, FLOW).runs == 0  # told once
