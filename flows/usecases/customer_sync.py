"""Customer sync: a Salesforce Account and the Sage 100 customer bound to it kept alike, each
field written only from its system of record.

Polled feeds: Salesforce `Account` changes (entity key `account:<Id>`) carry the CRM-owned
fields to Sage; Sage 100 `customer` changes (entity key `customer:<div>-<no>`) carry the
Sage-owned fields to the Account. Only records bound by an `ExternalLink` (entity `customer`,
made by the won-deal flow and the initial load) start runs; other changes stay `ignored`.
Streak cannot list or poll organizations (it has a change feed for boxes only), so a Streak
organization reaches Sage through the won-deal flow only, and this flow is not offered for
Streak; nor for Sage 50.

The option `owners` names each field's system of record ("crm" or "sage"); by default the
name, billing address and phone belong to the CRM, the credit limit, terms and balance to
Sage (the balance is read-only in Sage, so it only ever goes to the CRM). Salesforce has no
standard Account field for the Sage-owned values: the option `crm_fields` names the Account
fields they go to (defaults `Credit_Limit__c`, `Payment_Terms__c`, `Balance__c`); a field the
org lacks is skipped and named in the run's summary. No mapping exists from Sage 100 to the
Account or back for a lone Account, so the few fields synced are mapped here (`SAGE_COLUMNS`,
`ACCOUNT_FIELDS`).

Only differences are written, so a change that brings nothing new writes nothing. Our own
writes do not echo: after writing the Account its stamp is kept as the link's
`last_synced_version` (the poller drops that change); after writing the Sage customer the
customer's change stamp is kept in the run's references, and `accepts` drops the Sage change
carrying it.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import WebhookEvent
from flows.base import Flow, Step, StepContext
from flows.models import ExternalLink, FlowConfig, SyncRun
from flows.polling import Watch, sage100_change, watch
from flows.usecases.order_status_to_crm import set_summary
from mappings.canonical import to_json

NAME = "customer_sync"
ENTITY = "customer"
SAGE_KIND, CRM_KIND = "sage100.customer", "salesforce.account"
DEFAULT_OWNERS = {
    "name": "crm",
    "billing_address": "crm",
    "phone": "crm",
    "email": "crm",
    "credit_limit": "sage",
    "terms": "sage",
    "balance": "sage",
}
DEFAULT_CRM_FIELDS = {
    "credit_limit": "Credit_Limit__c",
    "terms": "Payment_Terms__c",
    "balance": "Balance__c",
}
MONEY = {"credit_limit", "balance"}  # written to a text field with two decimals
ADDRESS_PARTS = ("street", "city", "state", "zip", "country")
SAGE_COLUMNS = {  # field → Sage 100 AR_Customer columns it is written to
    "name": ("CustomerName",),
    "phone": ("TelephoneNo",),
    "email": ("EmailAddress",),
    "billing_address": ("AddressLine1", "AddressLine2", "AddressLine3", "City", "State",
                        "ZipCode", "CountryCode"),
    "credit_limit": ("CreditLimit",),
    "terms": ("TermsCode",),
}  # fmt: skip
ACCOUNT_FIELDS = {  # field → standard Account fields (the Sage-owned ones: `crm_fields`)
    "name": ("Name",),
    "phone": ("Phone",),
    "billing_address": ("BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
                        "BillingCountry"),
}  # fmt: skip


# ---------------------------------------------------------------- field values per side


def sage_values(customer: dict[str, Any]) -> dict[str, Any]:
    lines = [customer.get(f"AddressLine{n}") or "" for n in (1, 2, 3)]
    street = "\n".join(line for line in lines if line)
    address = [street, *(customer.get(c) for c in ("City", "State", "ZipCode", "CountryCode"))]
    return {
        "name": customer.get("CustomerName"),
        "phone": customer.get("TelephoneNo"),
        "email": customer.get("EmailAddress"),
        "billing_address": dict(zip(ADDRESS_PARTS, address, strict=True)),
        "credit_limit": customer.get("CreditLimit"),
        "terms": customer.get("TermsCode"),
        "balance": customer.get("CurrentBalance"),
    }


def crm_values(account: dict[str, Any], crm_fields: dict[str, str]) -> dict[str, Any]:
    """The Account's values of the fields it has (no email: an Account has none)."""
    values = {
        field: account.get(names[0]) for field, names in ACCOUNT_FIELDS.items() if len(names) == 1
    }
    address = [account.get(name) for name in ACCOUNT_FIELDS["billing_address"]]
    values["billing_address"] = dict(zip(ADDRESS_PARTS, address, strict=True))
    for field, name in crm_fields.items():
        if name in account:
            values[field] = account[name]
    return values


