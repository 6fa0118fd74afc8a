"""Contact sync: the people of a CRM organization or account and those of the Sage customer
bound to it kept alike, each field written only from its system of record.

What starts a run: a contact the CRM pushes (Streak's team-scoped `CONTACT_CREATE` and
`CONTACT_UPDATE` webhooks) or a polled change of a Sage customer's contact. Only people of
an organization bound to a Sage customer (an `ExternalLink` of entity `customer`, as customer
sync uses) are synced; a run for anyone else ends with nothing to do. The counterpart is
the contact bound before (entity `contact`), else the one with the same email address, else
the same name; none, it is created on the other side with every value known, and bound.

The option `contact_owners` names each field's system of record ("crm" or "sage"): by
default the name and email belong to the CRM, the phone and title to Sage. A field blank on
its system of record is taken as not known and leaves the other side alone.

Our own writes do not echo, as in customer sync: a Sage write's change stamp is kept in the
run's references and `accepts` drops the polled change carrying it; a CRM write's version (a
fingerprint of the CRM-owned values, which the write does not touch) becomes the contact
link's `last_synced_version`, and a delivery carrying that version brings nothing new.
"""

from dataclasses import asdict
from typing import Any

from connectors.base import WebhookEvent
from connectors.crm_role import CrmRole
from connectors.records import ContactRecord
from connectors.registry import event_topic
from connectors.roles import CONTACTS, CUSTOMER_CONTACTS
from connectors.services import connector_for
from connectors.values import blank, same
from flows.base import NOTHING_TO_DO, Flow, Step, StepContext, Watch
from flows.models import ExternalLink, FlowConfig, SyncRun

NAME = "contact_sync"
ENTITY = "contact"
ACCOUNT_ENTITY = "customer"  # the bindings of organizations to customers, by customer sync
DEFAULT_OWNERS = {"name": "crm", "email": "crm", "phone": "sage", "title": "sage"}
FIELD_WORDS = {"name": "Name", "email": "Email", "phone": "Phone", "title": "Title"}


def owned_by(options: dict[str, Any], side: str) -> list[str]:
    owners = {**DEFAULT_OWNERS, **(options.get("contact_owners") or {})}
    return [field for field, owner in owners.items() if owner == side]


def from_crm(kind: str) -> bool | None:
    """Whether an event of `kind` is a CRM's contact change (False: Sage's; None: neither)."""
    source = event_topic(kind)
    if source is None or source[1] != CONTACTS:
        return None
    return issubclass(source[0].connector_class, CrmRole)


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """A CRM contact change that brings Sage something, or a change of a bound Sage
    customer's contact that is not our own write."""
    crm_side = from_crm(event.kind)
    if crm_side is None:
        return False
    links = ExternalLink.objects.filter(pair=config.pair, entity=ENTITY)
    accounts = ExternalLink.objects.filter(pair=config.pair, entity=ACCOUNT_ENTITY)
    key = event.entity_key.rpartition(":")[2]
    if crm_side:
        link = links.filter(crm_id=key).first()
        if link is None:
            return accounts.exists()
        crm_owned = owned_by(config.options, "crm")
        version = event_topic(event.kind)[0].connector_class.contact_version(event, crm_owned)
        return not version or link.last_synced_version != version
    stamp = event.dedupe_key.partition(f":{key}:")[2]
    ours = SyncRun.objects.filter(
        flow_config=config, references__sage_contact=key, references__sage_stamp=stamp
    ).exists()
    customer = connector_for(config.pair.erp).contact_customer(key)
    return accounts.filter(sage_id=customer).exists() and not ours


def counterpart(
    contact: ContactRecord, others: list[ContactRecord], bound_key: str
) -> ContactRecord | None:
    """The other side's contact: bound before, else same email, else same name."""
    email, name = contact.email.casefold(), contact.name.casefold()
    for test in (
        lambda other: bool(bound_key) and other.key == bound_key,
        lambda other: bool(email) and other.email.casefold() == email,
        lambda other: bool(name) and other.name.casefold() == name,
    ):
        if found := next((other for other in others if test(other)), None):
            return found
    return None


def read_both(ctx: StepContext) -> dict[str, Any]:
    """The changed contact, its customer on both sides and its counterpart, if any."""
    to_sage = from_crm(ctx.run.event.kind) if ctx.run.event is not None else False
    key = ctx.run.entity_key.rpartition(":")[2]
    accounts = ExternalLink.objects.filter(pair=ctx.pair, entity=ACCOUNT_ENTITY)
    links = ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY)
    if to_sage:
        contact = ctx.crm.read_contact(key)
        account = ctx.crm.contact_account(key, list(accounts.values_list("crm_id", flat=True)))
        account_link = accounts.filter(crm_id=account).first() if account else None
        link = links.filter(crm_id=key).first()
        others = ctx.erp.customer_contacts(account_link.sage_id) if account_link else []
        bound = link.sage_id if link else ""
    else:
        ref = ctx.erp.contact_customer(key)
        account_link = accounts.filter(sage_id=ref).first()
        found = [c for c in ctx.erp.customer_contacts(ref) if c.key == key]
        contact = found[0] if found else ContactRecord(key)
        link = links.filter(sage_id=key).first()
        others = ctx.crm.contacts_of(account_link.crm_id) if account_link else []
        bound = link.crm_id if link else ""
    if account_link is None:
        ctx.set_summary(f"Contact {contact.name or key} is not of a bound customer.")
        return {NOTHING_TO_DO: "not a contact of a bound customer"}
    other = counterpart(contact, others, bound)
    return {
        "direction": "to_sage" if to_sage else "to_crm",
        "contact": asdict(contact),
        "other": asdict(other) if other else None,
        "references": {"crm_record": account_link.crm_id, "customer": account_link.sage_id},
    }


