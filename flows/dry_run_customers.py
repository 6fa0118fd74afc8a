"""The customer side of a dry-run (flows/dry_run.py): a bound customer beside the mapped one
(a difference is a would-update), and for an organization not bound yet the customer the
ERP's own search would take, read only, or that a new one would be made. Each customer is
read or searched once per dry-run."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.errors import Ambiguous, ConnectorError, Unsupported
from connectors.records import CustomerMatch
from flows.base import StepContext
from flows.dry_run_outcomes import CREATE, FAIL, UPDATE, DealOutcome, FieldChange
from flows.models import ExternalLink


@dataclass
class KnownCustomers:
    """What the dry-run has read of the ERP's customers: records by ref, searches by CRM id."""

    records: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    searches: dict[str, CustomerMatch | Ambiguous | None] = field(default_factory=dict)


def bound_customer_ref(ctx: StepContext, customer: dict[str, Any]) -> str:
    crm_id = crm_id_of(customer)
    link = ExternalLink.objects.filter(pair=ctx.pair, entity="customer", crm_id=crm_id).first()
    return link.sage_id if crm_id and link else ""


def crm_id_of(customer: dict[str, Any]) -> str:
    return str((customer.get("external_refs") or {}).get("crm") or "")


def compare_customer(
    ctx: StepContext,
    customer: dict[str, Any],
    values: dict[str, Any] | str,
    known: KnownCustomers,
    outcome: DealOutcome,
) -> None:
    """`values`: the mapped customer in the ERP's own fields, or why it could not be mapped."""
    ref = bound_customer_ref(ctx, customer)
    if not ref:
        search_customer(ctx, customer, values, known, outcome)
        return
    if ref not in known.records:
        try:
            known.records[ref] = ctx.erp.read_customer(ref)
        except Unsupported:
            known.records[ref] = None
    current = known.records[ref]
    if current is None:
        return
    if isinstance(values, str):
        outcome.notes.append(f"The customer could not be compared with {ref}: {values}")
        return
    outcome.changes = [
        FieldChange(name, plain(current[name]), plain(value))
        for name, value in values.items()
        if name in current and plain(value) and plain(value) != plain(current[name])
    ]
    if outcome.changes and outcome.verdict == CREATE:
        outcome.verdict = UPDATE
        outcome.reason = f"{ctx.erp.label} customer {ref} differs from the mapped customer."


def search_customer(
    ctx: StepContext,
    customer: dict[str, Any],
    values: dict[str, Any] | str,
    known: KnownCustomers,
    outcome: DealOutcome,
) -> None:
    """The ERP's customer search as a run would make it, without the create: found (which
    one, and how), a new one, or several to choose from (the run would wait: would fail)."""
    erp, name = ctx.erp.label, customer.get("name") or "the customer"
    if isinstance(values, str):
        outcome.notes.append(f"{name} would not be searched in {erp}: {values}")
        return
    key = crm_id_of(customer) or str(name)
    if key not in known.searches:
        try:
            known.searches[key] = ctx.erp.find_customer(values, customer)
        except Ambiguous as exc:
            known.searches[key] = exc
        except Unsupported:
            outcome.notes.append(f"The customer would be found in {erp} or created.")
            return
        except ConnectorError as exc:
            outcome.notes.append(f"{erp} could not be searched for {name}: {exc}")
            return
    found = known.searches[key]
    if isinstance(found, Ambiguous):
        if outcome.verdict == CREATE:
            outcome.verdict, outcome.reason = FAIL, str(found)
            outcome.fields = dict(found.fields)
        else:
            outcome.notes.append(str(found))
    elif found is None:
        outcome.notes.append(f"A new {erp} customer would be made for {name}.")
    else:
        outcome.notes.append(
            f"It would be booked to {erp} customer {found.name} ({found.ref}), {found.how}."
        )


def plain(value: Any) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    try:
        return format(Decimal(text).normalize(), "f") if text[:1].isdigit() else text
    except InvalidOperation:
        return text
