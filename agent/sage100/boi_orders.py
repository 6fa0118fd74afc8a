"""Sales orders and S/O invoices through BOI (`SO_SalesOrder_bus`, `SO_Invoice_bus`, module
S/O), the half of `BOIBackend` that sells: a new order or invoice, an order's status.

A conditional create (`match`) first asks the read-only service objects for records whose
column holds the value: `nGetResultSets(columns, key columns, byref values, byref keys,
filter, begin, end)` with a ProvideX filter such as `UDF_DEAL_ID$="SAL-1005"`, the records
coming back separated by `boi.SEP` (chr 138). Open orders are `SO_SalesOrder_svc`; the history
object's name (`SO_SalesOrderHistoryInquiry_svc`) is unconfirmed. Deleted orders kept in
history (OrderStatus X) do not count. S/O invoices (`SO_Invoice_bus`, task SO_Invoice_ui) follow
the order's sequence; their next-number method (`nGetNextInvoiceNo`), their totals' names
and the posted-invoice service (`AR_InvoiceHistoryInquiry_svc`) are unconfirmed. The look-up and the
write run in one turn of the single BOI worker, so no other agent write comes between.
"""

from typing import Any

from agent.backend import EXISTED, Record, Refused
from agent.sage100.boi_helpers import BOIHelpers

ORDER_TOTALS = ("TaxableAmt", "NonTaxableAmt", "SalesTaxAmt", "FreightAmt", "DiscountAmt")
ORDER_SERVICES = ("SO_SalesOrder_svc", "SO_SalesOrderHistoryInquiry_svc")  # open, history
# A deleted order (X) or deleted quote (Z) kept in history is no longer the deal's.
NOT_DELETED = 'OrderStatus$<>"X" AND OrderStatus$<>"Z"'
# S/O Invoice Data Entry's totals: the names AR_InvoiceHistoryHeader keeps (unconfirmed on
# SO_InvoiceHeader itself).
INVOICE_TOTALS = ("TaxableSalesAmt", "NonTaxableSalesAmt", "SalesTaxAmt", "FreightAmt",
                  "DiscountAmt")  # fmt: skip
# Invoices a deal may have: entered, not yet posted (SO_Invoice_svc), and posted (history;
# the service object's name is unconfirmed).
INVOICE_SERVICES = (("SO_Invoice_svc", "InvoiceNo$"),
                    ("AR_InvoiceHistoryInquiry_svc", "InvoiceNo$+HeaderSeqNo$"))  # fmt: skip
DOCUMENT_WORDS = {"SalesOrderNo": "Sales order", "InvoiceNo": "Invoice"}


class OrdersBOI(BOIHelpers):
    """Placed before `Sage100Backend` in `BOIBackend`'s bases; the helpers are BOIBackend's."""

    def _write_document(
        self,
        bus: Any,
        number_column: str,
        header: Record,
        lines: list[Record],
        totals: tuple[str, ...],
    ) -> Record:
        """A new order or invoice on `bus`: its number (given, else the next one), the
        customer first (it fills the customer's defaults), the other header values, each
        line (item first), the totals Sage computed, then one nWrite for all of it."""
        values = dict(header)
        number = str(values.pop(number_column, "") or self._next_number(bus, number_column))
        self._new_document(bus, number_column, number, DOCUMENT_WORDS[number_column])
        customer_first = {k: values.pop(k) for k in ("ARDivisionNo", "CustomerNo") if k in values}
        if not values.get("SalespersonNo"):  # no owner matched: keep the customer's salesperson
            values.pop("SalespersonNo", None)
        self._set_values(bus, customer_first, bus)
        self._set_values(bus, values, bus)
        written_lines = self._add_lines(bus, lines)
        amounts = {name: self._get_value(bus, name) for name in totals}
        self._check(bus, bus.nWrite(), bus)
        document = {number_column: number, **customer_first, **values, **amounts}
        return self._reply({**document, "lines": written_lines})

    def next_sales_order_number(self) -> str:
        def work() -> str:
            with self._bus("S/O", "SO_SalesOrder_ui", "SO_SalesOrder_bus") as bus:
                return self._next_number(bus)

        return self._run(work)

    def create_sales_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        def work() -> Record:
            if match:
                value, number = header.get(match), "SalesOrderNo$"
                # Sage copies an order to history when it is saved, so an open order is
                # found in both services: count order numbers, not rows.
                found = sorted(
                    {
                        key.rstrip()
                        for service in ORDER_SERVICES
                        for key, _ in self._holding(
                            service, match, value, number, number, NOT_DELETED
                        )
                    }
                )
                existing = self._one_found(found, "sales orders", match, value)
                if existing:
                    return {"SalesOrderNo": existing, "lines": [], EXISTED: True}
            with self._bus("S/O", "SO_SalesOrder_ui", "SO_SalesOrder_bus") as bus:
                return self._write_document(bus, "SalesOrderNo", header, lines, ORDER_TOTALS)

        return self._run(work)

    def create_invoice(self, header: Record, lines: list[Record], match: str = "") -> Record:
        """SO_Invoice_bus, InvoiceType "IN" unless given; a line's QuantityShipped is its
        QuantityOrdered unless given (an invoice bills what was shipped)."""

        def work() -> Record:
            if match:
                value = header.get(match)
                found = sorted(
                    {
                        key[:7].rstrip()  # InvoiceNo, less history's HeaderSeqNo
                        for service, keys in INVOICE_SERVICES
                        for key, _ in self._holding(service, match, value, "InvoiceNo$", keys)
                    }
                )
                existing = self._one_found(found, "invoices", match, value)
                if existing:
                    return {"InvoiceNo": existing, "lines": [], EXISTED: True}
            values = {"InvoiceType": "IN", **header}
            shipped = [
                {
                    **line,
                    "QuantityShipped": line.get("QuantityShipped", line.get("QuantityOrdered")),
                }
                for line in lines
            ]
            with self._bus("S/O", "SO_Invoice_ui", "SO_Invoice_bus") as bus:
                return self._write_document(bus, "InvoiceNo", values, shipped, INVOICE_TOTALS)

        return self._run(work)

    def set_order_status(self, sales_order_no: str, status: str) -> Record:
        def work() -> Record:
            with self._bus("S/O", "SO_SalesOrder_ui", "SO_SalesOrder_bus") as bus:
                if self._set_key(bus, {"SalesOrderNo": sales_order_no}) != 1:
                    bus.nClear()
                    raise Refused(f"Sales order {sales_order_no} is not on file.")
                if status == "X":
                    self._check(bus, bus.nDelete(), bus)
                elif status in ("N", "O", "H"):
                    self._check(bus, bus.nSetValue("OrderStatus$", status), bus)
                    self._check(bus, bus.nWrite(), bus)
                else:
                    bus.nClear()
                    raise Refused(
                        f"OrderStatus {status}: the BOI agent sets N, O or H, or deletes (X); "
                        "completing an order is shipping and invoicing it in Sage."
                    )
                return self._reply({"SalesOrderNo": sales_order_no, "OrderStatus": status})

        return self._run(work)
