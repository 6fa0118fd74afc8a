"""The agent's Sage 100 backend: Sage 100's Business Object Interface (BOI) over COM.

Windows only: needs pywin32 and a Sage 100 workstation install on the agent's machine.
`win32com`/`pythoncom` are imported lazily inside `com_script_factory`, so this module
imports anywhere. It has NOT met a real Sage 100: it is tested only against a
recording stand-in of the COM objects (tests/unit/test_sage100_boi_backend.py) that checks
the call sequence the reference describes:

    oScript.Init(home); oSS = oScript.NewObject("SY_Session")
    oSS.nSetUser(user, pw); oSS.nSetCompany(co)                 (once per session)
    oSS.nSetDate(module, YYYYMMDD); oSS.nSetModule(module)
    oSS.nSetProgram(oSS.nLookupTask("<Task>_ui"))               (per write: task security)
    oBus = oScript.NewObject("<Object>_bus", oSS) ... nSetKeyValue/nSetKey/nSetValue/nWrite
    oBus.DropObject()                                           (always)

A call returning 0 raises `Refused` with the object's `sLastErrorMsg` after discarding the
record (`nClear`) and releasing the object; -1 (a warning) goes on, its message kept in the
reply's `_warnings`. Any COM exception drops the session; the next request opens a new
one. All COM calls run on one worker thread (COM apartment rules); one write at a time.
Run it with: `CLARITY_AGENT_KEY=... CLARITY_BOI_PASSWORD=... python -m agent --product sage100
--backend agent.sage100.boi:BOIBackend "C:\\Sage\\MAS90\\Home" ABC user`.
Out-parameters (`nGetNextSalesOrderNo`, `nGetValue`) come back from pywin32 as a tuple
(result, value) when the object publishes type information (unconfirmed for ProvideX).

A conditional create (`match`) first asks the read-only service objects for records whose
column holds the value: `nGetResultSets(columns, key columns, byref values, byref keys,
filter, begin, end)` with a ProvideX filter such as `UDF_DEAL_ID$="SAL-1005"`, the records
coming back separated by SEP (chr 138). Open orders are `SO_SalesOrder_svc`; the history
object's name (`SO_SalesOrderHistoryInquiry_svc`) is unconfirmed. Deleted orders kept in
history (OrderStatus X) do not count. S/O invoices (`SO_Invoice_bus`, task SO_Invoice_ui) follow
the order's sequence; their next-number method (`nGetNextInvoiceNo`), their totals' names
and the posted-invoice service (`AR_InvoiceHistoryInquiry_svc`) are unconfirmed. The look-up and the
write run in one turn of the single BOI worker, so no other agent write comes between.
"""

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import date
from decimal import Decimal
from typing import Any

from agent.backend import (
    EXISTED,
    BackendUnavailable,
    Record,
    Refused,
    SeveralMatches,
    customer_code,
)
from agent.sage100.backend import Sage100Backend

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ORDER_TOTALS = ("TaxableAmt", "NonTaxableAmt", "SalesTaxAmt", "FreightAmt", "DiscountAmt")
CUSTOMER_NO_TRIES = 100
PASSWORD_ENV = "CLARITY_BOI_PASSWORD"  # the Sage user's password: never on the command line
SEP = chr(138)  # ProvideX's separator between the records nGetResultSets returns
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
NEXT_NUMBER = {  # a document's number column -> the bus method that reserves the next one
    "SalesOrderNo": "nGetNextSalesOrderNo",
    "InvoiceNo": "nGetNextInvoiceNo",  # unconfirmed name, by analogy with orders
}
DOCUMENT_WORDS = {"SalesOrderNo": "Sales order", "InvoiceNo": "Invoice"}
SERVICE_CONTEXT = {  # service object -> (module, task) it is opened in
    "AR_Customer_svc": ("A/R", "AR_Customer_ui"),
    "SO_SalesOrder_svc": ("S/O", "SO_SalesOrder_ui"),
    "SO_SalesOrderHistoryInquiry_svc": ("S/O", "SO_SalesOrderHistoryInquiry_ui"),
    "SO_Invoice_svc": ("S/O", "SO_Invoice_ui"),
    "AR_InvoiceHistoryInquiry_svc": ("A/R", "AR_InvoiceHistoryInquiry_ui"),  # unconfirmed
}


