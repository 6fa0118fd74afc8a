"""Sage 100 invoices in the ERP role: a won service deal invoiced straight away, with no sales
order behind it (S/O Invoice Data Entry, SO_Invoice_bus through the agent), and the ledger
accounts its lines post to.

An invoice is entered in SO_InvoiceHeader/SO_InvoiceDetail and moves to
AR_InvoiceHistoryHeader when Sage posts it (Daily Sales Reports/Update), keeping its
InvoiceNo and UDF_DEAL_ID; both are read over ODBC. The create names the deal in UDF_DEAL_ID,
so the agent answers with the invoice Sage already has for it instead of writing a second.

A line's ledger is its AccountKey: the deal's GL account code found in GL_Account (by
Account, e.g. 4100-00-00, or its main account code 4100), else the item's SalesAcctKey, which
Sage also uses when the line names none. Sage 100 keeps one currency per company.

A sales order is invoiced (`invoice_order`) the same way, the invoice naming the order in
SalesOrderNo, as S/O Invoice Data Entry does when an order is selected.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base import Record
from connectors.errors import ValidationError
from connectors.records import DocumentMade, DocumentSeen, OpenInvoice
from connectors.sage100.documents import INVOICE_NET_PARTS, net_total
from connectors.values import money

INVOICE_REFERENCE = "UDF_DEAL_ID"
INVOICE_TOTAL_PARTS = ("TaxableSalesAmt", "NonTaxableSalesAmt", "SalesTaxAmt", "FreightAmt")
# Where an invoice lives: entered, then posted (history keeps InvoiceNo and UDF_DEAL_ID).
INVOICE_TABLES = (("invoice", "entered"), ("invoice_history", "posted"))
ACTIVE = "A"  # GL_Account.Status of an account open for posting
# What an invoice of a sales order copies from it: the header's customer and references,
# each line's item, quantity and price (Sage's S/O Invoice Data Entry does the same).
ORDER_HEADER_COPIED = ("SalesOrderNo", "ARDivisionNo", "CustomerNo", "CustomerPONo",
                       INVOICE_REFERENCE, "FreightAmt")  # fmt: skip
ORDER_LINE_COPIED = ("ItemCode", "ItemCodeDesc", "WarehouseCode", "QuantityOrdered",
                     "UnitPrice", "LineDiscountPercent", "CommentText")  # fmt: skip


def as_date(value: Any) -> date:
    """A date column as the ODBC driver hands it: a date, a datetime or ISO text."""
    if isinstance(value, date):
        return value if type(value) is date else value.date()
    return date.fromisoformat(str(value)[:10])


def invoice_total(row: Record) -> Decimal:
    """An invoice header's total: taxable, non-taxable, tax and freight less discount."""
    parts = sum(money(row.get(part)) for part in INVOICE_TOTAL_PARTS)
    return money(parts - money(row.get("DiscountAmt")))


def invoice_made(row: Record, existed: bool) -> DocumentMade:
    number = str(row["InvoiceNo"]).strip()
    has_totals = any(row.get(part) is not None for part in INVOICE_TOTAL_PARTS)
    return DocumentMade(number, number, existed, str(invoice_total(row)) if has_totals else None)


