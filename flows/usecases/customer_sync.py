"""Customer sync: a CRM organization or account and the Sage customer bound to it kept alike,
each field written only from its system of record. Every pair whose CRM and ERP can read and
write those records.

What starts a run: a change of an account the CRM pushes or a poll finds (Streak's
team-scoped `ORG_UPDATE` webhook, unconfirmed in Streak's documentation; polled Salesforce
`Account` changes), or a polled change of a Sage customer (entity key `customer:<ref>`).
Only records bound by an `ExternalLink` (entity `customer`, made by the won-deal flows and
the initial load) start runs; other changes stay `ignored`. A run re-reads both records and
writes only the fields that differ, so a change that brings nothing new writes nothing; a
field blank on its system of record is taken as not known and leaves the other side alone.

The option `owners` names each field's system of record ("crm" or "sage"); by default the
name, billing address, phone and email belong to the CRM, the credit limit, terms and
balance to Sage (the balance is read-only in Sage, so it only ever goes to the CRM). How
each system keeps these common fields is its connector's business (`account_values`,
`customer_values`, `write_account`, `update_customer`).

Our own writes do not echo: a Sage write's change stamp is kept in the run's references and
`accepts` drops the polled change carrying it; a CRM write's version (a stamp after the
write, or for Streak a fingerprint of the CRM-owned values taken before it) becomes the
link's `last_synced_version`, and a change carrying that version brings nothing new.
"""

from typing import Any

from connectors.base import WebhookEvent
from connectors.registry import event_topic
from connectors.roles import ACCOUNT_SYNC, ACCOUNTS, CUSTOMER_SYNC, CUSTOMERS
from connectors.values import blank, same
from flows.base import NOTHING_TO_DO, Flow, Step, StepContext, Watch
from flows.models import ExternalLink, FlowConfig, SyncRun
from mappings.canonical import to_json

NAME = "customer_sync"
ENTITY = "customer"
DEFAULT_OWNERS = {
    "name": "crm",
    "billing_address": "crm",
    "phone": "crm",
    "email": "crm",
    "credit_limit": "sage",
    "terms": "sage",
    "balance": "sage",
}


def owned_by(options: dict[str, Any], side: str) -> list[str]:
    owners = {**DEFAULT_OWNERS, **(options.get("owners") or {})}
    return [field for field, owner in owners.items() if owner == side]


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """A change of a bound account that brings Sage something, or of a bound Sage customer
    that is not our own write."""
    source = event_topic(event.kind)
    if source is None or source[1] not in (ACCOUNTS, CUSTOMERS):
        return False
    links = ExternalLink.objects.filter(pair=config.pair, entity=ENTITY)
    key = event.entity_key.rpartition(":")[2]
    if source[1] == ACCOUNTS:
        link = links.filter(crm_id=key).first()
        crm_owned = owned_by(config.options, "crm")
        version = source[0].connector_class.account_version(event, crm_owned)
        return link is not None and (not version or link.last_synced_version != version)
    stamp = event.dedupe_key.partition(f":{key}:")[2]
    ours = SyncRun.objects.filter(
        flow_config=config, references__sage_customer=key, references__sage_stamp=stamp
    ).exists()
    return links.filter(sage_id=key).exists() and not ours


def read_both(ctx: StepContext) -> dict[str, Any]:
    """The CRM record and the Sage customer as they are now, and which way this change goes."""
    source = event_topic(ctx.run.event.kind) if ctx.run.event is not None else None
    to_sage = source is not None and source[1] == ACCOUNTS
    key = ctx.run.entity_key.rpartition(":")[2]
    links = ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY)
    link = links.get(crm_id=key) if to_sage else links.get(sage_id=key)
    return {
        "direction": "to_sage" if to_sage else "to_crm",
        "crm": to_json(ctx.crm.read_account(link.crm_id)),
        "customer": to_json(ctx.erp.read_customer(link.sage_id)),
        "references": {"crm_record": link.crm_id, "customer": link.sage_id},
    }