def com_script_factory() -> Any:
    """The real `ProvideX.Script` COM object (Windows + pywin32 only)."""
    import win32com.client  # Windows only: imported when used

    return win32com.client.Dispatch("ProvideX.Script")


def com_thread_setup() -> None:
    import pythoncom  # Windows only: imported when used

    pythoncom.CoInitialize()


def column_and_value(column: str, value: Any) -> tuple[str, Any]:
    """BOI's naming: text columns end in "$"; dates are "YYYYMMDD" text; numbers as float."""
    if isinstance(value, bool):
        return f"{column}$", "Y" if value else "N"
    if isinstance(value, int | float | Decimal):
        return column, float(value)
    if isinstance(value, date):
        return f"{column}$", value.strftime("%Y%m%d")
    text = str(value)
    if "Date" in column and ISO_DATE.match(text):
        text = text.replace("-", "")
    return f"{column}$", text


def out_value(result: Any) -> tuple[int, Any]:
    """(result, value) of a call with one out-parameter, however pywin32 returns it."""
    if isinstance(result, tuple):
        return int(result[0]), result[1] if len(result) > 1 else None
    return int(result), None


def out_values(result: Any, count: int) -> tuple[int, list[Any]]:
    """(result, values) of a call with `count` out-parameters, however pywin32 returns it."""
    if isinstance(result, tuple):
        values = list(result[1 : 1 + count])
        return int(result[0]), values + [None] * (count - len(values))
    return int(result), [None] * count


def providex_filter(column: str, value: Any) -> str:
    """`Column$="text"` (quotes doubled) or `Column=12.5`: a record holding the value."""
    name, typed = column_and_value(column, value)
    if name.endswith("$"):
        return f'{name}="{str(typed).replace(chr(34), chr(34) * 2)}"'
    return f"{name}={typed}"


