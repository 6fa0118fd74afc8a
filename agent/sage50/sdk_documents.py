"""Sales invoices and sales orders through the Sage 50 SDK, the half of `SdkBackend` that
sells: `SalesInvoiceFactory`/`SalesOrderFactory`, a sales line per line, one Save.

A conditional create (`match`, InternalNote) answers with the document already holding the
value; several are SeveralMatches. The customer, each line's item and GL account and the
sales rep are loaded before the document is made, so a refusal leaves nothing behind. A
missing ReferenceNumber is the highest of its document type plus one (which loads them all).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from agent.backend import EXISTED, Record, Refused, SeveralMatches
from agent.sage50.sdk_properties import INVOICE_PROPERTIES, LINE_PROPERTIES, ORDER_PROPERTIES

CENT = Decimal("0.01")
NUMBERED = re.compile(r"^(.*?)(\d+)$")  # a reference number's prefix and its number


@dataclass(frozen=True)
class DocumentKind:
    entity: str  # the SDK entity, also its filters' prefix
    label: str
    add_line: str  # the method adding a sales line
    properties: dict[str, tuple[str, str]]


INVOICE = DocumentKind("SalesInvoice", "sales invoice", "AddSalesLine", INVOICE_PROPERTIES)
ORDER = DocumentKind("SalesOrder", "sales order", "AddLine", ORDER_PROPERTIES)


def next_reference(numbers: list[str]) -> str:
    """The highest numbered reference plus one, keeping its prefix and width."""
    found = [match.groups() for match in map(NUMBERED.match, numbers) if match]
    if not found:
        return "1"
    prefix, digits = max(found, key=lambda groups: int(groups[1]))
    return f"{prefix}{int(digits) + 1:0{len(digits)}d}"


class SdkDocuments:
    """Placed before `Sage50Backend` in `SdkBackend`'s bases; the helpers are SdkBackend's."""

    _sdk: Any  # the loaded `Sdk`
    today: Callable[[], date]
    _run: Callable[[Callable[[], Any]], Any]
    _open_company: Callable[[], Any]
    _matching: Callable[..., list[Any]]
    _active: Callable[[str, str, str, str], Any]
    _set_all: Callable[[Any, dict, Record, str], None]

    def create_sales_invoice(self, header: Record, lines: list[Record], match: str = "") -> Record:
        return self._run(lambda: self._create_document(INVOICE, header, lines, match))

    def create_sales_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        return self._run(lambda: self._create_document(ORDER, header, lines, match))

    def _create_document(
        self, kind: DocumentKind, header: Record, lines: list[Record], match: str
    ) -> Record:
        factory = getattr(self._open_company().Factories, f"{kind.entity}Factory")
        found = self._matching(kind.entity, kind.properties, match, header.get(match),
                               f"A {kind.label}") if match else []  # fmt: skip
        if len(found) > 1:
            numbers = ", ".join(str(document.ReferenceNumber) for document in found)
            raise SeveralMatches(
                f"Sage 50 has {len(found)} {kind.label}s with {match} {header[match]}: {numbers}."
            )
        if found:
            return {"ReferenceNumber": str(found[0].ReferenceNumber), match: header[match],
                    "MainAmount": self._sdk.from_decimal(found[0].Amount),
                    "GUID": str(found[0].Key.Guid), "lines": [], EXISTED: True}  # fmt: skip
        if not header.get("CustomerID") or not lines:
            field = "lines" if header.get("CustomerID") else "CustomerID"
            raise Refused(f"A {kind.label} needs a CustomerID and at least one line.", field)
        customer = self._active("Customer", str(header["CustomerID"]), "CustomerID", "Customer ID")
        made = [self._line(number, line) for number, line in enumerate(lines, start=1)]
        written = {**header, "Date": header.get("Date") or self.today().isoformat()}
        if not written.get("ReferenceNumber"):
            documents = factory.List()
            documents.Load()
            written["ReferenceNumber"] = next_reference([str(d.ReferenceNumber) for d in documents])
        document = factory.Create()
        sdk_header = {**written, "CustomerID": customer.Key, **self._sales_rep(written)}
        self._set_all(document, kind.properties, sdk_header, f"a {kind.label}")
        for sdk_line, _ in made:
            line = getattr(document, kind.add_line)()
            self._set_all(line, LINE_PROPERTIES, sdk_line, f"a {kind.label} line")
        document.Save()
        return {**written, "MainAmount": self._sdk.from_decimal(document.Amount),
                "GUID": str(document.Key.Guid), "lines": [wire for _, wire in made]}  # fmt: skip

    def _sales_rep(self, header: Record) -> Record:
        """The named sales rep's Key; none named (an owner the salespeople table lacks),
        left to Sage, which takes the customer's own sales rep."""
        if not header.get("SalesRepID"):
            return {"SalesRepID": None}
        rep = self._active("Employee", str(header["SalesRepID"]), "SalesRepID", "Sales rep")
        return {"SalesRepID": rep.Key}

    def _line(self, number: int, line: Record) -> tuple[Record, Record]:
        """A line for the SDK (item and account loaded: Refused when unknown or inactive) and
        for the reply, Amount made from Quantity times UnitPrice to the cent."""
        wire, where = dict(line), f"Line {number}:"
        quantity, price, amount = (wire.get(n) for n in ("Quantity", "UnitPrice", "Amount"))
        if quantity is None or Decimal(str(quantity)) <= 0:
            raise Refused(f"{where} Quantity must be a number more than 0.", "Quantity")
        if price is not None:
            product = (Decimal(str(quantity)) * Decimal(str(price))).quantize(CENT, ROUND_HALF_UP)
            if amount is not None and Decimal(str(amount)) != product:
                message = f"{where} Amount {amount} is not Quantity times UnitPrice ({product})."
                raise Refused(message, "Amount")
            wire["Amount"] = product
        sdk_line, item = dict(wire), None
        if wire.get("ItemID"):
            item = self._active("InventoryItem", str(wire["ItemID"]), "ItemID", f"{where} item")
            sdk_line["ItemID"] = item.Key
        if wire.get("AccountID"):
            account_id, what = str(wire["AccountID"]), f"{where} GL account"
            sdk_line["AccountID"] = self._active("Account", account_id, "AccountID", what).Key
        elif item is not None:
            sdk_line["AccountID"] = item.SalesAccountReference  # the item's own sales account
        return sdk_line, wire
