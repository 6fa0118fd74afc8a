"""Sage 100 customers in the ERP role (AR_Customer, keyed `<division>-<customer no>`): found
by the CRM record's id, email or name, created and updated through the bridge, read for
customer sync; the customer half of `Sage100Erp`.

A bound customer costs no call at all (its reference is the binding; its name, for the
note, is the deal's). A customer create names the CRM id (`UDF_CRM_ID`), so the bridge
answers with a customer made for it meanwhile.
"""

from typing import Any

from connectors.base import Record
from connectors.records import CustomerMatch
from connectors.values import ADDRESS_PARTS, NamesakeColumns, ambiguous_customers, fitted_id

REFERENCE_LENGTH = 40  # UDF_CRM_ID's width
CANDIDATES = 10  # customers listed when several match
CUSTOMER_REFERENCE = "UDF_CRM_ID"
CUSTOMER_COLUMNS = {  # common field → AR_Customer columns it is written to
    "name": ("CustomerName",),
    "phone": ("TelephoneNo",),
    "email": ("EmailAddress",),
    "billing_address": ("AddressLine1", "AddressLine2", "AddressLine3", "City", "State",
                        "ZipCode", "CountryCode"),
    "credit_limit": ("CreditLimit",),
    "terms": ("TermsCode",),
}  # fmt: skip
NAMESAKE_COLUMNS = NamesakeColumns("CustomerName", "EmailAddress", "CurrentBalance")


def customer_columns(field: str, value: Any) -> dict[str, Any]:
    if field == "billing_address":
        lines = [*str(value.get("street") or "").split("\n"), "", ""][:3]
        parts = [*lines, *(value.get(part) for part in ADDRESS_PARTS[1:])]
        columns = CUSTOMER_COLUMNS[field]
        return {column: part or "" for column, part in zip(columns, parts, strict=True)}
    return {CUSTOMER_COLUMNS[field][0]: value if value not in (None, "") else None}


class Sage100Customers:
    """The customer half of `Sage100Erp`, placed before `ErpRole` in its bases; `get`,
    `search`, `create`, `update`, `stream` and `change_of` are the connector's."""

    get: Any
    search: Any
    create: Any
    update: Any
    stream: Any
    change_of: Any

    def customer_ref(self, record: Record) -> str:
        return f"{record['ARDivisionNo']}-{record['CustomerNo']}"

    def bound_customer(self, ref: str, customer: dict[str, Any]) -> CustomerMatch:
        return CustomerMatch(ref, customer["name"], "bound before")

    def find_or_create_customer(
        self, values: Record, customer: dict[str, Any], idempotency_key: str
    ) -> CustomerMatch:
        """By the CRM record's id in UDF_CRM_ID (a key longer than the column, such as
        Streak's, by a digest that fits), then email, then name; the create names the id, so
        the bridge answers with a customer made for it meanwhile."""
        values = self.with_reference(values, customer)
        found = self.find_customer(values, customer)
        if found is not None:
            return found
        created = self.create("customer", values, idempotency_key)
        return self.match(created, "found by CRM id" if created.get("existed") else "created")

    def with_reference(self, values: Record, customer: dict[str, Any]) -> Record:
        """`values` naming the CRM record in UDF_CRM_ID (a digest when its id is too long)."""
        crm_id = str((customer.get("external_refs") or {}).get("crm") or "")
        reference = values.get(CUSTOMER_REFERENCE) or fitted_id(crm_id, REFERENCE_LENGTH)
        return {**values, CUSTOMER_REFERENCE: reference} if reference else values

    def find_customer(self, values: Record, customer: dict[str, Any]) -> CustomerMatch | None:
        values = self.with_reference(values, customer)
        searches = [
            ("CRM id", CUSTOMER_REFERENCE, values.get(CUSTOMER_REFERENCE)),
            ("email", "EmailAddress", values.get("EmailAddress")),
            ("name", "CustomerName", values.get("CustomerName")),
        ]
        for how, column, value in searches:
            if value:
                found = self.search("customer", limit=CANDIDATES, **{column: value})
                if len(found) > 1:
                    several = {self.customer_ref(c): c for c in found}
                    raise ambiguous_customers(
                        "Sage 100", "sage100", how, value, several, NAMESAKE_COLUMNS
                    )
                if found:
                    return self.match(found[0], f"found by {how}")
        return None

    def match(self, record: Record, how: str) -> CustomerMatch:
        return CustomerMatch(self.customer_ref(record), record.get("CustomerName") or "", how)

    def read_customer(self, ref: str) -> Record:
        return self.get("customer", ref)

    def customer_values(self, record: Record) -> dict[str, Any]:
        lines = [record.get(f"AddressLine{n}") or "" for n in (1, 2, 3)]
        street = "\n".join(line for line in lines if line)
        address = [street, *(record.get(c) for c in ("City", "State", "ZipCode", "CountryCode"))]
        return {
            "name": record.get("CustomerName"),
            "phone": record.get("TelephoneNo"),
            "email": record.get("EmailAddress"),
            "billing_address": dict(zip(ADDRESS_PARTS, address, strict=True)),
            "credit_limit": record.get("CreditLimit"),
            "terms": record.get("TermsCode"),
            "balance": record.get("CurrentBalance"),
            "account_number": record.get("CustomerNo"),
        }

    def update_customer(self, ref: str, values: dict[str, Any], idempotency_key: str) -> str:
        body = {
            k: v
            for field, value in values.items()
            for k, v in customer_columns(field, value).items()
        }
        self.update("customer", ref, body, idempotency_key)
        return self.change_of("customer", self.get("customer", ref)).stamp

    def customers_to_load(self) -> list[Record]:
        """In key order, less those bound to a CRM record already (`UDF_CRM_ID`)."""
        return [
            row
            for row in self.stream("customer")
            if not (row.get(CUSTOMER_REFERENCE) or "").strip()
        ]
