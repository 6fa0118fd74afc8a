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

The writes are grouped by business object family, each a mixin using the session helpers
here: customers and contacts (`boi_customers`), sales orders and invoices (`boi_orders`),
purchase orders (`boi_purchasing`). A conditional create (`match`) asks a service object
(`_holding`) for the records holding the value, in the same turn of the one BOI worker.
"""

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import date
from decimal import Decimal
from typing import Any

from agent.backend import BackendUnavailable, Record, Refused, SeveralMatches
from agent.sage100.backend import Sage100Backend
from agent.sage100.boi_customers import CustomersBOI
from agent.sage100.boi_orders import OrdersBOI
from agent.sage100.boi_purchasing import PurchasingBOI

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PASSWORD_ENV = "CLARITY_BOI_PASSWORD"  # the Sage user's password: never on the command line
SEP = chr(138)  # ProvideX's separator between the records nGetResultSets returns
NEXT_NUMBER = {  # a document's number column -> the bus method that reserves the next one
    "SalesOrderNo": "nGetNextSalesOrderNo",
    "InvoiceNo": "nGetNextInvoiceNo",  # unconfirmed name, by analogy with orders
    "PurchaseOrderNo": "nGetNextPurchaseOrderNo",  # unconfirmed name, likewise
}
SERVICE_CONTEXT = {  # service object -> (module, task) it is opened in
    "AR_Customer_svc": ("A/R", "AR_Customer_ui"),
    "SO_SalesOrder_svc": ("S/O", "SO_SalesOrder_ui"),
    "SO_SalesOrderHistoryInquiry_svc": ("S/O", "SO_SalesOrderHistoryInquiry_ui"),
    "SO_Invoice_svc": ("S/O", "SO_Invoice_ui"),
    "AR_InvoiceHistoryInquiry_svc": ("A/R", "AR_InvoiceHistoryInquiry_ui"),  # unconfirmed
    "PO_PurchaseOrder_svc": ("P/O", "PO_PurchaseOrder_ui"),  # unconfirmed
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


class BOIBackend(CustomersBOI, OrdersBOI, PurchasingBOI, Sage100Backend):
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

    @contextmanager
    def _bus(self, module: str, task: str, name: str) -> Iterator[Any]:
        """A business object in its module date and task context (security needs both),
        dropped however the work on it ends: BOI keeps an undropped object open."""
        session = self._open_session()
        self._check(session, session.nSetDate(module, self.today().strftime("%Y%m%d")))
        self._check(session, session.nSetModule(module))
        self._check(session, session.nSetProgram(session.nLookupTask(task)))
        bus = self._script.NewObject(name, session)
        try:
            yield bus
        finally:
            bus.DropObject()

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
        with self._bus(*SERVICE_CONTEXT[service], service) as svc:
            where = providex_filter(column, value) + (f" AND {also}" if also else "")
            reply = svc.nGetResultSets(columns, keys, "", "", where, "", "")
            result, (found_values, found_keys) = out_values(reply, 2)
            self._check(svc, result)
            keys_found = str(found_keys or "").split(SEP)
            values_found = str(found_values or "").split(SEP)
            values_found += [""] * (len(keys_found) - len(values_found))
            return [(key, values_found[n]) for n, key in enumerate(keys_found) if key]

    def _set_key(self, bus: Any, key: Record) -> int:
        """Point `bus` at the record `key` names (text columns): 1 on file, 2 a new one."""
        for column, value in key.items():
            self._check(bus, bus.nSetKeyValue(f"{column}$", value), bus)
        return self._check(bus, bus.nSetKey(), bus)

    def _new_document(self, bus: Any, number_column: str, number: str, word: str) -> None:
        """Point `bus` at a new document numbered `number`; one on file already is refused."""
        if self._set_key(bus, {number_column: number}) != 2:
            bus.nClear()
            raise Refused(f"{word} {number} already exists.")

    def _add_lines(self, bus: Any, lines: list[Record]) -> list[Record]:
        """Each line through `oLines`, the item first (it fills the item's defaults)."""
        written = []
        for line in lines:
            rest = dict(line)
            item = {"ItemCode": rest.pop("ItemCode", "")}
            self._check(bus.oLines, bus.oLines.nAddLine(), bus)
            self._set_values(bus.oLines, item, bus)
            self._set_values(bus.oLines, rest, bus)
            self._check(bus.oLines, bus.oLines.nWrite(), bus)
            written.append({**item, **rest})
        return written

    @staticmethod
    def _one_found(found: list[str], documents: str, match: str, value: Any) -> str | None:
        """The one document a conditional create found (None: none); several are refused,
        as the deal cannot tell which is its own."""
        if len(found) > 1:
            raise SeveralMatches(
                f"Sage 100 has {len(found)} {documents} with {match} {value}: {', '.join(found)}."
            )
        return found[0] if found else None

    def _reply(self, record: Record) -> Record:
        return {**record, "_warnings": list(self.warnings)} if self.warnings else record

    def _next_number(self, bus: Any, number_column: str = "SalesOrderNo") -> str:
        method = NEXT_NUMBER[number_column]
        result, number = out_value(getattr(bus, method)(""))
        self._check(bus, result, bus)
        if not number:
            raise BackendUnavailable(f"{method} gave no number back over COM.")
        return str(number)

    # ------------------------------------------------------------ Sage100Backend

    def health(self) -> Record:
        def work() -> Record:
            self._open_session()
            return {"status": "ok", "backend": "boi", "company": self.company}

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
