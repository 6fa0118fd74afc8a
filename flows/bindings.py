"""Bindings (`ExternalLink`) as people handle them: find them, open both records, rebind a
CRM record to another Sage record, unbind it. The page (monitoring) and the API
(`flows.api.bindings`) both go through here, so the same checks and the same audit entry
hold for both.

A rebind is checked against Sage with the ERP role's own reads before it is saved: a binding
to a record Sage does not have would make every later run of the record fail. Each change is
audited here, in the same transaction: a django-auditlog entry with the Sage id before and
after, who acted (an API call's token user too, whom the audit middleware cannot see yet) and
the person's note. The model itself is not registered with auditlog: runs create bindings
on every new deal, and what people do to them is what the audit log is for.
"""

from collections.abc import Callable
from typing import Any

from auditlog.models import LogEntry
from django.db import IntegrityError, transaction
from django.db.models import Case, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.fields.json import KT

from clarity.permissions import Rule
from connectors.base import RecordLink
from connectors.erp_role import ErpRole
from connectors.errors import ConnectorError, NotFound, Unsupported
from connectors.registry import SYSTEMS
from connectors.services import connector_for
from flows.models import ExternalLink, SyncRun

CUSTOMER = "customer"
# Looking needs the model's view permission (every role); changing a binding is what an
# operator does when choosing a held run's customer, so it needs the same permission.
BINDINGS = Rule(
    ("flows.view_externallink",),
    ("flows.retry_syncrun",),
    message="Rebinding and unbinding need the Operator role.",
)
NOUNS = {CUSTOMER: "customer", "sales_order": "sales order", "invoice": "invoice"}
# How each kind of Sage record is read to check that it exists (NotFound when it does not).
SAGE_READS: dict[str, Callable[[ErpRole, str], Any]] = {
    CUSTOMER: lambda erp, ref: erp.read_customer(ref),
    "sales_order": lambda erp, ref: erp.read_order(ref),
    "invoice": lambda erp, ref: erp.get_invoice(ref),
}
# The run references a Sage document is kept under (the won-deal flows'), for its link.
SAGE_REFERENCES = {
    CUSTOMER: ("sage_customer",),
    "sales_order": ("sage_order_no",),
    "invoice": ("sage_invoice_id", "sage_invoice_number"),
}
NOTE_LENGTH = 1000


class BindingRefused(Exception):
    """The rebind cannot be done as asked; the message says why and what to do."""


class SageIdTaken(BindingRefused):
    """Another binding of the pair holds the Sage record already."""


class SageUnavailable(BindingRefused):
    """Sage did not answer, so the Sage record could not be checked."""


def noun(link: ExternalLink) -> str:
    return NOUNS.get(link.entity, link.entity.replace("_", " "))


def after_unbind(link: ExternalLink) -> str:
    """What the next run does without the binding, for the unbind confirmation."""
    erp = link.pair.erp.system_label
    if link.entity == CUSTOMER:
        return (
            f"The next run for a deal of CRM record {link.crm_id} will look the customer up "
            f"in {erp} again and may create one."
        )
    return (
        f"The next run for this deal will look for its {noun(link)} in {erp} again (by the "
        "deal's ID) and may create one."
    )


def bindings(pair: str = "", entity: str = "", search: str = "") -> QuerySet[ExternalLink]:
    """The pair's (slug) bindings of `entity`, newest first; `search` matches part of the CRM
    id, the Sage id, or the name of a run of the record (Deal ID, deal name, customer)."""
    links = ExternalLink.objects.select_related("pair__crm", "pair__erp").order_by("-pk")
    if pair:
        links = links.filter(pair__slug=pair)
    if entity:
        links = links.filter(entity=entity)
    if search := search.strip():
        named = SyncRun.objects.filter(label__icontains=search)
        customers = named.annotate(ref=KT("references__sage_customer")).values("ref")
        links = links.filter(
            Q(crm_id__icontains=search)
            | Q(sage_id__icontains=search)
            | Q(crm_id__in=named.values("entity_key"))
            | Q(entity=CUSTOMER, sage_id__in=customers)
        )
    return links


def newest_runs(links: list[ExternalLink]) -> dict[int, SyncRun]:
    """The newest run of each binding's record, by binding id: the deal's own run for a
    document, the newest run that booked to the customer for a customer: two queries a page."""
    runs = SyncRun.objects.filter(pair=OuterRef("pair")).order_by("-created_at", "-pk")
    of_deal = runs.filter(entity_key=OuterRef("crm_id")).values("pk")[:1]
    of_customer = (
        runs.annotate(ref=KT("references__sage_customer"))
        .filter(ref=OuterRef("sage_id"))
        .values("pk")[:1]
    )
    newest = dict(
        ExternalLink.objects.filter(pk__in=[link.pk for link in links])
        .annotate(
            run_id=Case(
                When(entity=CUSTOMER, then=Subquery(of_customer)), default=Subquery(of_deal)
            )
        )
        .exclude(run_id=None)
        .values_list("pk", "run_id")
    )
    found = SyncRun.objects.only("pk", "label", "created_at", "status").in_bulk(newest.values())
    return {pk: found[run_id] for pk, run_id in newest.items() if run_id in found}


