"""Sage 50 US (desktop) customers in the ERP role: found over ODBC by the CRM id, email or
name, made and updated through the Clarity agent, read for customer sync and the initial
load: the customer half of `Sage50DesktopErp`.

A customer create names the CRM id in the customer's reference column
(`customer_reference_field`, CustomField5 unless the connection says otherwise; an id longer
than its 20 characters, such as Streak's, as a digest that fits), and the agent answers with
the customer Sage already holds for it, in the same write, instead of making a second one.
"""

import re
from typing import Any

from connectors.agent_client import segment
from connectors.base import Record
from connectors.records import CustomerMatch
from connectors.sage50desktop.client import SYSTEM
from connectors.sage50desktop.entities import ADDRESS_COLUMNS
from connectors.values import ADDRESS_PARTS, NamesakeColumns, ambiguous_customers, fitted_id

DEFAULT_REFERENCE_FIELD = "CustomField5"
REFERENCE_LENGTH = 20  # the custom fields' width
CANDIDATES = 10  # customers listed when several match
CUSTOMER_COLUMNS = {  # common field → the agent's customer names it is written to
    "name": ("Customer_Bill_Name",),
    "phone": ("Phone_Number",),
    "email": ("eMail_Address",),
    "billing_address": ADDRESS_COLUMNS,
    "credit_limit": ("Terms_CreditLimit",),
    "terms": ("Terms_DueDays",),
}
NAMESAKE_COLUMNS = NamesakeColumns("Customer_Bill_Name", "eMail_Address", "Balance")


def fitted_reference(crm_id: str) -> str:
    """The CRM id as a 20-character custom field holds it (`fitted_id`)."""
    return fitted_id(crm_id, REFERENCE_LENGTH)


def customer_columns(field: str, value: Any) -> dict[str, Any]:
    """The agent's customer names (Customers and main Address columns) for a common field."""
    if field == "billing_address":
        lines = [*str(value.get("street") or "").split("\n"), ""]
        parts = [lines[0], ", ".join(line for line in lines[1:] if line),
                 *(value.get(part) for part in ADDRESS_PARTS[1:])]  # fmt: skip
        return {column: part or "" for column, part in zip(ADDRESS_COLUMNS, parts, strict=True)}
    if field == "terms":
        days = re.search(r"\d+", str(value or ""))
        return {"Terms_DueDays": int(days.group()) if days else 0}
    return {CUSTOMER_COLUMNS[field][0]: value if value not in (None, "") else ""}


def terms_of(due_days: Any) -> str | None:
    """Terms_DueDays as the CRMs word terms ("Net 30", "Due on receipt")."""
    if due_days in (None, ""):
        return None
    return f"Net {due_days}" if int(due_days) else "Due on receipt"


class Sage50DesktopCustomers:
    """Placed before `ErpRole` in `Sage50DesktopErp`'s bases; `settings`, `agent`, `get`,
    `search`, `stream` and `change_of` are the connector's."""

    settings: dict[str, Any]
    agent: Any  # AgentClient
    get: Any
    search: Any
    stream: Any
    change_of: Any

    @property
    def reference_field(self) -> str:
        """The customer column holding the CRM id (CustomField1…5)."""
        return self.settings.get("customer_reference_field") or DEFAULT_REFERENCE_FIELD

    def customer_ref(self, record: Record) -> str:
        return record["CustomerID"]

    def bound_customer(self, ref: str, customer: dict[str, Any]) -> CustomerMatch:
        return CustomerMatch(ref, customer["name"], "bound before")

    def find_or_create_customer(
        self, values: Record, customer: dict[str, Any], idempotency_key: str
    ) -> CustomerMatch:
        """By the CRM id in the reference column, then email, then name; else created
        through the agent naming that column, so a customer made for the CRM record
        meanwhile is returned instead of a second one."""
        column = self.reference_field
        values = self.with_reference(values, customer)
        found = self.find_customer(values, customer)
        if found is not None:
            return found
        match = column if values.get(column) else ""
        created, existed = self.agent.create(
            "/v1/customers", "customer", values, idempotency_key, match=match
        )
        return self.match(created, "found by CRM id" if existed else "created")

    def with_reference(self, values: Record, customer: dict[str, Any]) -> Record:
        """`values` naming the CRM record in the reference column (a digest when too long)."""
        crm_id = str((customer.get("external_refs") or {}).get("crm") or "")
        reference = values.get(self.reference_field) or fitted_reference(crm_id)
        return {**values, self.reference_field: reference} if reference else values

    def find_customer(self, values: Record, customer: dict[str, Any]) -> CustomerMatch | None:
        column = self.reference_field
        values = self.with_reference(values, customer)
        searches = [
            ("CRM id", column, values.get(column)),
            ("email", "eMail_Address", values.get("eMail_Address") or customer.get("email")),
            ("name", "Customer_Bill_Name", values.get("Customer_Bill_Name") or customer["name"]),
        ]
        for how, field, value in searches:
            if value:
                found = self.search("customer", limit=CANDIDATES, **{field: value})
                if len(found) > 1:
                    several = {self.customer_ref(c): c for c in found}
                    raise ambiguous_customers(
                        "Sage 50", SYSTEM, how, value, several, NAMESAKE_COLUMNS
                    )
                if found:
                    return self.match(found[0], f"found by {how}")
        return None

    def match(self, record: Record, how: str) -> CustomerMatch:
        return CustomerMatch(record["CustomerID"], record.get("Customer_Bill_Name") or "", how)

    def read_customer(self, ref: str) -> Record:
        return self.get("customer", ref)

    def customer_values(self, record: Record) -> dict[str, Any]:
        lines = [record.get("AddressLine1") or "", record.get("AddressLine2") or ""]
        address = ["\n".join(line for line in lines if line),
                   *(record.get(c) for c in ("City", "State", "Zip", "Country"))]  # fmt: skip
        days = record.get("Terms_DueDays")
        return {
            "name": record.get("Customer_Bill_Name"),
            "phone": record.get("Phone_Number"),
            "email": record.get("eMail_Address"),
            "billing_address": dict(zip(ADDRESS_PARTS, address, strict=True)),
            "credit_limit": record.get("Terms_CreditLimit"),
            "terms": terms_of(days),
            "balance": record.get("Balance"),
            "account_number": record.get("CustomerID"),
        }

    def update_customer(self, ref: str, values: dict[str, Any], idempotency_key: str) -> str:
        """Written through the agent; the stamp the customer feed will see for it."""
        body = {
            name: part
            for field, value in values.items()
            for name, part in customer_columns(field, value).items()
        }
        self.agent.call("PATCH", f"/v1/customers/{segment(ref)}", body, idempotency_key)
        return self.change_of("customer", self.get("customer", ref)).stamp

    def customers_to_load(self) -> list[Record]:
        """In CustomerID order, less those holding a CRM id in the reference column."""
        column = self.reference_field
        return [row for row in self.stream("customer") if not (row.get(column) or "").strip()]
