"""Read-only queries behind the sandbox's pages (what a Sage 50 user looks at in Customers
& Sales and Inventory)."""

from typing import Any

from sandbox.core.company import CompanyFile
from sandbox.sage50desktop.ledger import (
    CASH_RECEIPTS_JOURNAL,
    LINE_ROW,
    SALES_JOURNAL,
    SALES_ORDER_JOURNAL,
)

Record = dict[str, Any]
PAGE_SIZE = 200
DOCUMENT = (
    "SELECT h.*, c.CustomerID, c.Customer_Bill_Name, h.MainAmount - h.AmountPaid AS BalanceDue "
    "FROM JrnlHdr h JOIN Customers c ON c.CustomerRecordNumber = h.CustVendId "
)


class PageQueries(CompanyFile):
    def invoices(self) -> list[Record]:
        return self.rows(
            DOCUMENT + "WHERE h.JrnlKey_Journal = ? ORDER BY h.PostOrder DESC LIMIT ?",
            SALES_JOURNAL,
            PAGE_SIZE,
        )

    def sales_orders(self) -> list[Record]:
        """Orders, newest first, with the invoice that filled each closed one."""
        return self.rows(
            "SELECT o.*, c.CustomerID, c.Customer_Bill_Name, "
            "(SELECT i.Reference FROM JrnlHdr i WHERE i.JrnlKey_Journal = ? "
            " AND i.INV_POSOOrderNumber = o.Reference) AS InvoiceReference "
            "FROM JrnlHdr o JOIN Customers c ON c.CustomerRecordNumber = o.CustVendId "
            "WHERE o.JrnlKey_Journal = ? ORDER BY o.PostOrder DESC LIMIT ?",
            SALES_JOURNAL,
            SALES_ORDER_JOURNAL,
            PAGE_SIZE,
        )

    def document(self, journal: int, reference: str) -> Record | None:
        """An invoice or order with its lines (items and GL accounts by their IDs)."""
        found = self.rows(
            DOCUMENT + "WHERE h.JrnlKey_Journal = ? AND h.Reference = ?", journal, reference
        )
        if not found:
            return None
        header = found[0]
        rows = self.rows(
            "SELECT r.*, i.ItemID, a.AccountID FROM JrnlRow r "
            "LEFT JOIN LineItem i ON i.ItemRecordNumber = r.ItemRecordNumber "
            "LEFT JOIN Chart a ON a.GLAcntNumber = r.GLAcntNumber "
            "WHERE r.PostOrder = ? ORDER BY r.RowNumber",
            header["PostOrder"],
        )
        header["lines"] = [row for row in rows if row["RowType"] == LINE_ROW]
        header["other_rows"] = [row for row in rows if row["RowType"] != LINE_ROW]
        header["receipts"] = self.rows(
            "SELECT h.Reference, h.TransactionDate, h.PaymentMethod, -r.Amount AS Applied "
            "FROM JrnlRow r JOIN JrnlHdr h ON h.PostOrder = r.PostOrder "
            "WHERE r.LinkToAnotherTrx = ? AND r.Journal = ? ORDER BY h.PostOrder",
            header["PostOrder"],
            CASH_RECEIPTS_JOURNAL,
        )
        return header

    def customers(self, search: str = "") -> list[Record]:
        pattern = f"%{search}%"
        return self.rows(
            "SELECT c.*, a.City, a.State, e.EmployeeName FROM Customers c "
            "LEFT JOIN Address a ON a.CustomerRecordNumber = c.CustomerRecordNumber "
            " AND a.AddressTypeNumber = 0 "
            "LEFT JOIN Employee e ON e.EmpRecordNumber = c.EmpRecordNumber "
            "WHERE ? = '' OR c.Customer_Bill_Name LIKE ? OR c.CustomerID LIKE ? "
            "OR c.eMail_Address LIKE ? OR c.Contact LIKE ? ORDER BY c.CustomerID LIMIT ?",
            search, pattern, pattern, pattern, pattern, PAGE_SIZE,
        )  # fmt: skip

    def open_invoices(self) -> list[Record]:
        return self.rows(
            DOCUMENT + "WHERE h.JrnlKey_Journal = ? AND h.MainAmount - h.AmountPaid > 0.004 "
            "ORDER BY h.DueDate, h.PostOrder",
            SALES_JOURNAL,
        )

    def invoice_customer(self, reference: str) -> str:
        """The Customer ID of an invoice ("" when there is no such invoice)."""
        found = self.rows(
            DOCUMENT + "WHERE h.JrnlKey_Journal = ? AND h.Reference = ?", SALES_JOURNAL, reference
        )
        return found[0]["CustomerID"] if found else ""

    def receipts(self) -> list[Record]:
        """Receipts, newest first, with the invoice each one paid."""
        return self.rows(
            "SELECT h.*, c.CustomerID, c.Customer_Bill_Name, i.Reference AS InvoiceReference "
            "FROM JrnlHdr h JOIN Customers c ON c.CustomerRecordNumber = h.CustVendId "
            "LEFT JOIN JrnlRow r ON r.PostOrder = h.PostOrder AND r.LinkToAnotherTrx > 0 "
            "LEFT JOIN JrnlHdr i ON i.PostOrder = r.LinkToAnotherTrx "
            "WHERE h.JrnlKey_Journal = ? ORDER BY h.PostOrder DESC LIMIT ?",
            CASH_RECEIPTS_JOURNAL,
            PAGE_SIZE,
        )

    def stock(self) -> list[Record]:
        return self.rows(
            "SELECT i.*, a.AccountID AS SalesAccountID FROM LineItem i "
            "LEFT JOIN Chart a ON a.GLAcntNumber = i.GLSalesAcct ORDER BY i.ItemID"
        )