def same(ours: Any, theirs: Any) -> bool:
    """Equal as a person reads them: blanks alike, numbers by value, text trimmed."""
    if isinstance(ours, dict):
        return all(same(ours.get(part), (theirs or {}).get(part)) for part in ADDRESS_PARTS)
    ours, theirs = str(ours or "").strip(), str(theirs or "").strip()
    try:
        return Decimal(ours) == Decimal(theirs)
    except InvalidOperation:
        return ours == theirs


def sage_columns(field: str, value: Any) -> dict[str, Any]:
    if field == "billing_address":
        lines = [*str(value.get("street") or "").split("\n"), "", ""][:3]
        parts = [*lines, *(value.get(part) for part in ADDRESS_PARTS[1:])]
        return {column: part or "" for column, part in zip(SAGE_COLUMNS[field], parts, strict=True)}
    return {SAGE_COLUMNS[field][0]: value if value not in (None, "") else None}


def account_fields(field: str, value: Any, target: str, kinds: dict[str, str]) -> dict[str, Any]:
    if field == "billing_address":
        names = zip(ACCOUNT_FIELDS[field], ADDRESS_PARTS, strict=True)
        return {name: value.get(part) or None for name, part in names}
    if value in (None, ""):
        return {target: None}
    if kinds.get(target.lower()) in ("double", "currency", "percent", "int"):
        return {target: float(value)}
    return {target: f"{Decimal(str(value)):.2f}" if field in MONEY else str(value)}


# ---------------------------------------------------------------- the flow


def owners(ctx: StepContext) -> dict[str, str]:
    return {**DEFAULT_OWNERS, **(ctx.option("owners") or {})}


def link_of(ctx: StepContext) -> ExternalLink:
    side, _, key = ctx.run.entity_key.partition(":")
    links = ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY)
    return links.get(crm_id=key) if side == "account" else links.get(sage_id=key)


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """A change of a bound Account, or of a bound Sage customer that is not our own write."""
    links = ExternalLink.objects.filter(pair=config.pair, entity=ENTITY)
    if event.kind == CRM_KIND:
        return links.filter(crm_id=event.payload.get("Id", "")).exists()
    if event.kind != SAGE_KIND:
        return False
    ref = event.entity_key.removeprefix(f"{ENTITY}:")
    stamp = event.dedupe_key.removeprefix(f"poll:{ENTITY}:{ref}:")
    ours = SyncRun.objects.filter(
        flow_config=config, references__sage_customer=ref, references__sage_stamp=stamp
    ).exists()
    return links.filter(sage_id=ref).exists() and not ours


def read_both(ctx: StepContext) -> dict[str, Any]:
    """The Account and the Sage customer as they are now, and which way this change goes."""
    link = link_of(ctx)
    return {
        "direction": "to_sage" if ctx.run.entity_key.startswith("account:") else "to_crm",
        "account": to_json(ctx.crm.get("Account", link.crm_id)),
        "customer": to_json(ctx.erp.get("customer", link.sage_id)),
        "references": {"account": link.crm_id, "customer": link.sage_id},
    }