def write_changes(ctx: StepContext) -> dict[str, Any]:
    read = ctx.outputs["read_both"]
    references = read["references"]
    if read["direction"] == "to_sage":
        return to_sage(ctx, read["crm"], read["customer"], references)
    return to_crm(ctx, read["crm"], read["customer"], references["crm_record"])


def remember_version(ctx: StepContext, crm_id: str, version: str) -> None:
    """The CRM record's version our sync left: a change carrying it is no news."""
    if version:
        ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY, crm_id=crm_id).update(
            last_synced_version=version
        )


def to_sage(
    ctx: StepContext, record: dict[str, Any], customer: dict[str, Any], refs: dict[str, str]
) -> dict[str, Any]:
    """The CRM-owned fields that differ, written to the Sage customer."""
    crm_owned = owned_by(ctx.config.options, "crm")
    crm = ctx.crm.account_values(record, crm_options(ctx))
    sage = ctx.erp.customer_values(customer)
    changed = [
        field for field in crm_owned
        if field in crm and field in ctx.erp.writable_fields and not blank(crm[field])
        and not same(crm[field], sage[field])
    ]  # fmt: skip
    ref = refs["customer"]
    title = ctx.erp.customer_title(customer, ref)
    result: dict[str, Any] = {"written": {}}
    if changed:
        written = {field: crm[field] for field in changed}
        stamp = ctx.erp.update_customer(ref, written, ctx.idempotency_key("to_sage"))
        result = {"written": written, "references": {"sage_customer": ref, "sage_stamp": stamp}}
        ctx.set_summary(f"{title}: {', '.join(changed)} from the CRM.")
    else:
        ctx.set_summary(f"{title} already has the CRM's values.")
        result[NOTHING_TO_DO] = "Sage has the CRM's values"
    # Sage has these values now: the same again from the CRM is no news.
    remember_version(ctx, refs["crm_record"], ctx.crm.account_version_before(record, crm_owned))
    return to_json(result)


def to_crm(
    ctx: StepContext, record: dict[str, Any], customer: dict[str, Any], crm_id: str
) -> dict[str, Any]:
    """The Sage-owned fields that differ, written to the CRM record; those it cannot hold are
    named, not written."""
    sage = ctx.erp.customer_values(customer)
    values = {field: sage[field] for field in owned_by(ctx.config.options, "sage")}
    crm_owned = owned_by(ctx.config.options, "crm")
    remember_version(ctx, crm_id, ctx.crm.account_version_before(record, crm_owned))
    write = ctx.crm.write_account(
        record, values, ctx.erp.label, crm_options(ctx), ctx.idempotency_key("to_crm")
    )
    remember_version(ctx, crm_id, write.version)
    title = ctx.crm.account_title(record)
    note = f" ({ctx.crm.lacking(write.missing)})" if write.missing else ""
    done = {"written": write.written, "missing": write.missing}
    if not write.written:
        ctx.set_summary(f"{title} already has Sage's values{note}.")
        return done | {NOTHING_TO_DO: "the CRM has Sage's values"}
    ctx.set_summary(f"{title}: {', '.join(write.written)} from {ctx.erp.label}{note}.")
    return done


def crm_options(ctx: StepContext) -> dict[str, Any]:
    return {"crm_fields": ctx.option("crm_fields")}


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
    needs_crm=frozenset({ACCOUNT_SYNC}),
    needs_erp=frozenset({CUSTOMER_SYNC}),
    trigger="poll",
    default_options={
        "poll_interval": 60,
        "owners": DEFAULT_OWNERS,
        "crm_fields": {},  # the CRM's own fields for Sage-owned values, where it differs
    },
    accepts=accepts,
    watches=(Watch("erp", CUSTOMERS), Watch("crm", ACCOUNTS)),
)
