"""Payments → CRM: a customer's payment in Sage told on the deal it paid for.

Polled feeds: Sage 100 cash receipts (AR_CashReceiptsHistory) and Sage Accounting customer
receipts (contact_payments). The run re-reads the payment, maps it to a canonical Payment
(mappings "Sage 100 cash receipt → payment" / "Sage customer receipt → payment") and finds
the deal it paid for:
- Sage 100: the receipt's invoice → the sales order it invoiced (AR_InvoiceHistoryHeader) →
  the order's link (entity `sales_order`) or its UDF_DEAL_ID;
- Sage Accounting: a link (entity `invoice`, recorded by the won-deal invoice flow) to one of
  the invoices the payment is allocated to.
The deal gets a comment (Streak, worded by the mapping "… payment → Streak comment") or a
note in the opportunity's Description (Salesforce). A payment for no deal we know (a sale
keyed into Sage by hand) ends the run with a summary saying so; the run still succeeds.
Neither sandbox CRM has a paid-amount field, so none is written.
"""

from typing import Any

from connectors.base import WebhookEvent
from flows.base import Flow, Step, StepContext
from flows.events import publish
from flows.models import ExternalLink, FlowConfig
from flows.polling import Watch, watch
from flows.usecases.order_status_to_crm import (
    SALES_ORDER,
    deal_of_order,
    map_record,
    note_on_deal,
    remember_our_write,
)
from mappings.canonical import to_json

NAME = "payments_to_crm"
SAGE100_KIND, SAGE50_KIND = "sage100.cash_receipt", "sage50.contact_payment"
SOURCES = {  # erp system → (entity, entity key prefix, mapping source entity)
    "sage100": ("cash_receipt", "cash_receipt:", "AR_CashReceiptsHistory"),
    "sage50": ("contact_payments", "contact_payment:", "contact_payments"),
}
SENTENCE = (
    "Payment of {amount} {currency} received on {payment_date} (ref {reference}) "
    "for invoice {invoice_number}."
)


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """Sage 100 receipts, and Sage Accounting payments that are customer receipts."""
    if event.kind == SAGE100_KIND:
        return True
    kind = (event.payload.get("transaction_type") or {}).get("id")
    return event.kind == SAGE50_KIND and kind == "CUSTOMER_RECEIPT"


def read_payment(ctx: StepContext) -> dict[str, Any]:
    """The payment as Sage has it now, as a canonical Payment, and the invoices it paid."""
    erp = ctx.pair.erp.system
    entity, prefix, source = SOURCES[erp]
    record = ctx.erp.get(entity, ctx.run.entity_key.removeprefix(prefix))
    payment = map_record(ctx, "in", erp, source, "Payment", record)
    payment.setdefault("currency", ctx.pair.base_currency)  # Sage 100 keeps one currency
    if erp == "sage100":
        invoices = [record["InvoiceNo"]]
    else:
        invoices = [item["artefact"]["id"] for item in record.get("allocated_artefacts") or []]
    publish(
        ctx.pair, "payment.received", to_json(payment) | {"invoices": invoices}, ctx.run.entity_key
    )
    return {"payment": to_json(payment), "invoices": invoices}


def find_deal(ctx: StepContext) -> dict[str, Any]:
    invoices = ctx.outputs["read_payment"]["invoices"]
    link = ExternalLink.objects.filter(pair=ctx.pair, entity="invoice", sage_id__in=invoices)
    deal = link.values_list("crm_id", flat=True).first() or ""
    if not deal and ctx.pair.erp.system == "sage100":
        deal = deal_of_sage100_invoice(ctx, invoices[0])
    if not deal:
        payment = ctx.outputs["read_payment"]["payment"]
        ctx.set_summary(
            f"Payment of {payment['amount']} for invoice {payment.get('invoice_number', '')} "
            "is for no deal we know: nothing written."
        )
    return {"deal": deal}


def deal_of_sage100_invoice(ctx: StepContext, invoice_no: str) -> str:
    invoiced = ctx.erp.search("invoice_history", InvoiceNo=invoice_no)
    order_no = invoiced[0]["SalesOrderNo"] if invoiced else ""
    if not order_no:
        return ""
    linked = ExternalLink.objects.filter(pair=ctx.pair, entity=SALES_ORDER, sage_id=order_no)
    if linked.exists():
        return linked.values_list("crm_id", flat=True).first()
    return deal_of_order(ctx, order_no, ctx.erp.get(SALES_ORDER, order_no).get("UDF_DEAL_ID"))


def tell_crm(ctx: StepContext) -> dict[str, Any]:
    deal = ctx.outputs["find_deal"]["deal"]
    if not deal:
        return {"skipped": "no deal"}
    payment = ctx.outputs["read_payment"]["payment"]
    if ctx.pair.crm.system == "streak":
        message = map_record(ctx, "out", "streak", "Payment", "Comment", payment)["message"]
    else:
        message = SENTENCE.format_map({"invoice_number": "", "reference": "", **payment})
    note_on_deal(ctx, deal, message)
    remember_our_write(ctx, deal)
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
    combinations=frozenset(
        {("streak", "sage100"), ("salesforce", "sage100"), ("streak", "sage50")}
    ),
    trigger="poll",
    default_options={"poll_interval": 60},
    accepts=accepts,
)

watch(
    NAME,
    Watch("erp", "sage100", "cash_receipt", SAGE100_KIND),
    Watch("erp", "sage50", "contact_payments", SAGE50_KIND, record="contact_payment"),
)