def write_changes(ctx: StepContext) -> dict[str, Any]:
    read = ctx.outputs["read_both"]
    account, customer = read["account"], read["customer"]
    crm_fields = {**DEFAULT_CRM_FIELDS, **(ctx.option("crm_fields") or {})}
    ours, theirs = sage_values(customer), crm_values(account, crm_fields)
    if read["direction"] == "to_sage":
        return to_sage(ctx, customer, theirs, ours)
    return to_crm(ctx, account, ours, theirs, crm_fields)


def to_sage(
    ctx: StepContext, customer: dict[str, Any], crm: dict[str, Any], sage: dict[str, Any]
) -> dict[str, Any]:
    """The CRM-owned fields that differ, written to the Sage customer."""
    ref = f"{customer['ARDivisionNo']}-{customer['CustomerNo']}"
    changed = [
        field
        for field, owner in owners(ctx).items()
        if owner == "crm" and field in crm and field in SAGE_COLUMNS
        and not same(crm[field], sage[field])
    ]  # fmt: skip
    if not changed:
        set_summary(ctx, f"Sage 100 customer {ref} already has the CRM's values.")
        return {"written": {}}
    columns = {k: v for field in changed for k, v in sage_columns(field, crm[field]).items()}
    ctx.erp.update(ENTITY, ref, columns, ctx.idempotency_key("to_sage"))
    stamp = sage100_change(ctx.erp, ENTITY, ctx.erp.get(ENTITY, ref)).stamp
    set_summary(ctx, f"Sage 100 customer {ref}: {', '.join(changed)} from the CRM.")
    references = {"sage_customer": ref, "sage_stamp": stamp}
    return {"written": to_json(columns), "references": references}


def to_crm(
    ctx: StepContext,
    account: dict[str, Any],
    sage: dict[str, Any],
    crm: dict[str, Any],
    crm_fields: dict[str, str],
) -> dict[str, Any]:
    """The Sage-owned fields that differ, written to the Account; the org's missing fields
    are named, not written."""
    kinds = {name: info["type"] for name, info in ctx.crm.fields("Account").items()}
    values: dict[str, Any] = {}
    changed, missing = [], []
    for field, owner in owners(ctx).items():
        target = crm_fields.get(field) or (ACCOUNT_FIELDS.get(field) or ("",))[0]
        if owner != "sage" or not target:
            continue
        if target.lower() not in kinds:
            missing.append(target)
        elif not same(sage[field], crm.get(field)):
            changed.append(field)
            values |= account_fields(field, sage[field], target, kinds)
    lacking = f" (the org has no {', '.join(missing)})" if missing else ""
    if not values:
        set_summary(ctx, f"Account {account['Name']} already has Sage's values{lacking}.")
        return {"written": {}, "missing": missing}
    ctx.crm.update("Account", account["Id"], values, ctx.idempotency_key("to_crm"))
    stamp = ctx.crm.get("Account", account["Id"])["SystemModstamp"]
    ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY, crm_id=account["Id"]).update(
        last_synced_version=stamp
    )
    set_summary(ctx, f"Account {account['Name']}: {', '.join(changed)} from Sage 100{lacking}.")
    return {"written": values, "missing": missing}


customer_sync = Flow(
    name=NAME,
    label="Customer sync",
    description="Salesforce Accounts and their Sage 100 customers kept alike both ways, each "
    "field from its system of record (name, address, phone from the CRM; credit limit, terms, "
    "balance from Sage).",
    steps=(
        Step("read_both", read_both, "Re-read the Account and the Sage customer"),
        Step("write_changes", write_changes, "Write the owned fields that differ"),
    ),
    combinations=frozenset({("salesforce", "sage100")}),
    trigger="poll",
    default_options={
        "poll_interval": 60,
        "owners": DEFAULT_OWNERS,
        "crm_fields": DEFAULT_CRM_FIELDS,
    },
    accepts=accepts,
)

watch(
    NAME,
    Watch("erp", "sage100", ENTITY, SAGE_KIND, record=ENTITY),
    Watch("crm", "salesforce", "Account", CRM_KIND, record="account"),
)
