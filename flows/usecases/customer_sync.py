"""Customer sync: a CRM organization or account and the Sage customer bound to it kept alike,
each field written only from its system of record. Every pair: Streak or Salesforce with
Sage 100 or Sage 50.

What starts a run:
- Salesforce: polled `Account` changes (entity key `account:<Id>`).
- Streak: the team-scoped `ORG_UPDATE` webhook (registered with the pair's other Streak
  webhooks; unconfirmed in Streak's documentation, see `customer_sync_streak`), entity key
  the organization's key. Streak has no change feed for organizations to poll.
- Sage 100: polled `AR_Customer` changes; Sage 50: polled contacts
  (`updated_or_created_since`); entity key `customer:<ref>`.
Only records bound by an `ExternalLink` (entity `customer`, made by the won-deal flows and
the initial load) start runs; other changes stay `ignored`. A run re-reads both records and
writes only the fields that differ, so a change that brings nothing new writes nothing; a
field blank on its system of record is taken as not known and leaves the other side alone.

The option `owners` names each field's system of record ("crm" or "sage"); by default the
name, billing address, phone and email belong to the CRM, the credit limit, terms and
balance to Sage (the balance is read-only in Sage, so it only ever goes to the CRM). Where
each side keeps the fields: `customer_sync_sage`, `customer_sync_salesforce`,
`customer_sync_streak`.

Our own writes do not echo: a Sage write's change stamp is kept in the run's references and
`accepts` drops the polled change carrying it; a Salesforce write's `SystemModstamp` becomes
the link's `last_synced_version`, which the poller drops; a Streak organization's echo is
recognised by the fingerprint of its CRM-owned values (`customer_sync_streak`).
"""

from typing import Any

from connectors.base import WebhookEvent
from flows.base import Flow, Step, StepContext
from flows.models import ExternalLink, FlowConfig, SyncRun
from flows.polling import Watch, watch
from flows.usecases import customer_sync_salesforce as salesforce
from flows.usecases import customer_sync_streak as streak
from flows.usecases.customer_sync_sage import (
    LABEL_OF,
    blank,
    read_customer,
    sage_values,
    same,
    writable,
    write_customer,
)
from mappings.canonical import to_json

NAME = "customer_sync"
ENTITY = "customer"
SAGE_FEEDS = {"sage100.customer": "customer", "sage50.contact": "contacts"}  # kind → entity
CRM_KINDS = (salesforce.KIND, streak.KIND)
DEFAULT_OWNERS = {
    "name": "crm",
    "billing_address": "crm",
    "phone": "crm",
    "email": "crm",
    "credit_limit": "sage",
    "terms": "sage",
    "balance": "sage",
}


def owned_by(config: FlowConfig, side: str) -> list[str]:
    owners = {**DEFAULT_OWNERS, **(config.option("owners") or {})}
    return [field for field, owner in owners.items() if owner == side]


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """A change of a bound Account or organization that brings Sage something, or of a
    bound Sage customer that is not our own write."""
    links = ExternalLink.objects.filter(pair=config.pair, entity=ENTITY)
    if event.kind == salesforce.KIND:
        return links.filter(crm_id=event.payload.get("Id", "")).exists()
    if event.kind == streak.KIND:
        link = links.filter(crm_id=event.entity_key).first()
        organization = event.payload.get("object") or {}
        return link is not None and streak.is_news(link, organization, owned_by(config, "crm"))
    if event.kind not in SAGE_FEEDS:
        return False
    ref = event.entity_key.removeprefix(f"{ENTITY}:")
    stamp = event.dedupe_key.removeprefix(f"poll:{SAGE_FEEDS[event.kind]}:{ref}:")
    ours = SyncRun.objects.filter(
        flow_config=config, references__sage_customer=ref, references__sage_stamp=stamp
    ).exists()
    return links.filter(sage_id=ref).exists() and not ours


def read_both(ctx: StepContext) -> dict[str, Any]:
    """The CRM record and the Sage customer as they are now, and which way this change goes."""
    to_sage = ctx.run.event is not None and ctx.run.event.kind in CRM_KINDS
    key = ctx.run.entity_key.rpartition(":")[2]
    links = ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY)
    link = links.get(crm_id=key) if to_sage else links.get(sage_id=key)
    entity = "Account" if ctx.pair.crm.system == "salesforce" else "Organization"
    return {
        "direction": "to_sage" if to_sage else "to_crm",
        "crm": to_json(ctx.crm.get(entity, link.crm_id)),
        "customer": to_json(read_customer(ctx, link.sage_id)),
        "references": {"crm_record": link.crm_id, "customer": link.sage_id},
    }


