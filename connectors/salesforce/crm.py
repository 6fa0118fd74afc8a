"""Salesforce in the CRM role: a deal is an Opportunity with its Account, first Contact and
OpportunityLineItems; notes are lines appended to the opportunity's Description (the
sandbox org, like many, has no Task or Chatter object to post to); the account is the
Account, upserted by `ExternalID__c` in bulk loads; products are Product2 records.

`read_deal` reads every Opportunity and Account field the pair's mapping names besides the
standard ones, so a custom field mapped in the designer is filled when the flow runs.
"""

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from connectors.base import Record, WebhookEvent, parse_moment
from connectors.errors import NotFound, ValidationError
from connectors.roles import (
    ACCOUNT_LOAD,
    ACCOUNT_SYNC,
    ACCOUNTS,
    DEAL_STAGE,
    INVOICE_FIELD,
    ITEM_RECORDS,
    WON_DEALS,
    AccountWrite,
    Change,
    CrmRole,
    DealRead,
    Feed,
    LoadResult,
    StageHint,
)
from connectors.salesforce.oauth import SYSTEM
from connectors.salesforce.soql import soql_literal
from connectors.values import ADDRESS_PARTS, blank, same

OPPORTUNITY_FIELDS = (
    "Id", "Name", "StageName", "CloseDate", "Amount", "CurrencyIsoCode", "ExternalID__c",
    "AccountId", "Description",
)  # fmt: skip
ACCOUNT_FIELDS = (
    "Id", "Name", "Phone", "Industry", "AccountNumber", "BillingStreet", "BillingCity",
    "BillingState", "BillingPostalCode", "BillingCountry", "ShippingStreet", "ShippingCity",
    "ShippingState", "ShippingPostalCode", "ShippingCountry",
)  # fmt: skip
LINE_FIELDS = ("ProductCode", "Name", "Quantity", "UnitPrice", "TotalPrice", "Product2.Family")
CONTACT_FIELDS = ("FirstName", "LastName", "Email", "Phone", "Title")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
OPPORTUNITY_ID = re.compile(r"^006[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$")
EXTERNAL_ID = "ExternalID__c"
POLLED_OPPORTUNITY, POLLED_ACCOUNT = "salesforce.opportunity", "salesforce.account"
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