class BOIBackend(Sage100Backend):
    def __init__(
        self,
        home_path: str,
        company: str,
        user: str,
        password: str | None = None,
        script_factory: Callable[[], Any] | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.home_path = home_path
        self.company = company.upper()
        self.user = user
        self.password = os.environ.get(PASSWORD_ENV, "") if password is None else password
        self.script_factory = script_factory or com_script_factory
        self.today = today
        setup = com_thread_setup if script_factory is None else None
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="boi", initializer=setup)
        self._script: Any = None
        self._session: Any = None
        self.warnings: list[str] = []

    # ------------------------------------------------------------ session

    def _open_session(self) -> Any:
        if self._session is None:
            script = self.script_factory()
            script.Init(self.home_path)
            session = script.NewObject("SY_Session")
            self._script, self._session = script, session
            for call, args in (("nSetUser", (self.user, self.password)),
                               ("nSetCompany", (self.company,))):  # fmt: skip
                if getattr(session, call)(*args) == 0:
                    message = session.sLastErrorMsg
                    self._drop_session()
                    raise BackendUnavailable(f"Sage 100 refused the agent's session: {message}")
        return self._session

    def _drop_session(self) -> None:
        """Release the session after a COM error (or at close): the next call opens anew."""
        session, self._session, self._script = self._session, None, None
        if session is not None:
            with suppress(Exception):
                session.nCleanup()
            with suppress(Exception):
                session.DropObject()

    def close(self) -> None:
        self._worker.submit(self._drop_session).result()
        self._worker.shutdown()

    def _run(self, work: Callable[[], Any]) -> Any:
        """Run COM work on the worker thread; a COM failure drops the session."""

        def guarded() -> Any:
            self.warnings = []
            try:
                return work()
            except (Refused, BackendUnavailable, SeveralMatches):
                raise
            except Exception as exc:
                self._drop_session()
                raise BackendUnavailable(
                    f"Sage 100 BOI failed ({type(exc).__name__}: {exc}); the session will be "
                    "opened again on the next request."
                ) from exc

        return self._worker.submit(guarded).result()

    def _bus(self, module: str, task: str, name: str) -> Any:
        """A business object in its module date and task context (security needs both)."""
        session = self._open_session()
        self._check(session, session.nSetDate(module, self.today().strftime("%Y%m%d")))
        self._check(session, session.nSetModule(module))
        self._check(session, session.nSetProgram(session.nLookupTask(task)))
        return self._script.NewObject(name, session)

    def _check(self, obj: Any, result: Any, discard: Any = None) -> int:
        """1 goes on; -1 goes on with the warning kept; 0 raises Sage's message."""
        result = out_value(result)[0]
        if result == 0:
            message = obj.sLastErrorMsg or "Sage 100 refused the request."
            if discard is not None:
                with suppress(Exception):
                    discard.nClear()
            raise Refused(message)
        if result < 0:
            self.warnings.append(obj.sLastErrorMsg)
        return result

    def _set_values(self, obj: Any, values: Record, owner: Any) -> None:
        for column, value in values.items():
            if value is not None:
                self._check(obj, obj.nSetValue(*column_and_value(column, value)), owner)

    def _get_value(self, obj: Any, column: str) -> Any:
        result, value = out_value(obj.nGetValue(column, 0 if "$" not in column else ""))
        return value if result else None

    def _holding(
        self, service: str, column: str, value: Any, columns: str, keys: str, also: str = ""
    ) -> list[tuple[str, str]]:
        """(key, values) of each record of the service object `service` (in the module and
        task context `SERVICE_CONTEXT` gives) whose `column` holds `value` (and `also`)."""
        svc = self._bus(*SERVICE_CONTEXT[service], service)
        try:
            where = providex_filter(column, value) + (f" AND {also}" if also else "")
            reply = svc.nGetResultSets(columns, keys, "", "", where, "", "")
            result, (found_values, found_keys) = out_values(reply, 2)
            self._check(svc, result)
            keys_found = str(found_keys or "").split(SEP)
            values_found = str(found_values or "").split(SEP)
            values_found += [""] * (len(keys_found) - len(values_found))
            return [(key, values_found[n]) for n, key in enumerate(keys_found) if key]
        finally:
            svc.DropObject()

    def _reply(self, record: Record) -> Record:
        return {**record, "_warnings": list(self.warnings)} if self.warnings else record

    # ------------------------------------------------------------ Sage100Backend

    def health(self) -> Record:
        def work() -> Record:
            self._open_session()
            return {"status": "ok", "backend": "boi", "company": self.company}

        return self._run(work)

    def create_customer(self, values: Record, match: str = "") -> Record:
        def work() -> Record:
            if match:
                keys = "ARDivisionNo$+CustomerNo$"  # the key: division (2) and number
                found = self._holding("AR_Customer_svc", match, values.get(match),
                                      "CustomerName$", keys)  # fmt: skip
                if found:
                    key, name = found[0]
                    return {"ARDivisionNo": key[:2], "CustomerNo": key[2:].rstrip(),
                            "CustomerName": name, EXISTED: True}  # fmt: skip
            values_left = dict(values)
            division = str(values_left.pop("ARDivisionNo", ""))
            wanted = str(values_left.pop("CustomerNo", "") or "").upper()
            bus = self._bus("A/R", "AR_Customer_ui", "AR_Customer_bus")
            try:
                tries = [wanted] if wanted else [
                    customer_code(str(values.get("CustomerName", "")), attempt)
                    for attempt in range(CUSTOMER_NO_TRIES)
                ]  # fmt: skip
                for customer_no in tries:
                    self._check(bus, bus.nSetKeyValue("ARDivisionNo$", division), bus)
                    self._check(bus, bus.nSetKeyValue("CustomerNo$", customer_no), bus)
                    if self._check(bus, bus.nSetKey(), bus) == 2:  # 2: a new record
                        break
                    bus.nClear()
                else:
                    raise Refused(f"Customer {division}-{tries[-1]} already exists.")
                self._set_values(bus, values_left, bus)
                self._check(bus, bus.nWrite(), bus)
                key = {"ARDivisionNo": division, "CustomerNo": customer_no}
                return self._reply({**key, **values_left})
            finally:
                bus.DropObject()

        return self._run(work)

    def update_customer(self, division: str, customer_no: str, values: Record) -> Record:
        def work() -> Record:
            bus = self._bus("A/R", "AR_Customer_ui", "AR_Customer_bus")
            try:
                self._check(bus, bus.nSetKeyValue("ARDivisionNo$", division), bus)
                self._check(bus, bus.nSetKeyValue("CustomerNo$", customer_no), bus)
                if self._check(bus, bus.nSetKey(), bus) != 1:  # not an existing record
                    bus.nClear()
                    raise Refused(f"Customer {division}-{customer_no} is not on file.")
                self._set_values(bus, values, bus)
                self._check(bus, bus.nWrite(), bus)
                key = {"ARDivisionNo": division, "CustomerNo": customer_no}
                return self._reply({**key, **values})
            finally:
                bus.DropObject()

        return self._run(work)

    def _next_number(self, bus: Any, number_column: str = "SalesOrderNo") -> str:
        method = NEXT_NUMBER[number_column]
        result, number = out_value(getattr(bus, method)(""))
        self._check(bus, result, bus)
        if not number:
            raise BackendUnavailable(f"{method} gave no number back over COM.")
        return str(number)

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
        self._check(bus, bus.nSetKeyValue(f"{number_column}$", number), bus)
        if self._check(bus, bus.nSetKey(), bus) != 2:
            bus.nClear()
            raise Refused(f"{DOCUMENT_WORDS[number_column]} {number} already exists.")
        customer_first = {k: values.pop(k) for k in ("ARDivisionNo", "CustomerNo") if k in values}
        self._set_values(bus, customer_first, bus)
        self._set_values(bus, values, bus)
        written_lines = []
        for line in lines:
            line_values = dict(line)
            item = {"ItemCode": line_values.pop("ItemCode", "")}
            self._check(bus.oLines, bus.oLines.nAddLine(), bus)
            self._set_values(bus.oLines, item, bus)
            self._set_values(bus.oLines, line_values, bus)
            self._check(bus.oLines, bus.oLines.nWrite(), bus)
            written_lines.append({**item, **line_values})
        amounts = {name: self._get_value(bus, name) for name in totals}
        self._check(bus, bus.nWrite(), bus)
        document = {number_column: number, **customer_first, **values, **amounts}
        return self._reply({**document, "lines": written_lines})

    def next_sales_order_number(self) -> str:
        def work() -> str:
            bus = self._bus("S/O", "SO_SalesOrder_ui", "SO_SalesOrder_bus")
            try:
                return self._next_number(bus)
            finally:
                bus.DropObject()

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
                if len(found) > 1:
                    raise SeveralMatches(
                        f"Sage 100 has {len(found)} sales orders with {match} "
                        f"{header.get(match)}: {', '.join(found)}."
                    )
                if found:
                    return {"SalesOrderNo": found[0], "lines": [], EXISTED: True}
            bus = self._bus("S/O", "SO_SalesOrder_ui", "SO_SalesOrder_bus")
            try:
                return self._write_document(bus, "SalesOrderNo", header, lines, ORDER_TOTALS)
            finally:
                bus.DropObject()

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
                if len(found) > 1:
                    raise SeveralMatches(
                        f"Sage 100 has {len(found)} invoices with {match} {value}: "
                        f"{', '.join(found)}."
                    )
                if found:
                    return {"InvoiceNo": found[0], "lines": [], EXISTED: True}
            values = {"InvoiceType": "IN", **header}
            shipped = [
                {
                    **line,
                    "QuantityShipped": line.get("QuantityShipped", line.get("QuantityOrdered")),
                }
                for line in lines
            ]
            bus = self._bus("S/O", "SO_Invoice_ui", "SO_Invoice_bus")
            try:
                return self._write_document(bus, "InvoiceNo", values, shipped, INVOICE_TOTALS)
            finally:
                bus.DropObject()

        return self._run(work)

    def set_order_status(self, sales_order_no: str, status: str) -> Record:
        def work() -> Record:
            bus = self._bus("S/O", "SO_SalesOrder_ui", "SO_SalesOrder_bus")
            try:
                self._check(bus, bus.nSetKeyValue("SalesOrderNo$", sales_order_no), bus)
                if self._check(bus, bus.nSetKey(), bus) != 1:
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
            finally:
                bus.DropObject()

        return self._run(work)

    def post_cash_receipt(self, values: Record) -> Record:
        raise Refused(
            "Cash receipts are not written through BOI by the agent yet: enter them in "
            "A/R Cash Receipts Entry."
        )

    def set_stock(self, item_code: str, warehouse_code: str, quantity_on_hand: Any) -> Record:
        raise Refused(
            "Stock is not set through BOI by the agent yet: post an adjustment in "
            "I/M Transaction Entry."
        )