def write_changes(ctx: StepContext) -> dict[str, Any]:
    read = ctx.outputs["read_both"]
    if read["direction"] == "to_sage":
        return to_sage(ctx, read["crm"], read["customer"], read["references"]["customer"])
    return to_crm(ctx, read["crm"], read["customer"])


def crm_values(ctx: StepContext, record: dict[str, Any]) -> dict[str, Any]:
    if ctx.pair.crm.system == "salesforce":
        return salesforce.account_values(record, salesforce.crm_fields(ctx))
    return streak.organization_values(record)


def sage_label(ctx: StepContext, customer: dict[str, Any], ref: str) -> str:
    if ctx.pair.erp.system == "sage100":
        return f"Sage 100 customer {ref}"
    return f"Sage 50 contact {customer.get('name') or ref}"


def to_sage(
    ctx: StepContext, record: dict[str, Any], customer: dict[str, Any], ref: str
) -> dict[str, Any]:
    """The CRM-owned fields that differ, written to the Sage customer."""
    crm_owned = owned_by(ctx.config, "crm")
    crm = crm_values(ctx, record)
    sage = sage_values(ctx.pair.erp.system, customer)
    fields = writable(ctx.pair.erp.system)
    changed = [
        field for field in crm_owned
        if field in crm and field in fields and not blank(crm[field])
        and not same(crm[field], sage[field])
    ]  # fmt: skip
    label = sage_label(ctx, customer, ref)
    result: dict[str, Any] = {"written": {}}
    if changed:
        result = write_customer(ctx, ref, changed, crm)
        ctx.set_summary(f"{label}: {', '.join(changed)} from the CRM.")
    else:
        ctx.set_summary(f"{label} already has the CRM's values.")
    if ctx.pair.crm.system == "streak":  # Sage has these values now: the same again is no news
        streak.remember_synced(ctx, record, crm_owned)
    return to_json(result)


def to_crm(ctx: StepContext, record: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    """The Sage-owned fields that differ, written to the CRM record; those it cannot hold are
    named, not written."""
    sage = sage_values(ctx.pair.erp.system, customer)
    sage_owned = owned_by(ctx.config, "sage")
    erp = LABEL_OF[ctx.pair.erp.system]
    if ctx.pair.crm.system == "salesforce":
        changed, missing = salesforce.write_account(ctx, record, sage, sage_owned)
        name, lacking = f"Account {record['Name']}", f"the org has no {', '.join(missing)}"
    else:
        crm_owned = owned_by(ctx.config, "crm")
        changed, missing = streak.write_organization(ctx, record, sage, sage_owned, crm_owned)
        name = f"Organization {record['name']}"
        lacking = f"a Streak organization has no {', '.join(missing)}"
    note = f" ({lacking})" if missing else ""
    if not changed:
        ctx.set_summary(f"{name} already has Sage's values{note}.")
    else:
        ctx.set_summary(f"{name}: {', '.join(changed)} from {erp}{note}.")
    return {"written": changed, "missing": missing}


customer_sync = Flow(
    name=NAME,
    label="Customer sync",
    description="CRM organizations or accounts and their Sage customers kept alike both ways, "
    "each field from its system of record (name, address, phone from the CRM; credit limit, "
    "terms, balance from Sage).",
    steps=(
        Step("read_both", read_both, "Re-read the CRM record and the Sage customer"),
        Step("write_changes", write_changes, "Write the owned fields that differ"),
    ),
    combinations=frozenset(
        {
            ("salesforce", "sage100"),
            ("salesforce", "sage50"),
            ("streak", "sage100"),
            ("streak", "sage50"),
        }
    ),
    trigger="poll",
    default_options={
        "poll_interval": 60,
        "owners": DEFAULT_OWNERS,
        "crm_fields": salesforce.DEFAULT_CRM_FIELDS,
    },
    accepts=accepts,
)

watch(
    NAME,
    Watch("erp", "sage100", ENTITY, "sage100.customer", record=ENTITY),
    Watch("erp", "sage50", "contacts", "sage50.contact", record=ENTITY),
    Watch("crm", "salesforce", "Account", salesforce.KIND, record="account"),
)
