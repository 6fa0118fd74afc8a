"""Won deal → customer + sales invoice (a CRM that keeps the invoice number → an ERP that
takes invoices: Streak → Sage Accounting).

Like the sales order flow, ending in an invoice: each line tied to its product in Sage (an
unknown item handled by `unknown_item_policy`, as for orders), its ledger account from the deal's
GL Account Code or its product's category account, the customer's default tax rate, and the
deal's currency with the exchange rate to the base currency from the pair's rates (a deal
in a currency without a rate stops at mapping as `NeedsReview`; add the rate, then retry).

Never two invoices for one deal: before creating, the invoice is looked up by the deal's
binding, and by its reference (the deal ID) for that customer unless this is the step's first
try (the record's first run, first attempt, the step never started: no earlier try can have
made one, so the call is saved); the create carries the run's idempotency key (Sage's
`idempotency_id`), so a create retried after a lost reply returns the first invoice.
"""

from typing import Any

from connectors.records import DocumentMade
from connectors.roles import DEAL_STAGE, INVOICE_FIELD, INVOICES, WON_DEALS
from flows.anomaly.step import ANOMALY_CHECKS, anomaly_checks
from flows.anomaly.step import DEFAULT_OPTIONS as ANOMALY_OPTIONS
from flows.base import Flow, Step, StepContext, Watch
from flows.publishing import publish
from flows.steps import (
    CUSTOMER,
    ITEMS,
    MAP_DEAL,
    WON_DEAL_DOCUMENT,
    after_won_deal,
    bind,
    first_try,
    linked_sage_id,
    write_key,
)
from flows.steps.approval import approval_rule
from flows.steps.credit_check import CREDIT_CHECK
from flows.steps.crm import post_note, write_back
from flows.steps.customer import find_or_create_customer
from flows.steps.deal import accepts_won_deal, read_deal
from flows.steps.items import ledger_accounts, left_out, match_items
from flows.steps.mapping import map_deal, to_erp_with_warnings
from flows.steps.money import conversion_note, deal_rate, in_erp_currency
from flows.steps.rules import RULES, apply_rules
from flows.steps.tasks import default_options as task_options

ENTITY = "invoice"
STEP = "sales_invoice"


def create_invoice(ctx: StepContext) -> dict[str, Any]:
    document = ctx.outputs[MAP_DEAL]["document"]
    customer_ref = ctx.outputs[CUSTOMER]["customer_ref"]
    lines = ctx.outputs["ledger_accounts"]["lines"]
    canonical = document | {"customer_ref": customer_ref, "lines": lines}
    canonical, conversion = in_erp_currency(ctx, canonical, "sales invoice")
    invoice = existing_invoice(ctx, customer_ref, document)
    how = "found (made by an earlier attempt)"
    warnings: list[dict[str, Any]] = []
    if invoice is None:
        values, warnings = to_erp_with_warnings(ctx, "Invoice", canonical, "sales invoice")
        currency = str(canonical.get("currency") or "")
        rate = deal_rate(ctx, currency) if ctx.erp.multi_currency else None
        tax_rate = ctx.outputs[CUSTOMER].get("tax_rate_id") or ""
        key = write_key(ctx, ENTITY, values)
        invoice = ctx.erp.create_invoice(values, canonical["lines"], tax_rate, rate, key)
        how = "created"
    bind(ctx, ENTITY, ctx.run.entity_key, invoice.id)
    ctx.label_run(document=invoice.number)
    publish(
        ctx.pair,
        "invoice.created",
        {
            "crm_id": ctx.run.entity_key,
            "invoice_id": invoice.id,
            "invoice_number": invoice.number,
            "customer_ref": customer_ref,
            "total": invoice.total,
            "currency": canonical.get("currency"),
        },
        invoice.id,
        ctx.kept,
    )
    return {
        "invoice_id": invoice.id,
        "invoice_number": invoice.number,
        "total": invoice.total or canonical.get("total"),
        "currency": canonical.get("currency"),
        "conversion": conversion,
        "how": how,
        "references": {"sage_invoice_id": invoice.id, "sage_invoice_number": invoice.number},
        **({"warnings": warnings} if warnings else {}),
    }


def existing_invoice(
    ctx: StepContext, customer_ref: str, document: dict[str, Any]
) -> DocumentMade | None:
    """The invoice an earlier try made for the deal, if one may have: by the deal's binding,
    else by its reference for the customer (not on the step's first try: see above)."""
    linked = linked_sage_id(ctx, ENTITY, ctx.run.entity_key)
    if linked:
        return ctx.erp.get_invoice(linked)
    if first_try(ctx, STEP):
        return None
    reference = document.get("po_number") or document["crm_deal_id"]
    return ctx.erp.find_invoice(customer_ref, reference)


def invoice_note(ctx: StepContext) -> tuple[str, str]:
    invoice = ctx.outputs[STEP]
    document = ctx.outputs[MAP_DEAL]["document"]
    customer = ctx.outputs[CUSTOMER]
    note = (
        f"{ctx.erp.label} sales invoice {invoice['invoice_number']} created for "
        f"{customer['name']}: {invoice.get('total') or document.get('total')} "
        f"{invoice.get('currency') or document.get('currency')}."
    )
    return invoice["invoice_number"], note + conversion_note(
        invoice.get("conversion") or {}
    ) + left_out(ctx)


deal_won_to_invoice = Flow(
    name="deal_won_to_invoice",
    label="Won deal → Sage customer and sales invoice",
    description=(
        "When a deal reaches the trigger stage, find or create the customer in Sage, create "
        "the sales invoice with ledger accounts, tax and currency, and write the invoice "
        "number back to the deal."
    ),
    steps=(
        Step("read_deal", read_deal, "Re-read the deal from the CRM"),
        after_won_deal(MAP_DEAL, map_deal("Invoice"), "Map and validate"),
        after_won_deal(RULES, apply_rules, "Business rules"),
        after_won_deal("approval", approval_rule, "Approval rule"),
        after_won_deal(ANOMALY_CHECKS, anomaly_checks, "Check for anything unusual"),
        after_won_deal(CUSTOMER, find_or_create_customer, "Find or create the customer"),
        CREDIT_CHECK,
        after_won_deal(ITEMS, match_items, "Match items"),
        after_won_deal("ledger_accounts", ledger_accounts, "Ledger accounts"),
        after_won_deal(STEP, create_invoice, "Create the sales invoice"),
        after_won_deal(
            "write_back", write_back(ENTITY, invoice_note), "Write the invoice number back"
        ),
        after_won_deal("note", post_note(STEP), "Add a note to the deal"),
    ),
    needs_crm=frozenset({WON_DEALS, INVOICE_FIELD}),
    needs_erp=frozenset({INVOICES}),
    trigger="webhook",
    default_options={
        "trigger_stage": "",  # empty: the CRM's won stage (Streak "Closed-Won", …)
        "approval_threshold": 10000,
        "unknown_item_policy": "flag",  # flag, skip_line or create
        **ANOMALY_OPTIONS,
        **task_options("deal_won_to_invoice"),
    },
    accepts=accepts_won_deal,
    watches=(Watch("crm", DEAL_STAGE),),
    choice=WON_DEAL_DOCUMENT,
)
