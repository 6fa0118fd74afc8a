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

Then what the paid invoices still owe: their open balance (summed) and aging (the latest of
them: Current, 1-30, 31-60, 61-90, Over 90 days past due) go to the deal fields labelled
"Sage Open Balance" and "Sage Aging", where the deal has them; an invoice still open past its
due date makes one follow-up task for the deal's owner (option `task_events`,
`payment_overdue`).

Invoices nobody pays are found by the unpaid-invoice scan (`scan_unpaid_invoices`, with each
poll of the flow): every invoice bound to a deal (entity `invoice`) becomes an event at most
once a day (its dedupe key names the invoice and the day), and its run asks the ERP for the
invoice's open item (`ErpRole.open_invoice`): past its due date with a balance left, the
deal gets the balance and aging and its owner the payment-overdue task, once per invoice
(the task's key names it, as a payment's does). An invoice not yet due, or paid, ends the
run with nothing to do, which the runs list does not keep.
"""

from decimal import Decimal
from typing import Any

from django.utils import timezone

from connectors.base import FieldInfo, WebhookEvent
from connectors.errors import Unsupported
from connectors.models import IntegrationPair
from connectors.records import AGING_LABELS, OpenInvoice
from connectors.registry import sent_about
from connectors.roles import PAYMENTS, WON_DEALS
from flows.base import NOTHING_TO_DO, Flow, Step, StepContext, Watch
from flows.intake import POLLED, IntakeResult, take_in
from flows.models import ExternalLink, FlowConfig
from flows.publishing import publish
from flows.steps.deal_links import SALES_ORDER, deal_of_order, tell_deal
from flows.steps.mapping import map_record
from flows.steps.tasks import default_options, overdue_task
from mappings.canonical import to_json

NAME = "payments_to_crm"
SENTENCE = (
    "Payment of {amount} {currency} received on {payment_date} (ref {reference}) "
    "for invoice {invoice_number}."
)


UNPAID = "unpaid"  # the entity key's prefix of an unpaid-invoice scan's run
UNPAID_KIND = "clarity.unpaid_invoice"


def scan_unpaid_invoices(pair: IntegrationPair) -> IntakeResult:
    """An event for each invoice bound to a deal of the pair, once a day: its run tells
    the deal what is still open and makes the overdue task."""
    today = timezone.localdate().isoformat()
    invoices = ExternalLink.objects.filter(pair=pair, entity="invoice").values_list(
        "sage_id", flat=True
    )
    events = [
        WebhookEvent(UNPAID_KIND, f"{UNPAID}:{number}", f"{UNPAID}:{number}:{today}")
        for number in invoices.order_by("sage_id")
    ]
    return take_in(pair, events, POLLED)


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """A polled payment that is a customer's, or an unpaid-invoice scan's invoice."""
    if event.kind == UNPAID_KIND:
        return True
    erp = sent_about(event.kind, PAYMENTS)
    return erp is not None and erp.is_customer_payment(event)


def read_payment(ctx: StepContext) -> dict[str, Any]:
    """The payment as Sage has it now, as a canonical Payment, and the invoices it paid
    (for a scan's run: no payment, its one invoice)."""
    kind, _, key = ctx.run.entity_key.partition(":")
    if kind == UNPAID:
        return {"payment": None, "invoices": [key], UNPAID: True}
    read = ctx.erp.read_payment(key)
    payment = map_record(ctx, "in", ctx.erp.names("Payment").mapping, "Payment", read.record)
    payment.setdefault("currency", ctx.pair.base_currency)  # Sage 100 keeps one currency
    publish(
        ctx.pair,
        "payment.received",
        to_json(payment) | {"invoices": read.invoices},
        ctx.run.entity_key,
        ctx.kept,
    )
    return {"payment": to_json(payment), "invoices": read.invoices}


def find_deal(ctx: StepContext) -> dict[str, Any]:
    invoices = ctx.outputs["read_payment"]["invoices"]
    link = ExternalLink.objects.filter(pair=ctx.pair, entity="invoice", sage_id__in=invoices)
    deal = link.values_list("crm_id", flat=True).first() or ""
    if not deal and invoices and not ctx.outputs["read_payment"].get(UNPAID):
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
    if ctx.outputs["read_payment"].get(UNPAID):
        return {"skipped": "no payment: an unpaid-invoice scan"}
    payment = ctx.outputs["read_payment"]["payment"]
    if ctx.crm.note_entity:
        note = map_record(ctx, "out", "Payment", ctx.crm.note_entity, payment)
        message = note["message"]
    else:
        message = SENTENCE.format_map({"invoice_number": "", "reference": "", **payment})
    tell_deal(ctx, deal, message)
    ctx.set_summary(f"Payment of {payment['amount']} {payment['currency']} told on the deal.")
    return {"note": message, "references": {"deal": deal}}


BALANCE_LABEL = "Sage Open Balance"
AGING_LABEL = "Sage Aging"
NUMERIC_TYPES = {"number", "currency", "double", "integer", "int", "percent"}


def tell_balance(ctx: StepContext) -> dict[str, Any]:
    """The paid invoices' open balance and aging on the deal, and a task per invoice still
    open past its due date."""
    deal = ctx.outputs["find_deal"]["deal"]
    if not deal:
        return {"skipped": "no deal"}
    try:
        invoices = open_invoices(ctx, ctx.outputs["read_payment"]["invoices"])
    except Unsupported as error:
        return {"skipped": str(error)}
    unpaid = bool(ctx.outputs["read_payment"].get(UNPAID))
    today = timezone.localdate()
    if unpaid and not any(
        invoice.days_overdue(today) > 0 < invoice.balance for invoice in invoices
    ):
        return {NOTHING_TO_DO: "the invoice is not overdue, or is paid"}
    if not invoices:
        return {"skipped": "no open item in Sage for the invoices it paid"}
    currency = invoices[0].currency or ctx.pair.base_currency
    balance = sum((invoice.balance for invoice in invoices), Decimal(0))
    owing = [invoice for invoice in invoices if invoice.balance > 0]
    latest = max(owing, key=lambda invoice: invoice.days_overdue(today), default=None)
    aging = latest.aging(today) if latest else AGING_LABELS[0]
    values, missing = deal_values(ctx, {BALANCE_LABEL: balance, AGING_LABEL: aging})
    if values:
        ctx.crm.write_deal(deal, values, ctx.idempotency_key("tell_balance"))
    tasks = [
        overdue_task(ctx, invoice, currency, deal, paid=not unpaid)
        for invoice in owing
        if invoice.days_overdue(today) > 0
    ]
    payment = ctx.outputs["read_payment"]["payment"]
    told = (
        f"Invoice {invoices[0].number} is overdue"
        if unpaid
        else f"Payment of {payment['amount']} {payment['currency']} told on the deal"
    )
    summary = f"{told}; {balance:,.2f} {currency} still open ({aging})"
    if missing:
        summary += f"; the deal has no field labelled {' or '.join(missing)}"
    ctx.set_summary(f"{summary}.")
    return {
        "open_balance": str(balance),
        "currency": currency,
        "aging": aging,
        "written": sorted(values),
        "missing": missing,
        "tasks": [task for task in tasks if task],
    }


def open_invoices(ctx: StepContext, numbers: list[str]) -> list[OpenInvoice]:
    """The paid invoices Sage still keeps an open item for."""
    opened = [ctx.erp.open_invoice(number) for number in numbers]
    return [invoice for invoice in opened if invoice is not None]


def deal_values(ctx: StepContext, by_label: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`by_label`'s values under the CRM's names for the deal fields with those labels (a
    number for a numeric field, text otherwise), and the labels no deal field has."""
    fields: dict[str, FieldInfo] = {
        info.label: info
        for info in ctx.crm.schema(ctx.crm.deal_entity)  # type: ignore[attr-defined]
    }
    values: dict[str, Any] = {}
    for label, value in by_label.items():
        info = fields.get(label)
        if info is None:
            continue
        if isinstance(value, Decimal):
            value = float(value) if info.type in NUMERIC_TYPES else f"{value:.2f}"
        values[info.name] = value
    return values, [label for label in by_label if label not in fields]


payments_to_crm = Flow(
    name=NAME,
    label="Payments → CRM",
    description="Customer payments in Sage told on the deal they paid for.",
    steps=(
        Step("read_payment", read_payment, "Re-read the payment from Sage"),
        Step("find_deal", find_deal, "Find the deal it paid for"),
        Step("tell_crm", tell_crm, "Tell the deal"),
        Step("tell_balance", tell_balance, "Write what is still open and its aging"),
    ),
    needs_crm=frozenset({WON_DEALS}),
    trigger="poll",
    default_options={"poll_interval": 60, **default_options(NAME)},
    accepts=accepts,
    watches=(Watch("erp", PAYMENTS),),
    after_poll=lambda config: scan_unpaid_invoices(config.pair),
)
