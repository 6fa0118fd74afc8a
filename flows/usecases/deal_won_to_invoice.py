"""Won deal → Sage Accounting customer + sales invoice (Streak → Sage 50).

Like the sales order flow, ending in an invoice: each line's ledger account from the deal's
GL Account Code or its product's category account, the customer's default tax rate, and the
deal's currency with the exchange rate to the base currency from the pair's rates (a deal
in a currency without a rate stops at mapping as `NeedsReview`; add the rate, then retry).

Never two invoices for one deal: before creating, the invoice is looked up by the deal's
binding and by its `reference` (the deal ID) for that customer; the create carries the run's
idempotency key as Sage's `idempotency_id`. That look-up is made on every run, first tries
included: Sage Accounting has no conditional create, so it is the only guard against an
invoice for the deal that this run's history does not know of.
"""

from decimal import Decimal
from typing import Any

from flows.base import Flow, Step, StepContext
from flows.events import publish
from flows.models import ExternalLink
from flows.steps import CUSTOMER, MAP_DEAL, after_won_deal, write_key
from flows.steps.approval import approval_rule
from flows.steps.crm import post_note, write_back
from flows.steps.customer import find_or_create_customer
from flows.steps.deal import accepts_won_deal, read_deal
from flows.steps.items import ledger_accounts
from flows.steps.mapping import NeedsReview, apply, check, erp_schema, map_deal
from mappings.lookups import PairEnvironment

ENTITY = "invoice"


def create_invoice(ctx: StepContext) -> dict[str, Any]:
    document = ctx.outputs[MAP_DEAL]["document"]
    customer_ref = ctx.outputs[CUSTOMER]["customer_ref"]
    invoice = existing_invoice(ctx, customer_ref, document)
    how = "found (made by an earlier attempt)"
    if invoice is None:
        lines = ctx.outputs["ledger_accounts"]["lines"]
        canonical = document | {"customer_ref": customer_ref, "lines": lines}
        made, spec = apply(
            ctx, "out", "sage50", "Invoice", "sales_invoices", canonical,
            erp_schema(ctx, "sales_invoices"),
        )  # fmt: skip
        check(ctx, made, spec, "Sage sales invoice", in_crm=False)
        values = made.output | exchange_rate(ctx, document)
        tax_rate_id = ctx.outputs[CUSTOMER].get("tax_rate_id")
        for line, source in zip(values["invoice_lines"], lines, strict=True):
            if tax_rate_id:
                line.setdefault("tax_rate_id", tax_rate_id)
            if source.get("ledger_account_id"):
                line["ledger_account_id"] = source["ledger_account_id"]
        invoice = ctx.erp.create("sales_invoices", values, write_key(ctx, ENTITY, values))
        how = "created"
    number = invoice.get("invoice_number") or invoice["id"]
    ExternalLink.objects.get_or_create(
        pair=ctx.pair, entity=ENTITY, crm_id=ctx.run.entity_key, defaults={"sage_id": invoice["id"]}
    )
    publish(
        ctx.pair,
        "invoice.created",
        {
            "crm_id": ctx.run.entity_key,
            "invoice_id": invoice["id"],
            "invoice_number": number,
            "customer_ref": customer_ref,
            "total": invoice.get("total_amount"),
            "currency": document.get("currency"),
        },
        invoice["id"],
    )
    return {
        "invoice_id": invoice["id"],
        "invoice_number": number,
        "total": invoice.get("total_amount"),
        "how": how,
        "references": {"sage_invoice_id": invoice["id"], "sage_invoice_number": number},
    }


def existing_invoice(
    ctx: StepContext, customer_ref: str, document: dict[str, Any]
) -> dict[str, Any] | None:
    link = ExternalLink.objects.filter(
        pair=ctx.pair, entity=ENTITY, crm_id=ctx.run.entity_key
    ).first()
    if link:
        return ctx.erp.get("sales_invoices", link.sage_id)
    reference = document.get("po_number") or document["crm_deal_id"]
    found = ctx.erp.search("sales_invoices", contact_id=customer_ref, reference=reference)
    return found[0] if found else None


def exchange_rate(ctx: StepContext, document: dict[str, Any]) -> dict[str, str]:
    """Sage's exchange_rate (units of the invoice currency per base unit) from our rates."""
    currency, base = (document.get("currency") or "").upper(), ctx.pair.base_currency
    if not currency or currency == base:
        return {}
    rate = PairEnvironment(ctx.pair).rate(currency, base)
    if not rate:
        raise NeedsReview(
            f"No {currency} → {base} exchange rate: add it under Currency rates, then retry.",
            fields={"currency": currency},
        )
    return {"exchange_rate": str((Decimal(1) / rate).quantize(Decimal("0.000001")))}


def invoice_note(ctx: StepContext) -> tuple[str, str]:
    invoice = ctx.outputs["sales_invoice"]
    document = ctx.outputs[MAP_DEAL]["document"]
    customer = ctx.outputs[CUSTOMER]
    note = (
        f"Sage sales invoice {invoice['invoice_number']} created for {customer['name']}: "
        f"{invoice.get('total') or document.get('total')} {document.get('currency')}."
    )
    return invoice["invoice_number"], note


deal_won_to_invoice = Flow(
    name="deal_won_to_invoice",
    label="Won deal → Sage customer and sales invoice",
    description=(
        "When a deal reaches the trigger stage, find or create the customer in Sage "
        "Accounting, create the sales invoice with ledger accounts, tax and currency, and "
        "write the invoice number back to the deal."
    ),
    steps=(
        Step("read_deal", read_deal, "Re-read the deal from the CRM"),
        after_won_deal(MAP_DEAL, map_deal("Invoice"), "Map and validate"),
        after_won_deal("approval", approval_rule, "Approval rule"),
        after_won_deal(CUSTOMER, find_or_create_customer, "Find or create the customer"),
        after_won_deal("ledger_accounts", ledger_accounts, "Ledger accounts"),
        after_won_deal("sales_invoice", create_invoice, "Create the sales invoice"),
        after_won_deal(
            "write_back",
            write_back("Sage Invoice ID", "Sage_Invoice_ID__c", invoice_note),
            "Write the invoice number back",
        ),
        after_won_deal("note", post_note("sales_invoice"), "Add a note to the deal"),
    ),
    combinations=frozenset({("streak", "sage50")}),
    trigger="webhook",
    default_options={
        "trigger_stage": "",  # empty: Streak "Closed-Won"
        "approval_threshold": 10000,
    },
    accepts=accepts_won_deal,
)
