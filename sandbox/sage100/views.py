"""Read-only queries behind the sandbox's pages (what a Sage 100 user would look at)."""

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

Record = dict[str, Any]
PAGE_SIZE = 200


class PageQueries:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def _all(self, sql: str, *params: Any) -> list[Record]:
        with closing(sqlite3.connect(self.db_path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql, params)]

    def open_orders(self) -> list[Record]:
        return self._all(
            "SELECT h.*, c.CustomerName, h.TaxableAmt + h.NonTaxableAmt + h.SalesTaxAmt "
            "+ h.FreightAmt - h.DiscountAmt AS OrderTotal FROM SO_SalesOrderHeader h "
            "JOIN AR_Customer c ON c.ARDivisionNo = h.ARDivisionNo AND c.CustomerNo = h.CustomerNo "
            "ORDER BY h.SalesOrderNo DESC"
        )

    def recent_history(self) -> list[Record]:
        return self._all(
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
            found = self._all(f"SELECT * FROM {header} WHERE SalesOrderNo = ?", order_no)
            if found:
                lines = self._all(
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
        return self._all(
            "SELECT * FROM AR_Customer WHERE ? = '' OR CustomerName LIKE ? OR CustomerNo LIKE ? "
            "OR EmailAddress LIKE ? ORDER BY ARDivisionNo, CustomerNo LIMIT ?",
            search, pattern, pattern, pattern, PAGE_SIZE,
        )  # fmt: skip

    def open_invoices(self) -> list[Record]:
        return self._all(
            "SELECT i.*, c.CustomerName FROM AR_OpenInvoice i JOIN AR_Customer c "
            "ON c.ARDivisionNo = i.ARDivisionNo AND c.CustomerNo = i.CustomerNo "
            "WHERE i.Balance > 0 ORDER BY i.InvoiceDueDate"
        )

    def recent_receipts(self) -> list[Record]:
        return self._all(
            "SELECT * FROM AR_CashReceiptsHistory "
            "ORDER BY DateCreated DESC, CAST(TimeCreated AS REAL) DESC, DepositNo DESC "
            "LIMIT 20"
        )

    def stock(self) -> list[Record]:
        return self._all(
            "SELECT s.*, i.ItemCodeDesc, i.InactiveItem FROM IM_ItemWarehouse s "
            "JOIN CI_Item i ON i.ItemCode = s.ItemCode ORDER BY s.ItemCode, s.WarehouseCode"
        )

    def warehouses(self) -> list[Record]:
        return self._all("SELECT * FROM IM_Warehouse ORDER BY WarehouseCode")
