"""Invoice after the order: once a won deal's sales order is in the ERP, the order is
invoiced there too (for a service sold and billed at once), the invoice number written to
the deal's invoice field and noted.

Only when the pair's option `invoice_after_order` is on (off by default), and only for an
ERP that invoices its sales orders (`ORDER_INVOICES`). The invoice is bound to the deal
(`ExternalLink` entity "invoice", as the invoice flow binds its own, so payments find the
deal), and the ERP answers a second create with the invoice it has for the order or deal,
so a retry, or a run after a lost reply, never invoices twice. Written against the roles.
"""

from typing import Any

from connectors.roles import ORDER_INVOICES
from flows.base import Step, StepContext
from flows.models import ExternalLink
from flows.steps import after_won_deal, first_try, write_key

OPTION = "invoice_after_order"
DEFAULT_OPTIONS = {OPTION: False}
ENTITY, STEP, ORDER_STEP = "invoice", "invoice_after_order", "sales_order"
# Why no invoice was made. Not `flows.base.NOTHING_TO_DO`: the run made the sales order.
NOT_INVOICED = "not_invoiced"


def invoice_after_order(ctx: StepContext) -> dict[str, Any]:
    """The sales order's invoice: bound before, else made (or found) now; its number on the
    deal and a note saying so."""
    if not ctx.option(OPTION):
        return {NOT_INVOICED: "invoicing after the order is off"}
    erp = ctx.erp
    if ORDER_INVOICES not in erp.capabilities:
        return {NOT_INVOICED: f"{erp.label} does not invoice sales orders"}
    order_no = ctx.outputs[ORDER_STEP]["sales_order_no"]
    deal = ctx.run.entity_key
    link = ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY, crm_id=deal).first()
    if link:
        number, how = link.sage_id, "bound before"
    else:
        made = erp.invoice_order(order_no, write_key(ctx, STEP, order_no))
        number = made.number
        how = "found (made by an earlier attempt)" if made.existed else "created"
        ExternalLink.objects.get_or_create(
            pair=ctx.pair, entity=ENTITY, crm_id=deal, defaults={"sage_id": number}
        )
    field = ctx.crm.document_fields.get(ENTITY, "")
    if field:
        ctx.crm.write_deal(deal, {field: number}, ctx.idempotency_key(f"{STEP}-field"))
    note = f"{erp.label} invoice {number} made from sales order {order_no}."
    ctx.crm.add_note(
        deal, note, ctx.idempotency_key(STEP), not (how == "created" and first_try(ctx, STEP))
    )
    ctx.label_run(document=f"SO {order_no}, invoice {number}")
    return {
        "invoice_number": number,
        "sales_order_no": order_no,
        "how": how,
        "field": field,
        "note": note,
        "references": {"sage_invoice_number": number},
    }


INVOICE_AFTER_ORDER: Step = after_won_deal(STEP, invoice_after_order, "Invoice the sales order")
