"""Payments → CRM: a customer's payment in Sage told on the deal it paid for.

Polled feeds: the ERP's payment feeds (Sage 100 cash receipts, AR_CashReceiptsHistory; Sage
Accounting customer receipts, contact_payments). The run re-reads the payment, maps it to a
canonical Payment (mappings "Sage 100 cash receipt → payment" / "Sage customer receipt →
payment") and finds the deal it paid for: a link (entity `invoice`, recorded by the won-deal
invoice flow) to one of the invoices it pays, else the sales order the invoice invoiced (its
link, or the deal ID on the order).

The deal gets a note, worded by the pair's mapping "… payment → <CRM note>" where the CRM
has one (Streak comments), else by a plain sentence. A payment for no deal we know (a sale
keyed into Sage by hand) ends the run with a summary saying so; the run still succeeds.
"""

from typing import Any

from connectors.base import WebhookEvent
from connectors.registry import sent_about
from connectors.roles import PAYMENTS, WON_DEALS
from flows.base import Flow, Step, StepContext, Watch
from flows.models import ExternalLink, FlowConfig
from flows.publishing import publish
from flows.steps.deal_links import SALES_ORDER, deal_of_order, tell_deal
from flows.steps.mapping import map_record
from mappings.canonical import to_json

NAME = "payments_to_crm"
SENTENCE = (
    "Payment of {amount} {currency} received on {payment_date} (ref {reference}) "
    "for invoice {invoice_number}."
)


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """A polled payment that is a customer's."""
    erp = sent_about(event.kind, PAYMENTS)
    return erp is not None and erp.is_customer_payment(event)


def read_payment(ctx: StepContext) -> dict[str, Any]:
    """The payment as Sage has it now, as a canonical Payment, and the invoices it paid."""
    key = ctx.run.entity_key.partition(":")[2]
    read = ctx.erp.read_payment(key)
    payment = map_record(ctx, "in", ctx.erp.names("Payment").mapping, "Payment", read.record)
    payment.setdefault("currency", ctx.pair.base_currency)  # Sage 100 keeps one currency
    publish(
        ctx.pair,
        "payment.received",
        to_json(payment) | {"invoices": read.invoices},
        ctx.run.entity_key,
    )
    return {"payment": to_json(payment), "invoices": read.invoices}


def find_deal(ctx: StepContext) -> dict[str, Any]:
    invoices = ctx.outputs["read_payment"]["invoices"]
    link = ExternalLink.objects.filter(pair=ctx.pair, entity="invoice", sage_id__in=invoices)
    deal = link.values_list("crm_id", flat=True).first() or ""
    if not deal and invoices:
        deal = deal_of_invoiced_order(ctx, invoices[0])
    if not deal:
        payment = ctx.outputs["read_payment"]["payment"]
        ctx.set_summary(
            f"Payment of {payment['amount']} for invoice {payment.get('invoice_number', '')} "
            "is for no deal we know: nothing written."
        )
    return {"deal": deal}


def deal_of_invoiced_order(ctx: StepContext, invoice_no: str) -> str:
    order_no = ctx.erp.order_of_invoice(invoice_no)
    if not order_no:
        return ""
    linked = ExternalLink.objects.filter(pair=ctx.pair, entity=SALES_ORDER, sage_id=order_no)
    if linked.exists():
        return linked.values_list("crm_id", flat=True).first()
    return deal_of_order(ctx, order_no, ctx.erp.read_order(order_no).deal_reference)


def tell_crm(ctx: StepContext) -> dict[str, Any]:
    deal = ctx.outputs["find_deal"]["deal"]
    if not deal:
        return {"skipped": "no deal"}
    payment = ctx.outputs["read_payment"]["payment"]
    if ctx.crm.note_entity:
        note = map_record(ctx, "out", "Payment", ctx.crm.note_entity, payment)
        message = note["message"]
    else:
        message = SENTENCE.format_map({"invoice_number": "", "reference": "", **payment})
    tell_deal(ctx, deal, message)
    ctx.set_summary(f"Payment of {payment['amount']} {payment['currency']} told on the deal.")
    return {"note": message, "references": {"deal": deal}}


payments_to_crm = Flow(
    name=NAME,
    label="Payments → CRM",
    description="Customer payments in Sage told on the deal they paid for.",
    steps=(
        Step("read_payment", read_payment, "Re-read the payment from Sage"),
        Step("find_deal", find_deal, "Find the deal it paid for"),
        Step("tell_crm", tell_crm, "Tell the deal"),
    ),
    needs_crm=frozenset({WON_DEALS}),
    trigger="poll",
    default_options={"poll_interval": 60},
    accepts=accepts,
    watches=(Watch("erp", PAYMENTS),),
)