def changed_fields(source: ContactRecord, target: ContactRecord, owned: list[str]) -> list[str]:
    """The owned fields known on the source that the target has otherwise."""
    mine, theirs = source.values(), target.values()
    return [f for f in owned if not blank(mine[f]) and not same(mine[f], theirs[f])]


def bind(ctx: StepContext, crm_id: str, sage_id: str, version: str) -> None:
    ExternalLink.objects.update_or_create(
        pair=ctx.pair,
        entity=ENTITY,
        crm_id=crm_id,
        defaults={"sage_id": sage_id, "last_synced_version": version},
    )


def write_changes(ctx: StepContext) -> dict[str, Any]:
    read = ctx.outputs["read_both"]
    if NOTHING_TO_DO in read:
        return {NOTHING_TO_DO: read[NOTHING_TO_DO]}
    contact = ContactRecord(**read["contact"])
    other = ContactRecord(**read["other"]) if read["other"] else None
    if read["direction"] == "to_sage":
        return to_sage(ctx, contact, other, read["references"]["customer"])
    return to_crm(ctx, contact, other, read["references"]["crm_record"])


def to_sage(
    ctx: StepContext, contact: ContactRecord, other: ContactRecord | None, ref: str
) -> dict[str, Any]:
    crm_owned = owned_by(ctx.config.options, "crm")
    who = f"Contact {contact.name or contact.email}"
    fields = changed_fields(contact, other, crm_owned) if other else list(DEFAULT_OWNERS)
    result: dict[str, Any] = {"written": fields}
    if fields:
        made = f"{', '.join(fields)} to" if other else "created in"
        target = ContactRecord(**asdict(contact) | {"key": other.key if other else ""})
        written, stamp = ctx.erp.write_customer_contact(
            ref, target, fields, ctx.idempotency_key("to_sage")
        )
        other = written
        result["references"] = {"sage_contact": written.key, "sage_stamp": stamp}
        ctx.set_summary(f"{who}: {made} {ctx.erp.label} customer {ref}.")
    else:
        ctx.set_summary(f"{who}: {ctx.erp.label} has the CRM's values already.")
        result[NOTHING_TO_DO] = "Sage has the CRM's values"
    bind(ctx, contact.key, other.key, ctx.crm.contact_version_of(contact, crm_owned))
    return result


def to_crm(
    ctx: StepContext, contact: ContactRecord, other: ContactRecord | None, crm_id: str
) -> dict[str, Any]:
    sage_owned = owned_by(ctx.config.options, "sage")
    crm_owned = owned_by(ctx.config.options, "crm")
    who = f"Contact {contact.name or contact.key}"
    if other is not None:
        fields = changed_fields(contact, other, sage_owned)
        version = ctx.crm.contact_version_of(other, crm_owned)
        bind(ctx, other.key, contact.key, version)  # before writing: the echo comes at once
        if not fields:
            ctx.set_summary(f"{who}: the CRM has {ctx.erp.label}'s values already.")
            return {"written": [], NOTHING_TO_DO: "the CRM has Sage's values"}
        target = ContactRecord(**asdict(contact) | {"key": other.key})
        ctx.crm.write_contact(crm_id, target, fields, ctx.idempotency_key("to_crm"))
        ctx.set_summary(f"{who}: {', '.join(fields)} from {ctx.erp.label}.")
        return {"written": fields}
    if not (contact.email or contact.name):
        ctx.set_summary(f"{who} has neither name nor email: not made in the CRM.")
        return {"written": [], NOTHING_TO_DO: "nothing to make a CRM contact of"}
    made = ctx.crm.write_contact(
        crm_id, ContactRecord(**asdict(contact) | {"key": ""}), [], ctx.idempotency_key("to_crm")
    )
    bind(ctx, made.key, contact.key, ctx.crm.contact_version_of(made, crm_owned))
    ctx.set_summary(f"{who}: created in the CRM from {ctx.erp.label}.")
    return {"written": [f for f, value in contact.values().items() if value]}


contact_sync = Flow(
    name=NAME,
    label="Contact sync",
    description="The people of CRM organizations or accounts and of their Sage customers kept "
    "alike both ways, matched by email (else name), each field from its system of record "
    "(name and email from the CRM; phone and title from Sage).",
    steps=(
        Step("read_both", read_both, "Re-read the contact and find its counterpart"),
        Step("write_changes", write_changes, "Write the owned fields that differ, or create"),
    ),
    needs_crm=frozenset({CUSTOMER_CONTACTS}),
    needs_erp=frozenset({CUSTOMER_CONTACTS}),
    trigger="poll",
    default_options={"poll_interval": 60, "contact_owners": DEFAULT_OWNERS},
    accepts=accepts,
    watches=(Watch("erp", CONTACTS), Watch("crm", CONTACTS)),
)