class Sage100Invoices:
    """The invoice half of `Sage100Erp`, placed before `ErpRole` in its bases; `search`,
    `create`, `entity` and `reader` are the connector's."""

    search: Any
    create: Any
    entity: Any
    reader: Any

    def find_invoice(self, customer_ref: str, reference: str) -> DocumentMade | None:
        """The customer's invoice, entered or posted, naming the deal (UDF_DEAL_ID) or its
        PO number (CustomerPONo)."""
        division, _, customer_no = customer_ref.partition("-")
        for entity, _ in INVOICE_TABLES:
            for column in (INVOICE_REFERENCE, "CustomerPONo"):
                found = self.search(
                    entity, limit=1, ARDivisionNo=division, CustomerNo=customer_no,
                    **{column: reference},
                )  # fmt: skip
                if found:
                    return invoice_made(found[0], True)
        return None

    def get_invoice(self, invoice_id: str) -> DocumentMade:
        for entity, _ in INVOICE_TABLES:
            found = self.search(entity, limit=1, InvoiceNo=invoice_id)
            if found:
                return invoice_made(found[0], True)
        raise ValidationError(
            f"Sage 100 has no invoice {invoice_id}, entered or posted: it may have been "
            "deleted in Invoice Data Entry. Clear the deal's Sage invoice binding, then retry.",
            fields={"InvoiceNo": invoice_id},
        )

    def create_invoice(
        self,
        values: Record,
        lines: list[dict[str, Any]],
        tax_rate: str,
        rate_to_base: Decimal | None,
        idempotency_key: str,
    ) -> DocumentMade:
        """Each line's ledger (the flow's ledger step) as its SalesAcctKey; Sage applies the
        customer's tax schedule, so `tax_rate` is not sent."""
        if rate_to_base is not None:
            raise ValidationError(
                "Sage 100 keeps one currency: this invoice came with an exchange rate, but the "
                "deal must be converted to the company's currency before it reaches Sage.",
                fields={"currency": "not the company's currency"},
            )
        mapped_lines = []
        for line, source in zip(values.get("lines") or [], lines, strict=True):
            ledger = source.get("ledger_account_id") or self.ledger_account(
                str(source.get("gl_account") or "")
            )
            line = {**line, "SalesAcctKey": ledger or line.get("SalesAcctKey")}
            mapped_lines.append({k: v for k, v in line.items() if v not in ("", None)})
        invoice = self.create("invoice", {**values, "lines": mapped_lines}, idempotency_key)
        return invoice_made(invoice, bool(invoice.get("existed")))

    def invoice_order(self, number: str, idempotency_key: str) -> DocumentMade:
        """An S/O invoice of the sales order: its customer, deal (UDF_DEAL_ID), PO number
        and lines, each shipped in full, naming the order (SalesOrderNo). The invoice
        Sage has for the order already (entered or posted), or for the deal (the agent's
        match), comes back instead."""
        for entity, _ in INVOICE_TABLES:
            found = self.search(entity, limit=1, SalesOrderNo=number)
            if found:
                return invoice_made(found[0], True)
        order = self.get("sales_order", number)
        header = {column: order[column] for column in ORDER_HEADER_COPIED if order.get(column)}
        lines = [
            {
                column: line[column]
                for column in ORDER_LINE_COPIED
                if line.get(column) not in ("", None)
            }
            | {"QuantityShipped": line["QuantityOrdered"]}
            for line in order.get("lines") or []
        ]
        invoice = self.create("invoice", {**header, "lines": lines}, idempotency_key)
        return invoice_made(invoice, bool(invoice.get("existed")))

    def ledger_account(self, nominal_code: str) -> str:
        """The AccountKey of the one active account whose Account (4100-00-00) or main
        account code (4100) this is."""
        if not nominal_code:
            return ""
        for column in ("Account", "MainAccountCode"):
            found = self.search("gl_account", limit=2, Status=ACTIVE, **{column: nominal_code})
            if len(found) == 1:
                return found[0]["AccountKey"]
            if found:
                return ""
        return ""

    def product_ledger_account(self, sku: str) -> str:
        """The item's sales account (CI_Item.SalesAcctKey)."""
        found = self.search("item", limit=1, ItemCode=sku) if sku else []
        return (found[0].get("SalesAcctKey") or "") if found else ""

    def open_invoice(self, invoice: str) -> OpenInvoice | None:
        """AR_OpenInvoice's Balance and InvoiceDueDate for the invoice (type IN); None
        before Sage posts it or once the paid item is purged."""
        found = self.search("open_invoice", limit=1, InvoiceNo=invoice, InvoiceType="IN")
        if not found:
            return None
        row = found[0]
        customer = self.search(
            "customer", limit=1, ARDivisionNo=row["ARDivisionNo"], CustomerNo=row["CustomerNo"]
        )
        return OpenInvoice(
            number=str(row["InvoiceNo"]).strip(),
            due_date=as_date(row["InvoiceDueDate"]),
            balance=money(row["Balance"]),
            currency="",  # Sage 100 keeps one currency per company
            customer_name=customer[0]["CustomerName"] if customer else "",
        )

    def invoices_since(self, since: date) -> list[DocumentSeen]:
        """Invoices entered or posted on or after `since`, one per InvoiceNo; those that
        completed a sales order (SalesOrderNo set) are that order's sale, not listed again."""
        seen: dict[str, DocumentSeen] = {}
        for entity, where in INVOICE_TABLES:
            for row in self.invoice_rows(entity, since):
                number = str(row["InvoiceNo"]).strip()
                if str(row.get("SalesOrderNo") or "").strip():
                    continue
                seen.setdefault(
                    number,
                    DocumentSeen(
                        kind="invoice",
                        number=number,
                        deal_reference=str(row.get(INVOICE_REFERENCE) or "").strip(),
                        customer_ref=f"{row['ARDivisionNo']}-{row['CustomerNo']}",
                        total=invoice_total(row),
                        currency="",  # Sage 100 keeps one currency per company
                        made_on=as_date(row["InvoiceDate"]),
                        status=where,
                        net_total=net_total(row, INVOICE_NET_PARTS),
                    ),
                )
        return list(seen.values())

    def invoice_rows(self, entity: str, since: date) -> list[Record]:
        """Headers of an invoice table dated on or after `since`, read over ODBC."""
        columns = ["InvoiceNo", "InvoiceDate", "ARDivisionNo", "CustomerNo", "SalesOrderNo",
                   INVOICE_REFERENCE, "DiscountAmt", *INVOICE_TOTAL_PARTS]  # fmt: skip
        day = self.reader.dialect.date_literal(since)
        sql = self.reader.dialect.select(
            self.entity(entity).table, columns=columns, where=[f"InvoiceDate >= {day}"],
            order_by=["InvoiceNo"],
        )  # fmt: skip
        return list(self.reader.rows(sql))
