"""Customer sync, the Salesforce side: an Account's values in the flow's common field names,
and the Sage-owned fields written to it.

Salesforce has no standard Account field for the Sage-owned values: the option `crm_fields`
names the Account fields they go to (defaults `Credit_Limit__c`, `Payment_Terms__c`,
`Balance__c`); a field the org lacks is skipped and named in the run's summary. An Account
has no email. After our write the Account's `SystemModstamp` becomes the link's
`last_synced_version`, and the poller drops the Account change carrying it.
"""

from decimal import Decimal
from typing import Any

from flows.base import StepContext
from flows.models import ExternalLink
from flows.usecases.customer_sync_sage import ADDRESS_PARTS, blank, same

KIND = "salesforce.account"
DEFAULT_CRM_FIELDS = {
    "credit_limit": "Credit_Limit__c",
    "terms": "Payment_Terms__c",
    "balance": "Balance__c",
}
MONEY = {"credit_limit", "balance"}  # written to a text field with two decimals
ACCOUNT_FIELDS = {  # field → standard Account fields (the Sage-owned ones: `crm_fields`)
    "name": ("Name",),
    "phone": ("Phone",),
    "billing_address": ("BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
                        "BillingCountry"),
}  # fmt: skip


def crm_fields(ctx: StepContext) -> dict[str, str]:
    return {**DEFAULT_CRM_FIELDS, **(ctx.option("crm_fields") or {})}


def account_values(account: dict[str, Any], targets: dict[str, str]) -> dict[str, Any]:
    """The Account's values of the fields it has (no email: an Account has none)."""
    values = {
        field: account.get(names[0]) for field, names in ACCOUNT_FIELDS.items() if len(names) == 1
    }
    address = [account.get(name) for name in ACCOUNT_FIELDS["billing_address"]]
    values["billing_address"] = dict(zip(ADDRESS_PARTS, address, strict=True))
    for field, name in targets.items():
        if name in account:
            values[field] = account[name]
    return values


def account_fields(field: str, value: Any, target: str, kinds: dict[str, str]) -> dict[str, Any]:
    if field == "billing_address":
        names = zip(ACCOUNT_FIELDS[field], ADDRESS_PARTS, strict=True)
        return {name: value.get(part) or None for name, part in names}
    if value in (None, ""):
        return {target: None}
    if kinds.get(target.lower()) in ("double", "currency", "percent", "int"):
        return {target: float(value)}
    return {target: f"{Decimal(str(value)):.2f}" if field in MONEY else str(value)}


def write_account(
    ctx: StepContext, account: dict[str, Any], sage: dict[str, Any], sage_owned: list[str]
) -> tuple[list[str], list[str]]:
    """The Sage-owned fields that differ, written to the Account: (fields written, Account
    fields the org lacks)."""
    targets = crm_fields(ctx)
    crm = account_values(account, targets)
    kinds = {name: info["type"] for name, info in ctx.crm.fields("Account").items()}
    values: dict[str, Any] = {}
    changed, missing = [], []
    for field in sage_owned:
        target = targets.get(field) or (ACCOUNT_FIELDS.get(field) or ("",))[0]
        if not target:
            continue
        if target.lower() not in kinds:
            missing.append(target)
        elif not blank(sage[field]) and not same(sage[field], crm.get(field)):
            changed.append(field)
            values |= account_fields(field, sage[field], target, kinds)
    if values:
        ctx.crm.update("Account", account["Id"], values, ctx.idempotency_key("to_crm"))
        stamp = ctx.crm.get("Account", account["Id"])["SystemModstamp"]
        ExternalLink.objects.filter(pair=ctx.pair, entity="customer", crm_id=account["Id"]).update(
            last_synced_version=stamp
        )
    return changed, missing