def mapped_columns(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """The Opportunity and Account fields `paths` name beyond the standard ones; names that
    are not plain field names are left out, so a mapping cannot change the query."""
    opportunity, account = [], []
    for path in paths:
        head, _, rest = path.partition(".")
        if head == "Account" and FIELD_NAME.match(rest) and rest not in ACCOUNT_FIELDS:
            account.append(rest)
        elif not rest and FIELD_NAME.match(head) and head not in OPPORTUNITY_FIELDS:
            opportunity.append(head)
    return sorted(set(opportunity) - {"Account", "Contact", "OpportunityLineItems"}), sorted(
        set(account)
    )


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


class SalesforceCrm(CrmRole):
    capabilities = frozenset({WON_DEALS, INVOICE_FIELD, ACCOUNT_SYNC, ACCOUNT_LOAD, ITEM_RECORDS})
    feeds = {
        DEAL_STAGE: (Feed("Opportunity", POLLED_OPPORTUNITY, bare_key=True),),
        ACCOUNTS: (Feed("Account", POLLED_ACCOUNT, record="account"),),
    }
    event_kinds = {"OutboundMessage:Opportunity": DEAL_STAGE}
    won_stage = "Closed Won"
    deal_entity = "Opportunity"
    account_entity = "Account"
    item_entity = "Product2"
    document_fields = {"sales_order": "Sage_Order_No__c", "invoice": "Sage_Invoice_No__c"}

    @classmethod
    def stage_hint(cls, event: WebhookEvent) -> StageHint | None:
        """Outbound Messages carry the fields; a polled change is the record itself."""
        fields = event.payload.get("fields") or event.payload
        if "StageName" not in fields:
            return None
        return StageHint(str(fields["StageName"]), echo_prone=event.kind == POLLED_OPPORTUNITY)

    @classmethod
    def account_version(cls, event: WebhookEvent, crm_owned: list[str]) -> str:
        return str(event.payload.get("SystemModstamp") or "")

    def change_of(self, entity: str, record: Record) -> Change:
        stamp = record["SystemModstamp"]
        return Change(record["Id"], stamp, parse_moment(stamp))

    # ------------------------------------------------------------ deals

    def read_deal(self, key: str, trigger_stage: str, fields: Iterable[str] = ()) -> DealRead:
        extra_opportunity, extra_account = mapped_columns(fields)
        try:
            opportunity = self.opportunity(key, extra_opportunity, extra_account)
        except ValidationError:
            if not (extra_opportunity or extra_account):
                raise
            known = self.fields("Opportunity"), self.fields("Account")
            opportunity = self.opportunity(
                key,
                [name for name in extra_opportunity if name.lower() in known[0]],
                [name for name in extra_account if name.lower() in known[1]],
            )
        contact: Record = {}
        if opportunity.get("AccountId"):
            account_id = soql_literal(opportunity["AccountId"], "id")
            soql = f"SELECT {', '.join(CONTACT_FIELDS)} FROM Contact WHERE AccountId = {account_id}"
            contact = next(iter(self.query(f"{soql} LIMIT 1")), {})
        stage = opportunity["StageName"]
        return DealRead(opportunity | {"Contact": contact}, stage, stage == trigger_stage)

    def opportunity(self, key: str, extra: list[str], account: list[str]) -> Record:
        """The opportunity with its standard and `extra` fields, its Account's standard and
        `account` fields, and its lines."""
        literal = soql_literal(key, "id")
        account_columns = [f"Account.{name}" for name in (*ACCOUNT_FIELDS, *account)]
        columns = [*OPPORTUNITY_FIELDS, *extra, *account_columns]
        lines = f"(SELECT {', '.join(LINE_FIELDS)} FROM OpportunityLineItems)"
        soql = f"SELECT {', '.join(columns)}, {lines} FROM Opportunity WHERE Id = {literal}"
        found = list(self.query(soql))
        if not found:
            raise ValidationError(
                f"Salesforce has no opportunity {key} (deleted since the message?).",
                system=SYSTEM,
            )
        return found[0]

    def write_deal(
        self, key: str, values: dict[str, Any], idempotency_key: str, stage: str = ""
    ) -> None:
        values = {**values, **({"StageName": stage} if stage else {})}
        if values:
            self.update("Opportunity", key, values, idempotency_key)

    def add_note(
        self, key: str, message: str, idempotency_key: str, posted_before: bool = True
    ) -> None:
        """A line in the Description, unless it holds the message already."""
        description = self.get("Opportunity", key).get("Description") or ""
        if message not in description:
            text = f"{description}\n\n{message}".strip()
            self.update("Opportunity", key, {"Description": text}, idempotency_key)

    def find_deal(self, reference: str) -> str:
        """By ExternalID__c, else the reference is the opportunity Id itself (the won-deal
        flows write the Id when the opportunity has no external ID)."""
        found = self.search("Opportunity", ExternalID__c=reference)
        if found:
            return found[0]["Id"]
        if OPPORTUNITY_ID.match(reference):
            try:
                return self.get("Opportunity", reference)["Id"]
            except NotFound:
                return ""
        return ""

    def deal_version(self, key: str) -> str:
        return str(self.get("Opportunity", key).get("SystemModstamp") or "")

    # ------------------------------------------------------------ accounts

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

    def load_items(self, items: list[dict[str, Any]]) -> list[str]:
        """Products looked up by ProductCode first (Product2 has no external ID field), the
        missing ones created 200 a call."""
        listed = ", ".join(soql_literal(item["sku"], "string") for item in items)
        soql = f"SELECT ProductCode FROM Product2 WHERE ProductCode IN ({listed})"
        present = {row["ProductCode"] for row in self.query(soql)}
        missing = [
            {"Name": item["name"] or item["sku"], "ProductCode": item["sku"], "IsActive": True}
            for item in items
            if item["sku"] not in present
        ]
        results = self.create_many("Product2", missing) if missing else []
        return [
            f"{product['ProductCode']}: {result.error}"
            for product, result in zip(missing, results, strict=True)
            if not result.success
        ]

    def update_item_stock(self, values: dict[str, Any], idempotency_key: str) -> list[str]:
        """The mapped fields written to each product with the mapped ProductCode, unless it
        already holds them."""
        values = dict(values)
        code = values.pop("ProductCode")
        updated = []
        for product in self.search("Product2", ProductCode=code):
            if any(product.get(name) != value for name, value in values.items()):
                key = f"{idempotency_key}-product-{product['Id']}"
                self.update("Product2", product["Id"], values, key)
                updated.append(product["Id"])
        return updated


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
