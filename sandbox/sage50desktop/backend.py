"""The agent's Sage 50 sandbox backend: the SDK's rules applied to the company's tables in
`<data_dir>/sage50desktop.db`.

Each write is one SQLite transaction (BEGIN IMMEDIATE): a refused write raises `Refused`
with a message in Sage 50's words and rolls back, so nothing is written. A conditional
create looks for its external reference inside that same transaction, so no other write
can come between the look and the write. `record_receipt` and `adjust_stock` are for the
sandbox's pages (what a Sage 50 user enters in Receipts and Inventory Adjustments); the
agent does not offer them.
"""

from typing import Any

from agent.backend import EXISTED, Record, Refused, SeveralMatches
from agent.sage50.backend import Sage50Backend
from sandbox.core.company import CompanyFile
from sandbox.sage50desktop.customers import CUSTOMER_FIELDS, Customers, customer_record
from sandbox.sage50desktop.journals import DOCUMENT_NAMES, Journals
from sandbox.sage50desktop.ledger import SALES_JOURNAL, SALES_ORDER_JOURNAL, STOCK_ITEM_CLASS
from sandbox.sage50desktop.records import company, fetch, fetch_all, to_decimal, update

VERSION = "Sage 50 2026 (sandbox)"


class SandboxBackend(CompanyFile, Sage50Backend):
    # ------------------------------------------------------------ Sage50Backend

    def health(self) -> Record:
        with self.transaction() as db:
            name = company(db)["CompanyName"]
        return {"status": "ok", "backend": "sandbox", "company": name, "version": VERSION}

    def create_customer(self, values: Record, match: str = "") -> Record:
        with self.transaction() as db:
            if match:
                if match not in CUSTOMER_FIELDS:
                    raise Refused(f"Customers cannot be matched on {match}.", match)
                found = fetch_all(
                    db,
                    "Customers",
                    f"{match} = ? ORDER BY CustomerRecordNumber",
                    values.get(match),
                )
                if found:
                    return {**customer_record(db, found[0]), EXISTED: True}
            return Customers(db).create(values)

    def update_customer(self, customer_id: str, values: Record) -> Record:
        with self.transaction() as db:
            return Customers(db).update(customer_id, values)

    def create_sales_invoice(self, header: Record, lines: list[Record], match: str = "") -> Record:
        return self._create_document(SALES_JOURNAL, header, lines, match)

    def create_sales_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        return self._create_document(SALES_ORDER_JOURNAL, header, lines, match)

    def _create_document(
        self, journal: int, header: Record, lines: list[Record], match: str
    ) -> Record:
        with self.transaction() as db:
            journals = Journals(db)
            if match:
                found = journals.holding(journal, match, header.get(match))
                if len(found) > 1:
                    numbers = ", ".join(hdr["Reference"] for hdr in found)
                    raise SeveralMatches(
                        f"Sage 50 has {len(found)} {DOCUMENT_NAMES[journal]}s with {match} "
                        f"{header.get(match)}: {numbers}."
                    )
                if found:
                    return {**journals.record(found[0]["PostOrder"]), EXISTED: True}
            return journals.create(journal, header, lines)

    # ------------------------------------------------------------ the sandbox's pages

    def record_receipt(
        self,
        customer_id: str,
        invoice_number: str,
        amount: Any,
        reference: str,
        method: str,
        date: Any = None,
    ) -> Record:
        """A payment applied to one invoice: journal 1, the invoice's AmountPaid and the
        customer's Balance, or Refused (an overpayment among others)."""
        with self.transaction() as db:
            return Journals(db).record_receipt(
                customer_id, invoice_number, amount, reference, method, date
            )

    def adjust_stock(self, item_id: str, quantity_on_hand: Any) -> Record:
        """Set a stock item's quantity on hand (an inventory adjustment)."""
        with self.transaction() as db:
            item = fetch(db, "LineItem", "ItemID = ?", item_id)
            if item is None:
                raise Refused(f"Item ID '{item_id}' was not found.", "ItemID")
            if item["ItemClass"] != STOCK_ITEM_CLASS:
                raise Refused(f"Item ID '{item_id}' is not a stock item.", "ItemID")
            quantity = to_decimal(quantity_on_hand, "QuantityOnHand")
            if quantity < 0:
                raise Refused("The quantity on hand cannot be negative.", "QuantityOnHand")
            item["QuantityOnHand"] = quantity
            update(db, "LineItem", item, "ItemRecordNumber")
            return fetch(db, "LineItem", "ItemID = ?", item_id) or {}
