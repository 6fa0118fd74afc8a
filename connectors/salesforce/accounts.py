"""Salesforce Accounts for customer sync and the initial load: the customer half of
`SalesforceCrm`.

Salesforce has no standard Account field for the values Sage owns (credit limit, terms,
balance): the option `crm_fields` names the custom fields they go to, `DEFAULT_ACCOUNT_FIELDS`
unless it says otherwise. A field the org lacks is named, not written. The initial load
upserts Accounts by `ExternalID__c`, so repeating it makes nothing twice.
"""

from decimal import Decimal
from typing import Any

from connectors.base import Record
from connectors.records import AccountWrite, LoadResult
from connectors.values import ADDRESS_PARTS, blank, same

EXTERNAL_ID = "ExternalID__c"
DEFAULT_ACCOUNT_FIELDS = {  # customer sync's Sage-owned fields → Account fields (option)
    "credit_limit": "Credit_Limit__c",
    "terms": "Payment_Terms__c",
    "balance": "Balance__c",
}
STANDARD_ACCOUNT = {  # common field → standard Account fields
    "name": ("Name",),
    "phone": ("Phone",),
    "billing_address": ("BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
                        "BillingCountry"),
}  # fmt: skip
MONEY = {"credit_limit", "balance"}  # written to a text field with two decimals


def account_targets(options: dict[str, Any]) -> dict[str, str]:
    return {**DEFAULT_ACCOUNT_FIELDS, **(options.get("crm_fields") or {})}


def account_fields(field: str, value: Any, target: str, kinds: dict[str, str]) -> dict[str, Any]:
    if field == "billing_address":
        names = zip(STANDARD_ACCOUNT[field], ADDRESS_PARTS, strict=True)
        return {name: value.get(part) or None for name, part in names}
    if value in (None, ""):
        return {target: None}
    if kinds.get(target.lower()) in ("double", "currency", "percent", "int"):
        return {target: float(value)}
    return {target: f"{Decimal(str(value)):.2f}" if field in MONEY else str(value)}


def account_of(customer: dict[str, Any]) -> dict[str, Any]:
    """An Account for a Sage customer's common values (initial load)."""
    address = customer.get("billing_address") or {}
    return {
        EXTERNAL_ID: customer["source_id"],
        "Name": customer["name"],
        "AccountNumber": customer.get("account_number") or None,
        "Phone": customer.get("phone") or None,
        "BillingStreet": address.get("street") or None,
        "BillingCity": address.get("city") or None,
        "BillingState": address.get("state") or None,
        "BillingPostalCode": address.get("zip") or None,
        "BillingCountry": address.get("country") or None,
    }


class SalesforceAccounts:
    """The account half of `SalesforceCrm`, placed before `CrmRole` in its bases; `get`,
    `fields`, `update` and `upsert_many` are the connector's."""

    get: Any
    fields: Any
    update: Any
    upsert_many: Any

    def read_account(self, key: str) -> Record:
        return self.get("Account", key)

    def lacking(self, fields: list[str]) -> str:
        return f"the org has no {', '.join(fields)}"

    def account_values(self, record: Record, options: dict[str, Any]) -> dict[str, Any]:
        """The Account's values of the fields it has (no email: an Account has none)."""
        values = {
            field: record.get(names[0])
            for field, names in STANDARD_ACCOUNT.items()
            if len(names) == 1
        }
        address = [record.get(name) for name in STANDARD_ACCOUNT["billing_address"]]
        values["billing_address"] = dict(zip(ADDRESS_PARTS, address, strict=True))
        for field, name in account_targets(options).items():
            if name in record:
                values[field] = record[name]
        return values

    def write_account(
        self,
        record: Record,
        values: dict[str, Any],
        erp_label: str,
        options: dict[str, Any],
        idempotency_key: str,
    ) -> AccountWrite:
        """Salesforce has no standard Account field for the Sage-owned values: the option
        `crm_fields` names the fields they go to; a field the org lacks is named, not
        written. The version is the Account's SystemModstamp after the write."""
        targets = account_targets(options)
        current = self.account_values(record, options)
        kinds = {name: info["type"] for name, info in self.fields("Account").items()}
        body: dict[str, Any] = {}
        changed, missing = [], []
        for field, value in values.items():
            target = targets.get(field) or (STANDARD_ACCOUNT.get(field) or ("",))[0]
            if not target or target.lower() not in kinds:
                missing.append(target or field)  # no Account field holds an email
            elif not blank(value) and not same(value, current.get(field)):
                changed.append(field)
                body |= account_fields(field, value, target, kinds)
        if not body:
            return AccountWrite(changed, missing)
        self.update("Account", record["Id"], body, idempotency_key)
        version = self.get("Account", record["Id"])["SystemModstamp"]
        return AccountWrite(changed, missing, version)

    def load_accounts(
        self, customers: list[dict[str, Any]], erp_label: str, idempotency_key: str
    ) -> list[LoadResult]:
        """One upsert call per 200 by `ExternalID__c`: repeating it makes nothing twice."""
        accounts = [account_of(customer) for customer in customers]
        results = self.upsert_many("Account", EXTERNAL_ID, accounts)
        return [
            LoadResult(result.id or "") if result.success else LoadResult(error=str(result.error))
            for result in results
        ]
