"""The ledger behind the API: validates and applies writes to contacts, products, sales
invoices and contact payments, keeping totals, balances, statuses and timestamps consistent.

Every create runs in one SQLite transaction together with its `idempotency_id`, so a
retried POST with the same id returns the first record and creates nothing new.
"""

import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.core.store import DocumentStore
from sandbox.sage_accounting import data, sales
from sandbox.sage_accounting.errors import Problems, invalid, not_found
from sandbox.sage_accounting.people import build_contact_person
from sandbox.sage_accounting.shapes import (
    fixed_link,
    link,
    money_text,
    seed_id,
    timestamp,
    to_decimal,
)

SINGULAR = {
    "contacts": "contact",
    "products": "product",
    "sales_invoices": "sales_invoice",
    "contact_payments": "contact_payment",
    "contact_persons": "contact_person",
}
NESTED_OBJECTS = ("main_address", "main_contact_person")
IDEMPOTENCY_ID = re.compile(r"^[0-9a-fA-F]{32}$")


class Books:
    def __init__(self, store: DocumentStore, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))

    # ------------------------------------------------------------ lookups

    def find(self, collection: str, record_id: Any) -> dict[str, Any] | None:
        if not isinstance(record_id, str) or not record_id:
            return None
        return self.store.get(collection, record_id)

    def require(self, collection: str, record_id: str) -> dict[str, Any]:
        doc = self.find(collection, record_id)
        if doc is None:
            raise not_found()
        return doc

    # ------------------------------------------------------------ writes

    def create(
        self,
        collection: str,
        body: dict[str, Any],
        record_id: str | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Validate and store a new record (or return the one its idempotency_id made)."""
        with self.store.transaction():
            key = body.get("idempotency_id")
            if key is not None:
                if not isinstance(key, str) or not IDEMPOTENCY_ID.match(key):
                    raise invalid("idempotency_id", "must be a 32-character hex GUID")
                earlier = self.store.get("idempotency", f"{collection}:{key.lower()}")
                if earlier:
                    return self.require(collection, earlier["id"])
            moment = timestamp(at or self.clock())
            record_id = record_id or secrets.token_hex(16)
            fields = self._build(collection, body, record_id, None)
            if collection == "sales_invoices":
                number = int(self.store.get_meta("next_invoice_number", "1"))
                self.store.set_meta("next_invoice_number", str(number + 1))
                fields = {
                    "displayed_as": f"SI-{number}",
                    "invoice_number": f"SI-{number}",
                    **fields,
                }
            doc = {
                "id": record_id,
                "displayed_as": fields.pop("displayed_as"),
                "$path": f"/{collection}/{record_id}",
                **fields,
                "created_at": moment,
                "updated_at": moment,
            }
            self.store.put(collection, record_id, doc)
            self.store.put("inputs", f"{collection}:{record_id}", body)
            if key is not None:
                self.store.put("idempotency", f"{collection}:{key.lower()}", {"id": record_id})
            self._after_write(collection, doc, at)
            return self.require(collection, record_id)

    def update(self, collection: str, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT: the given fields over the ones stored; nested address/person objects merge."""
        with self.store.transaction():
            current = self.require(collection, record_id)
            if collection == "contact_payments":
                raise invalid("", "Payments cannot be edited; delete it")
            merged = dict(self.store.get("inputs", f"{collection}:{record_id}") or {})
            for name, value in body.items():
                if name in NESTED_OBJECTS and isinstance(value, dict):
                    value = {**(merged.get(name) or {}), **value}
                merged[name] = value
            fields = self._build(collection, merged, record_id, current)
            doc = {**current, **fields, "updated_at": timestamp(self.clock())}
            self.store.put(collection, record_id, doc)
            self.store.put("inputs", f"{collection}:{record_id}", merged)
            if collection == "sales_invoices":
                self._refresh_balance(current["contact"]["id"])
            self._after_write(collection, doc, None)
            return self.require(collection, record_id)

    def delete(self, collection: str, record_id: str, void_reason: str | None) -> None:
        """DELETE: invoices are voided, payments reversed, contacts/products removed when
        nothing refers to them."""
        with self.store.transaction():
            doc = self.require(collection, record_id)
            if collection == "sales_invoices":
                self._void(doc, void_reason)
                return
            if collection == "contact_payments":
                self._reverse_payment(doc)
            elif self._is_referenced(collection, record_id):
                raise invalid("id", "has transactions and cannot be deleted")
            self.store.delete(collection, record_id)
            self.store.put(
                "deleted",
                record_id,
                {**link(doc), "collection": collection, "deleted_at": timestamp(self.clock())},
            )

    def deleted_since(self, collection: str) -> list[dict[str, Any]]:
        return [d for d in self.store.all("deleted") if d["collection"] == collection]

    # ------------------------------------------------------------ builders

    def saved_input(self, collection: str, record_id: str) -> dict[str, Any]:
        """The fields last posted or put for a record (what PUT merges into)."""
        return self.store.get("inputs", f"{collection}:{record_id}") or {}

    def _build(self, collection: str, body: Any, record_id: str, current: dict | None) -> dict:
        if not isinstance(body, dict):
            raise invalid("", "must be an object")
        if collection == "contacts":
            return self._contact(body, current)
        if collection == "products":
            return self._product(body, current)
        if collection == "contact_persons":
            return build_contact_person(self, body, current)
        if collection == "sales_invoices":
            return sales.build_invoice(self, body, record_id, current)
        return sales.build_payment(self, body, record_id, current)

    def linked(
        self, problems: Problems, collection: str, body: dict, name: str, required: bool = False
    ) -> dict[str, Any] | None:
        """The record `body[name]` points to; records a problem if missing or unknown."""
        value = body.get(name)
        if value in (None, ""):
            if required:
                problems.add(name, "can't be blank")
            return None
        doc = self.find(collection, value)
        if doc is None:
            problems.add(name, "is not valid")
        return doc

    def number(self, problems: Problems, body: dict, name: str, default: Any = None) -> Decimal:
        value = body.get(name, default)
        if value is None:
            problems.add(name, "can't be blank")
            return Decimal(0)
        try:
            number = to_decimal(value)
        except ValueError as exc:
            problems.add(name, str(exc))
            return Decimal(0)
        if number < 0:
            problems.add(name, "must be greater than or equal to 0")
        return number

    def _contact(self, body: dict, current: dict | None) -> dict[str, Any]:
        problems = Problems()
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.add("name", "can't be blank")
            name = ""
        type_ids = body.get("contact_type_ids")
        known_types = dict(data.CONTACT_TYPES)
        if not isinstance(type_ids, list) or not type_ids:
            problems.add("contact_type_ids", "can't be blank")
            type_ids = []
        elif any(t not in known_types for t in type_ids):
            problems.add("contact_type_ids", "is not a valid contact type")
            type_ids = []
        reference = body.get("reference") or (current or {}).get("reference")
        if not reference:
            reference = self._free_reference(name)
        elif any(
            c["reference"] == reference and c["id"] != (current or {}).get("id")
            for c in self.store.all("contacts")
        ):
            problems.add("reference", "has already been taken")
        currency = self.linked(
            problems, "currencies", {"currency_id": "USD", **body}, "currency_id"
        )
        credit_limit = self.number(problems, body, "credit_limit", 0)
        credit_days = self.number(problems, body, "credit_days", 30)
        ledger = self.linked(problems, "ledger_accounts", body, "default_sales_ledger_account_id")
        tax_rate = self.linked(problems, "tax_rates", body, "default_sales_tax_rate_id")
        address = body.get("main_address") or {}
        person = body.get("main_contact_person") or {}
        if not isinstance(address, dict) or not isinstance(person, dict):
            problems.add("main_address", "must be an object")
            address, person = {}, {}
        email = person.get("email")
        if email and "@" not in str(email):
            problems.add("main_contact_person.email", "is invalid")
        problems.raise_if_any()
        country = address.get("country_id") or "US"
        return {
            "displayed_as": f"{name} ({reference})",
            "contact_types": [fixed_link("contact_types", t, known_types[t]) for t in type_ids],
            "name": name,
            "reference": reference,
            "tax_number": body.get("tax_number"),
            "notes": body.get("notes"),
            "locale": "en",
            "main_address": {
                **{k: address.get(k) for k in ("address_line_1", "address_line_2", "city")},
                "region": address.get("region"),
                "postal_code": address.get("postal_code"),
                "country": fixed_link(
                    "countries", country, f"{data.COUNTRY_NAMES.get(country, country)} ({country})"
                ),
            },
            "main_contact_person": {
                "name": person.get("name"),
                "email": email,
                "telephone": person.get("telephone"),
                "mobile": person.get("mobile"),
                "is_main_contact": True,
            },
            "email": email,
            "currency": link(currency),
            "credit_limit": money_text(credit_limit),
            "credit_days": int(credit_days),
            "default_sales_ledger_account": link(ledger),
            "default_sales_tax_rate": link(tax_rate),
            "balance": (current or {}).get("balance", "0.00"),
            "system": False,
        }

    def _free_reference(self, name: str) -> str:
        taken = {c["reference"] for c in self.store.all("contacts")}
        return data.unique_reference(name, taken)

    def _product(self, body: dict, current: dict | None) -> dict[str, Any]:
        problems = Problems()
        description = body.get("description")
        if not isinstance(description, str) or not description.strip():
            problems.add("description", "can't be blank")
        item_code = body.get("item_code")
        if item_code and any(
            p["item_code"] == item_code and p["id"] != (current or {}).get("id")
            for p in self.store.all("products")
        ):
            problems.add("item_code", "has already been taken")
        sales = self.linked(problems, "ledger_accounts", body, "sales_ledger_account_id", True)
        purchase = self.linked(
            problems, "ledger_accounts", body, "purchase_ledger_account_id", True
        )
        prices = []
        for index, price in enumerate(body.get("sales_prices") or []):
            amount = self.number(problems, price, "price")
            name = price.get("price_name") or "Selling Price"
            prices.append(
                {
                    "id": seed_id("sales_price", index, name),
                    "displayed_as": name,
                    "price_name": name,
                    "price": money_text(amount),
                    "price_includes_tax": bool(price.get("price_includes_tax", False)),
                }
            )
        cost_price = self.number(problems, body, "cost_price", 0)
        problems.raise_if_any()
        return {
            "displayed_as": description,
            "item_code": item_code,
            "description": description,
            "sales_ledger_account": link(sales),
            "purchase_ledger_account": link(purchase),
            "sales_prices": prices,
            "cost_price": money_text(cost_price),
            "active": body.get("active", True) is not False,
            "notes": body.get("notes"),
            "catalog_item_type": fixed_link("catalog_item_types", "STOCK_ITEM", "Stock"),
        }

    # ------------------------------------------------------------ side effects

    def _after_write(self, collection: str, doc: dict[str, Any], at: datetime | None) -> None:
        if collection == "sales_invoices":
            self._refresh_balance(doc["contact"]["id"])
        elif collection == "contact_payments":
            moment = timestamp(at or self.clock())
            for allocation in doc["allocated_artefacts"]:
                invoice = self.require("sales_invoices", allocation["artefact"]["id"])
                entry = {**link(doc), "date": doc["date"], "amount": allocation["amount"]}
                invoice["payments_allocations"] = [*invoice["payments_allocations"], entry]
                self.store.put(
                    "sales_invoices", invoice["id"], {**sales.settle(invoice), "updated_at": moment}
                )
            self._refresh_balance(doc["contact"]["id"])

    def _refresh_balance(self, contact_id: str) -> None:
        """A contact's balance: what its live invoices still have outstanding."""
        contact = self.find("contacts", contact_id)
        if contact is None:
            return
        balance = sum(
            (
                Decimal(invoice["outstanding_amount"])
                for invoice in self.store.all("sales_invoices")
                if invoice["contact"]["id"] == contact_id
            ),
            Decimal(0),
        )
        self.store.put("contacts", contact_id, {**contact, "balance": money_text(balance)})

    def _void(self, invoice: dict[str, Any], void_reason: str | None) -> None:
        problems = Problems()
        if invoice["status"]["id"] == "VOID":
            problems.add("id", "is already void")
        elif Decimal(invoice["total_paid"]) > 0:
            problems.add("id", "has payments allocated; delete those payments first")
        if not void_reason:
            problems.add("void_reason", "can't be blank")
        problems.raise_if_any()
        voided = {
            **invoice,
            "status": sales.status_link("VOID"),
            "void_reason": void_reason,
            "outstanding_amount": "0.00",
            "base_currency_outstanding_amount": "0.00",
            "editable": False,
            "updated_at": timestamp(self.clock()),
        }
        self.store.put("sales_invoices", invoice["id"], voided)
        self._refresh_balance(invoice["contact"]["id"])

    def _reverse_payment(self, payment: dict[str, Any]) -> None:
        moment = timestamp(self.clock())
        for allocation in payment["allocated_artefacts"]:
            invoice = self.find("sales_invoices", allocation["artefact"]["id"])
            if invoice is None:
                continue
            invoice["payments_allocations"] = [
                entry for entry in invoice["payments_allocations"] if entry["id"] != payment["id"]
            ]
            self.store.put(
                "sales_invoices", invoice["id"], {**sales.settle(invoice), "updated_at": moment}
            )
        self._refresh_balance(payment["contact"]["id"])

    def _is_referenced(self, collection: str, record_id: str) -> bool:
        if collection == "contacts":
            return any(
                doc["contact"]["id"] == record_id
                for name in ("sales_invoices", "contact_payments")
                for doc in self.store.all(name)
            )
        return any(
            (line["product"] or {}).get("id") == record_id
            for invoice in self.store.all("sales_invoices")
            for line in invoice["invoice_lines"]
        )
