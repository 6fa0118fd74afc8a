"""What the agent needs from Sage 100: the writes it performs through the Business Object
Interface (BOI), named after the BOI objects that do them.

Values use Sage's column names (`CustomerName`, `ItemCode`, `UDF_CRM_ID`…), exactly what a
BOI backend passes to `nSetValue`. Amounts and quantities arrive as Decimal. A write Sage
refuses (BOI result 0) raises `Refused` with Sage's last-error message, and writes nothing.

A create may name a column holding the record's external reference (`match`, e.g.
`UDF_DEAL_ID`): then, as part of the same write (the same transaction, or the same turn of
the one BOI worker), a record that already holds the value is returned instead, marked
`EXISTED`, and nothing is written. Several orders (or invoices) for one deal raise
`SeveralMatches` (a person must keep one); of several customers for one CRM record, the first
is returned.

Two implementations: `agent.sage100.boi.BOIBackend` drives BOI over COM (pywin32, Windows
only); `sandbox.sage100.backend.SandboxBackend` applies the same rules to a SQLite copy of
the tables.
"""

from abc import abstractmethod
from typing import Any

from agent.backend import AgentBackend, Record, Refused


class Sage100Backend(AgentBackend):
    @abstractmethod
    def create_customer(self, values: Record, match: str = "") -> Record:
        """AR_Customer_bus: a new customer. `ARDivisionNo` required; `CustomerNo` is
        assigned when missing. Returns the written AR_Customer row, or with `match` the
        customer already holding `values[match]` (marked EXISTED)."""

    @abstractmethod
    def update_customer(self, division: str, customer_no: str, values: Record) -> Record:
        """AR_Customer_bus on an existing customer; returns the updated row."""

    @abstractmethod
    def next_sales_order_number(self) -> str:
        """SO_SalesOrder_bus.nGetNextSalesOrderNo: reserves and returns a 7-char number."""

    @abstractmethod
    def create_sales_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        """SO_SalesOrder_bus: header plus lines written together, or nothing at all.
        Returns the header row with its `lines`, or with `match` the order (open or in
        history, deleted ones left out) already holding `header[match]` (marked EXISTED)."""

    @abstractmethod
    def create_invoice(self, header: Record, lines: list[Record], match: str = "") -> Record:
        """SO_Invoice_bus: an S/O invoice (InvoiceType IN), with no sales order behind it
        or naming the open order it invoices (`SalesOrderNo`, the customer's), header plus
        lines written together, or nothing. Returns the SO_InvoiceHeader row with
        its `lines`, or with `match` the invoice (entered, or posted to
        AR_InvoiceHistoryHeader) already holding `header[match]` (marked EXISTED)."""

    def create_purchase_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        """PO_PurchaseOrder_bus: a purchase order to one vendor (`APDivisionNo`,
        `VendorNo`), header plus lines written together, or nothing. Returns the
        PO_PurchaseOrderHeader row with its `lines`, or with `match` the purchase order
        already holding `header[match]` (marked EXISTED). Not abstract: a backend without
        purchasing refuses, saying where to enter the order instead."""
        raise Refused(
            "This agent does not write purchase orders: enter them in Purchase Order Entry."
        )

    @abstractmethod
    def set_order_status(self, sales_order_no: str, status: str) -> Record:
        """Change an open order's OrderStatus (N, O, H); X deletes the order, which is how
        Sage cancels one (it is kept in history as deleted); returns the header (or history)
        row."""

    @abstractmethod
    def post_cash_receipt(self, values: Record) -> Record:
        """A customer's payment applied to one open invoice; returns the receipt row."""

    @abstractmethod
    def set_stock(self, item_code: str, warehouse_code: str, quantity_on_hand: Any) -> Record:
        """Set an item's quantity on hand in one warehouse; returns IM_ItemWarehouse row."""
