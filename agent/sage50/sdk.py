"""The agent's Sage 50 US backend: the Sage 50 SDK (.NET `Sage.Peachtree.API`) via pythonnet.

Windows only, beside Sage 50 US, in a 32-bit Python (the SDK is x86) with pythonnet 3 on .NET
Framework; `clr` and the SDK are imported in `load_sdk`, so this module imports anywhere.

    CLARITY_AGENT_KEY=… CLARITY_SAGE50_APP_KEY=… python -m agent --product sage50 \\
        --backend agent.sage50.sdk:SdkBackend "C:\\Sage\\Peachtree\\Company\\CEDARRID" [server]

The company is its folder (server: this machine unless given) or its name in `CompanyList()`.
The application key (Clarity Connect's Sage developer key) comes from CLARITY_SAGE50_APP_KEY,
never argv or a log; without one Sage 50 opens only its sample companies.
CLARITY_SAGE50_SDK_DIR names the SDK's folder when its assemblies are not in the GAC.

It has NOT met a real Sage 50: the SDK's member names come from reference/sage50.md §1.3 and
public code written for the SDK. Unconfirmed until a real company is opened: the look-up by
path, `SalesOrder.AddLine()` (invoices: `AddSalesLine()`), a filter on InternalNote, Contact
as BillToContact First/LastName, fax as the third phone, `PaymentTermsFactory.Create`'s
arguments, `Key.Guid` being the ODBC GUID, `ValidationException.ProblemList[].PropertyName`.
tests/unit/test_sage50_sdk_backend.py checks the documented order on a recording stand-in.

All SDK calls run on one worker thread (a single-threaded COM apartment), one write at a time,
a conditional create's look-up and Create in one turn. Customer, items and GL accounts are
loaded before anything is created, so a refusal leaves nothing behind. RecordInUseException
is RecordInUse, ValidationException Refused; any other failure drops the company and session
(opened again on the next call). The SDK has no ODBC record numbers: replies carry the GUID,
not CustomerRecordNumber or PostOrder. Which property each wire name sets is
`sdk_properties`; invoices and orders are `sdk_documents`.
"""

import ctypes
import os
import re
import socket
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.backend import (
    EXISTED,
    BackendUnavailable,
    Record,
    RecordInUse,
    Refused,
    SeveralMatches,
    customer_code,
)
from agent.sage50.backend import Sage50Backend
from agent.sage50.sdk_documents import SdkDocuments
from agent.sage50.sdk_properties import (
    AMOUNT,
    CUSTOMER_PROPERTIES,
    DATE,
    DAYS,
    FLAG,
    PERSON,
    REFERENCE,
    TERMS_ARGS,
    TEXT,
    WIRE_NAMES,
    holder,
)

APP_KEY_ENV = "CLARITY_SAGE50_APP_KEY"
SDK_DIR_ENV = "CLARITY_SAGE50_SDK_DIR"
COINIT_APARTMENTTHREADED = 0x2
CUSTOMER_ID_TRIES = 100
APPROVAL = (
    "An admin must approve Clarity Connect in Sage 50 once: open the company as an admin and "
    "allow access when asked (AuthorizationResult {result})."
)


@dataclass(frozen=True)
class Sdk:
    """What the backend takes from `Sage.Peachtree.API` and .NET (a test hands in recording
    stand-ins): the session class, filters, Decimal and DateTime."""

    PeachtreeSession: Callable[[], Any]
    FilterExpression: Any
    LoadModifiers: Any
    to_decimal: Callable[[Decimal], Any]
    from_decimal: Callable[[Any], Decimal]
    to_date: Callable[[date], Any]


def load_sdk() -> Sdk:
    """The real SDK through pythonnet (Windows, Sage 50 installed)."""
    import clr  # Windows only: imported when used

    if os.environ.get(SDK_DIR_ENV):
        sys.path.append(os.environ[SDK_DIR_ENV])
    clr.AddReference("Sage.Peachtree.API.Resolver")
    clr.AddReference("Sage.Peachtree.API")
    import System  # .NET namespaces: importable once clr has loaded the assemblies
    from Sage.Peachtree.API import FilterExpression, LoadModifiers, PeachtreeSession
    from Sage.Peachtree.API.Resolver import AssemblyInitializer
    from System.Globalization import CultureInfo

    AssemblyInitializer.Initialize()  # finds the rest of Sage 50's assemblies
    invariant = CultureInfo.InvariantCulture
    return Sdk(
        PeachtreeSession=PeachtreeSession,
        FilterExpression=FilterExpression,
        LoadModifiers=LoadModifiers,
        to_decimal=lambda value: System.Decimal.Parse(str(value), invariant),
        from_decimal=lambda value: Decimal(value.ToString(invariant)),
        to_date=lambda day: System.DateTime(day.year, day.month, day.day),
    )


