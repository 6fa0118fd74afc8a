"""The payments half of reconciliation (flows/reconciliation.py): what Sage says is still
open on a deal's invoice (`ErpRole.open_invoice`) beside what the CRM shows, the deal field
labelled "Sage Open Balance" the payments flow writes after each payment.

A deal whose CRM has no such field is not compared (there is nothing to set beside Sage's).
An empty field means no payment was told: it differs only when Sage's balance is below the
document's total, that is when a payment was made that never reached the CRM. A sales
order's invoice is taken to invoice the whole order, so an order invoiced in parts may show
a difference a person then marks reviewed.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import FieldInfo
from connectors.errors import NotFound, Unsupported
from connectors.records import DocumentSeen, OpenInvoice
from flows.usecases.payments_to_crm import BALANCE_LABEL, NUMERIC_TYPES

CENT = Decimal("0.01")


def balance_field(crm: Any) -> FieldInfo | None:
    """The CRM's deal field labelled BALANCE_LABEL, None when deals have none."""
    try:
        fields = crm.schema(crm.deal_entity)
    except Unsupported:
        return None
    return next((info for info in fields if info.label == BALANCE_LABEL), None)


def sage_balance(erp: Any, document: DocumentSeen, invoice_id: str) -> OpenInvoice | None:
    """The open item of the document's invoice (an invoice's own, by the id a receipt names
    it by; an order's, once invoiced), None when there is none to compare yet."""
    try:
        if document.kind == "invoice":
            return erp.open_invoice(invoice_id or document.number)
        invoice = erp.invoice_of_order(document.number)
        return erp.open_invoice(invoice) if invoice else None
    except (NotFound, Unsupported):
        return None


def crm_balance(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value).replace(",", "")).quantize(CENT)
    except InvalidOperation:
        return None


def payment_difference(
    open_item: OpenInvoice, document: DocumentSeen, in_crm: Any
) -> tuple[str, str] | None:
    """(expected, found) when the CRM's balance is not Sage's; None when they agree."""
    balance = open_item.balance.quantize(CENT)
    told = crm_balance(in_crm)
    if told is None:
        if balance >= document.total.quantize(CENT):
            return None  # nothing paid yet, nothing to tell
        return str(balance), "empty"
    if told == balance:
        return None
    return str(balance), str(told)


def crm_value(info: FieldInfo, balance: str) -> Any:
    """The balance as the field takes it: a number for a numeric field, else text."""
    return float(balance) if info.type in NUMERIC_TYPES else f"{Decimal(balance):.2f}"


def payment_compared(
    erp: Any, document: DocumentSeen, invoice_id: str, in_crm: Any
) -> tuple[str, str, str] | None:
    """(Sage's open balance, the CRM's, the currency) when they differ; None when they agree
    or there is nothing to compare yet."""
    open_item = sage_balance(erp, document, invoice_id)
    differs = open_item and payment_difference(open_item, document, in_crm)
    return (*differs, open_item.currency) if open_item and differs else None