def crm_link(link: ExternalLink) -> RecordLink | None:
    """The CRM record's page, from the connector's links to a run's records (a deal's; an
    organization or account has no link there yet)."""
    if link.entity == CUSTOMER:
        return None
    crm = link.pair.crm
    found = SYSTEMS[crm.system].connector_class.record_links(crm.settings or {}, link.crm_id, {})
    return next(iter(found), None)


def sage_link(link: ExternalLink) -> RecordLink | None:
    """The Sage record's page, from the connector's links to the documents a run made (None
    where the connector has no page for the record)."""
    erp = link.pair.erp
    references = dict.fromkeys(SAGE_REFERENCES.get(link.entity, ()), link.sage_id)
    found = SYSTEMS[erp.system].connector_class.record_links(
        erp.settings or {}, link.crm_id, references
    )
    return next(iter(found), None)


def check_in_sage(link: ExternalLink, sage_id: str) -> None:
    """Raise BindingRefused unless Sage has the record `sage_id` of the binding's kind."""
    label, what = link.pair.erp.system_label, noun(link)
    read = SAGE_READS.get(link.entity)
    if read is None:
        raise BindingRefused(
            f"Clarity cannot check a {label} {what}, so this binding cannot be rebound: "
            "unbind it instead."
        )
    try:
        read(connector_for(link.pair.erp), sage_id)
    except NotFound as missing:
        raise BindingRefused(
            f"{label} has no {what} {sage_id} ({missing.message.rstrip('.')}): check the id "
            f"in {label}, then try again. Nothing was changed."
        ) from None
    except Unsupported:
        raise BindingRefused(
            f"{label} cannot be asked for a {what}, so {sage_id} cannot be checked: unbind "
            "instead, and the next run finds the record itself."
        ) from None
    except ConnectorError as down:
        raise SageUnavailable(
            f"{label} did not answer, so {what} {sage_id} could not be checked "
            f"({down.message.rstrip('.')}). Nothing was changed: try again once {label} is "
            "back."
        ) from None


def rebind(link: ExternalLink, sage_id: str, user: Any, note: str = "") -> ExternalLink:
    """Bind the CRM record to the Sage record `sage_id` instead: runs from now on use it."""
    sage_id, label, what = sage_id.strip(), link.pair.erp.system_label, noun(link)
    if not sage_id:
        raise BindingRefused(f"Type the {label} {what} id to bind CRM record {link.crm_id} to.")
    if sage_id == link.sage_id:
        raise BindingRefused(
            f"CRM record {link.crm_id} is bound to {label} {what} {sage_id} already: type "
            "another id to rebind it."
        )
    others = ExternalLink.objects.filter(pair=link.pair, entity=link.entity, sage_id=sage_id)
    if holder := others.exclude(pk=link.pk).first():
        raise taken(link, sage_id, holder.crm_id)
    check_in_sage(link, sage_id)
    before, link.sage_id = link.sage_id, sage_id
    try:
        with transaction.atomic():
            link.save(update_fields=["sage_id", "updated_at"])
            audit(
                link, LogEntry.Action.UPDATE, {"sage_id": [before, sage_id]}, user, "rebound", note
            )
    except IntegrityError:  # bound meanwhile by a run or another person
        raise taken(link, sage_id, "another one") from None
    return link


def taken(link: ExternalLink, sage_id: str, holder: str) -> SageIdTaken:
    label = link.pair.erp.system_label
    return SageIdTaken(
        f"{label} {noun(link)} {sage_id} is bound to CRM record {holder} already: unbind "
        "that binding first, or choose another id."
    )


def unbind(link: ExternalLink, user: Any, note: str = "") -> None:
    """Forget the binding: the next run of the record looks its Sage record up again."""
    forgotten = {name: [getattr(link, name), "None"] for name in ("entity", "crm_id", "sage_id")}
    with transaction.atomic():
        audit(link, LogEntry.Action.DELETE, forgotten, user, "unbound", note)
        link.delete()


def audit(
    link: ExternalLink, action: int, changes: dict[str, list[str]], user: Any, what: str, note: str
) -> LogEntry:
    """The binding's audit entry: the change, who made it, what they did and their note
    (`user` None inside a request: auditlog's middleware fills in the actor)."""
    return LogEntry.objects.log_create(
        link,
        force_log=True,
        action=action,
        changes=changes,
        actor=user if getattr(user, "is_authenticated", False) else None,
        additional_data={"action": what, "detail": note.strip()[:NOTE_LENGTH]},
    )