def sta_thread_setup() -> None:
    """The SDK wants a single-threaded apartment: set before .NET first sees the thread."""
    ctypes.windll.ole32.CoInitializeEx(None, COINIT_APARTMENTTHREADED)


def refusal(exc: BaseException, message: str) -> Refused:
    """A ValidationException as Refused: Sage's problems as the message, the property it
    names as the field (by the caller's name for it when there is one)."""
    problem_list = getattr(exc, "ProblemList", None)
    problems = [] if problem_list is None else list(problem_list)
    texts = [str(getattr(problem, "Message", "") or problem) for problem in problems]
    named = [str(getattr(problem, "PropertyName", "") or "") for problem in problems]
    field = next((name for name in named if name), "")
    return Refused("; ".join(texts) or message, WIRE_NAMES.get(field, field))


class SdkBackend(SdkDocuments, Sage50Backend):
    def __init__(
        self,
        company: str,
        server: str = "",
        application_key: str | None = None,
        sdk_factory: Callable[[], Sdk] | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.company, self.server = company, server or socket.gethostname()
        if application_key is None:
            application_key = os.environ.get(APP_KEY_ENV, "")
        self.application_key = application_key
        self.sdk_factory, self.today = sdk_factory or load_sdk, today
        setup = sta_thread_setup if sdk_factory is None else None
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="sage50", initializer=setup)
        self._sdk: Any = None
        self._session: Any = None
        self._company: Any = None
        self._company_name = ""

    # ------------------------------------------------------------ session

    def _open_company(self) -> Any:
        if self._company is None:
            self._sdk = self._sdk or self.sdk_factory()
            self._session = session = self._sdk.PeachtreeSession()
            session.Begin(self.application_key)
            if re.search(r"[\\/:]", self.company):
                company_id = session.LookupCompanyIdentifier(self.server, self.company)
            else:
                wanted = self.company.strip().lower()
                company_id = next((c for c in session.CompanyList()
                                   if str(c.CompanyName).lower() == wanted), None)  # fmt: skip
            if company_id is None:
                self._drop_session()
                raise BackendUnavailable(
                    f"Sage 50 has no company {self.company} on {self.server}: give the "
                    "company's folder or its name as Sage 50 lists it."
                )
            result = session.VerifyAccess(company_id)
            if str(result) != "Granted":
                result = session.RequestAccess(company_id)
            if str(result) != "Granted":
                self._drop_session()
                raise BackendUnavailable(APPROVAL.format(result=result))
            self._company = session.Open(company_id)
            self._company_name = str(company_id.CompanyName)
        return self._company

    def _drop_session(self) -> None:
        """Close the company and end the session (after a failure, or at close)."""
        session, company, self._session, self._company = self._session, self._company, None, None
        if session is None:
            return
        ends = [lambda: session.Close(company)] if company is not None else []
        for end in [*ends, session.End, session.Dispose]:
            with suppress(Exception):
                end()

    def close(self) -> None:
        with suppress(RuntimeError):  # closed already: the worker takes nothing more
            self._worker.submit(self._drop_session).result()
        self._worker.shutdown()

    def _run(self, work: Callable[[], Any]) -> Any:
        """Run SDK work on the worker thread, .NET exceptions told apart by type name."""

        def guarded() -> Any:
            try:
                return work()
            except (Refused, SeveralMatches, RecordInUse, BackendUnavailable):
                raise
            except Exception as exc:
                names = {kind.__name__ for kind in type(exc).__mro__}
                message = str(getattr(exc, "Message", "") or exc)
                if "RecordInUseException" in names:
                    raise RecordInUse(f"A record is open in Sage 50, try later: {message}") from exc
                if "ValidationException" in names:
                    raise refusal(exc, message) from exc
                self._drop_session()
                raise BackendUnavailable(
                    f"The Sage 50 SDK failed ({type(exc).__name__}: {message}); the company "
                    "will be opened again on the next request."
                ) from exc

        return self._worker.submit(guarded).result()

    # ------------------------------------------------------------ reading and setting

    def _holding(self, entity: str, path: str, value: Any) -> list[Any]:
        """The `entity` records whose `path` holds `value` exactly: Sage filters a plain
        property; a custom field is compared here (a filter on it is unconfirmed)."""
        records = getattr(self._company.Factories, f"{entity}Factory").List()
        if path.isidentifier():
            expression = self._sdk.FilterExpression
            modifiers = self._sdk.LoadModifiers.Create()
            modifiers.Filters = expression.Equal(
                expression.Property(f"{entity}.{path}"), expression.Constant(str(value))
            )
            records.Load(modifiers)
        else:
            records.Load()
        wanted = str(value).strip()
        return [r for r in records if str(getattr(*holder(r, path)) or "").strip() == wanted]

    def _matching(self, entity: str, table: dict, match: str, value: Any, what: str) -> list:
        """The records a conditional create finds: `match` must be a text value of `table`."""
        path, kind = table.get(match, ("", ""))
        if kind != TEXT:
            raise Refused(f"{what} cannot be matched on {match}.", match)
        return self._holding(entity, path, value)

    def _active(self, entity: str, record_id: str, field: str, what: str) -> Any:
        """The active record with this ID, else Refused naming `field`."""
        found = self._holding(entity, "ID", record_id)
        if not found:
            raise Refused(f"{what} '{record_id}' was not found.", field)
        if found[0].IsInactive:
            raise Refused(f"{what} '{record_id}' is inactive.", field)
        return found[0]

    def _net(self, kind: str, name: str, value: Any) -> Any:
        """A wire value as the SDK takes it; one that cannot be is Refused."""
        try:
            if kind == AMOUNT:
                return self._sdk.to_decimal(Decimal(str(value)))
            if kind == DATE:
                return self._sdk.to_date(date.fromisoformat(str(value)))
            whole = str(int(value)) if isinstance(value, bool) else str(value)
            if kind in (FLAG, DAYS) and re.fullmatch(r"\d{1,3}", whole):
                return bool(int(whole)) if kind == FLAG else int(whole)
            if kind in (TEXT, PERSON, REFERENCE):
                return value if kind == REFERENCE else str(value)
        except (InvalidOperation, ValueError):
            pass
        raise Refused(f"{name} cannot be {value!r}.", name)

    def _set_all(self, entity: Any, table: dict, values: Record, what: str) -> None:
        """Each value onto `entity` through `table`. PaymentTerms are made whole by their
        factory, what is not given kept."""
        terms = {}
        for name, value in values.items():
            if value is None:
                continue
            if name not in table:
                raise Refused(f"{name} is not a value Clarity sets on {what} in Sage 50.", name)
            path, kind = table[name]
            value = self._net(kind, name, value)
            try:
                target, prop = holder(entity, path)
            except LookupError as exc:
                raise Refused(f"{name}: {exc}.", name) from None
            if path.startswith("Terms."):
                terms[prop] = value
            elif kind == PERSON:
                contact, (first, _, last) = getattr(target, prop), value.strip().partition(" ")
                contact.FirstName, contact.LastName = first, last.strip()
            else:
                setattr(target, prop, value)
        if terms:
            current = entity.Terms
            entity.Terms = self._company.Factories.PaymentTermsFactory.Create(
                *(terms.get(name, getattr(current, name)) for name in TERMS_ARGS)
            )

    # ------------------------------------------------------------ Sage50Backend

    def health(self) -> Record:
        def work() -> Record:
            self._open_company()
            return {"status": "ok", "backend": "sdk", "company": self._company_name}

        return self._run(work)

    def create_customer(self, values: Record, match: str = "") -> Record:
        def work() -> Record:
            customers = self._open_company().Factories.CustomerFactory
            if match:
                found = self._matching("Customer", CUSTOMER_PROPERTIES, match, values.get(match),
                                       "A customer")  # fmt: skip
                if found:
                    customer = found[0]
                    return {"CustomerID": str(customer.ID), "Customer_Bill_Name":
                            str(customer.Name), match: values.get(match),
                            "GUID": str(customer.Key.Guid), EXISTED: True}  # fmt: skip
            written = {**values, "CustomerID": values.get("CustomerID") or self._free_id(values)}
            return self._save_customer(customers.Create(), written)

        return self._run(work)

    def _free_id(self, values: Record) -> str:
        name = str(values.get("Customer_Bill_Name") or "").strip()
        if not name:
            raise Refused("A customer needs a CustomerID or a Customer_Bill_Name.", "CustomerID")
        for attempt in range(CUSTOMER_ID_TRIES):
            candidate = customer_code(name, attempt)
            if not self._holding("Customer", "ID", candidate):
                return candidate
        raise Refused(f"No customer ID made from {name} is free: give one.", "CustomerID")

    def _save_customer(self, customer: Any, values: Record) -> Record:
        self._set_all(customer, CUSTOMER_PROPERTIES, values, "a customer")
        customer.Save()
        return {"CustomerID": str(customer.ID), **values, "GUID": str(customer.Key.Guid)}

    def update_customer(self, customer_id: str, values: Record) -> Record:
        def work() -> Record:
            self._open_company()
            found = self._holding("Customer", "ID", customer_id)
            if not found:
                raise Refused(f"Customer ID '{customer_id}' was not found.", "CustomerID")
            return self._save_customer(found[0], values)

        return self._run(work)
