"""Read-only queries behind the sandbox's pages (what a Sage 100 user would look at)."""

from decimal import Decimal
from typing import Any

from sandbox.core.company import CompanyFile
from sandbox.sage100.rules import order_total, to_money

Record = dict[str, Any]
PAGE_SIZE = 200


class PageQueries(CompanyFile):
    def open_orders(self) -> list[Record]:
        return self.rows(
            "SELECT h.*, c.CustomerName, h.TaxableAmt + h.NonTaxableAmt + h.SalesTaxAmt "
            "+ h.FreightAmt - h.DiscountAmt AS OrderTotal FROM SO_SalesOrderHeader h "
            "JOIN AR_Customer c ON c.ARDivisionNo = h.ARDivisionNo AND c.CustomerNo = h.CustomerNo "
            "ORDER BY h.SalesOrderNo DESC"
        )

    def recent_history(self) -> list[Record]:
        return self.rows(
            "SELECT h.*, h.TaxableAmt + h.NonTaxableAmt + h.SalesTaxAmt + h.FreightAmt "
            "- h.DiscountAmt AS OrderTotal FROM SO_SalesOrderHistoryHeader h "
            "ORDER BY h.DateUpdated DESC, CAST(h.TimeUpdated AS REAL) DESC, h.SalesOrderNo DESC "
            "LIMIT 20"
        )

    def order(self, order_no: str) -> Record | None:
        for header, detail, where in (
            ("SO_SalesOrderHeader", "SO_SalesOrderDetail", "open"),
            ("SO_SalesOrderHistoryHeader", "SO_SalesOrderHistoryDetail", "history"),
        ):
            found = self.rows(f"SELECT * FROM {header} WHERE SalesOrderNo = ?", order_no)
            if found:
                lines = self.rows(
                    f"SELECT * FROM {detail} WHERE SalesOrderNo = ? ORDER BY LineKey", order_no
                )
                order = found[0]
                order["OrderTotal"] = (
                    order["TaxableAmt"] + order["NonTaxableAmt"] + order["SalesTaxAmt"]
                    + order["FreightAmt"] - order["DiscountAmt"]
                )  # fmt: skip
                return {**order, "lines": lines, "where": where}
        return None

    def customers(self, search: str = "") -> list[Record]:
        pattern = f"%{search}%"
        return self.rows(
            "SELECT * FROM AR_Customer WHERE ? = '' OR CustomerName LIKE ? OR CustomerNo LIKE ? "
            "OR EmailAddress LIKE ? ORDER BY ARDivisionNo, CustomerNo LIMIT ?",
            search, pattern, pattern, pattern, PAGE_SIZE,
        )  # fmt: skip

    def open_invoices(self) -> list[Record]:
        return self.rows(
            "SELECT i.*, c.CustomerName FROM AR_OpenInvoice i JOIN AR_Customer c "
            "ON c.ARDivisionNo = i.ARDivisionNo AND c.CustomerNo = i.CustomerNo "
            "WHERE i.Balance > 0 ORDER BY i.InvoiceDueDate"
        )

    def entered_invoices(self) -> list[Record]:
        """S/O invoices entered but not yet posted (SO_InvoiceHeader), newest first, each with
        its lines and total: what Clarity makes waits here until Sage's daily update posts it,
        so the open-invoice list does not show it yet."""
        invoices = self.rows(
            "SELECT i.*, c.CustomerName FROM SO_InvoiceHeader i LEFT JOIN AR_Customer c "
            "ON c.ARDivisionNo = i.ARDivisionNo AND c.CustomerNo = i.CustomerNo "
            "ORDER BY i.InvoiceNo DESC LIMIT ?",
            PAGE_SIZE,
        )
        for invoice in invoices:
            invoice["lines"] = self.rows(
                "SELECT * FROM SO_InvoiceDetail WHERE InvoiceNo = ? ORDER BY LineKey",
                invoice["InvoiceNo"],
            )
            invoice["InvoiceTotal"] = invoice_total(invoice)
        return invoices

    def recent_receipts(self) -> list[Record]:
        return self.rows(
            "SELECT * FROM AR_CashReceiptsHistory "
            "ORDER BY DateCreated DESC, CAST(TimeCreated AS REAL) DESC, DepositNo DESC "
            "LIMIT 20"
        )

    def stock(self) -> list[Record]:
        return self.rows(
            "SELECT s.*, i.ItemCodeDesc, i.InactiveItem FROM IM_ItemWarehouse s "
            "JOIN CI_Item i ON i.ItemCode = s.ItemCode ORDER BY s.ItemCode, s.WarehouseCode"
        )

    def purchase_orders(self) -> list[Record]:
        """Purchase orders entered, newest first, each with its lines."""
        orders = self.rows("SELECT * FROM PO_PurchaseOrderHeader ORDER BY PurchaseOrderNo DESC")
        for order in orders:
            order["lines"] = self.rows(
                "SELECT * FROM PO_PurchaseOrderDetail WHERE PurchaseOrderNo = ? ORDER BY LineKey",
                order["PurchaseOrderNo"],
            )
        return orders

    def warehouses(self) -> list[Record]:
        return self.rows("SELECT * FROM IM_Warehouse ORDER BY WarehouseCode")

    def items(self) -> list[Record]:
        return self.rows("SELECT * FROM CI_Item ORDER BY ItemCode")

    def price_levels(self) -> list[Record]:
        """Price-level records of price codes and items; customers' own prices left out."""
        return self.rows(
            "SELECT * FROM IM_PriceCode WHERE PriceCodeRecord IN ('0', '1') "
            "ORDER BY PriceCodeRecord, PriceCode, ItemCode, CustomerPriceLevel"
        )


def invoice_total(invoice: Record) -> Decimal:
    """What the customer will owe once the invoice is posted: goods + tax + freight - discount,
    to the cent, as posting puts it in AR_OpenInvoice."""
    return to_money(
        order_total(
            {
                "TaxableAmt": invoice["TaxableSalesAmt"],
                "NonTaxableAmt": invoice["NonTaxableSalesAmt"],
                "SalesTaxAmt": invoice["SalesTaxAmt"],
                "FreightAmt": invoice["FreightAmt"],
                "DiscountAmt": invoice["DiscountAmt"],
            }
        )
    )
