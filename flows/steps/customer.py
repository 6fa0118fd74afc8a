"""The Sage customer for the deal's organization: the one bound to it before, else one Sage
already has (by external reference, email or name, as the ERP searches), else a new one.

One customer per organization, whatever the timing: the search and the create run under a
claim on the organization (`flows.claims`), and the binding (`ExternalLink`) is recorded
before the claim is let go, so the next deal of the same organization, however close
behind, finds it and never makes a second customer. Where Sage already holds several that
match, the ERP says so with the candidates and the run stops for a person to choose.
"""

from typing import Any

from connectors.records import CustomerMatch
from flows.base import StepContext
from flows.claims import claimed
from flows.models import ExternalLink
from flows.publishing import publish
from flows.steps import MAP_DEAL, linked_sage_id, write_key
from flows.steps.mapping import to_erp

ENTITY = "customer"


def find_or_create_customer(ctx: StepContext) -> dict[str, Any]:
    customer = ctx.outputs[MAP_DEAL]["customer"]
    crm_id = (customer.get("external_refs") or {}).get("crm") or ""
    if not crm_id:
        found = find_or_create(ctx, customer)
    else:
        found = bound(ctx, crm_id, customer)
        if found is None:
            with claimed(ctx.run, ENTITY, crm_id, f"the Sage customer for {customer['name']}"):
                found = bound(ctx, crm_id, customer) or find_or_create(ctx, customer)
                bind(ctx, crm_id, found.ref)
    if found.how == "created":
        publish(
            ctx.pair,
            "customer.created",
            {"crm_id": crm_id, "sage_id": found.ref, "name": found.name, "customer": customer},
            found.ref,
            ctx.kept,
        )
    return {
        "customer_ref": found.ref,
        "name": found.name,
        "how": found.how,
        "tax_rate_id": found.tax_rate,
        "references": {"sage_customer": found.ref},
    }


def bound(ctx: StepContext, crm_id: str, customer: dict[str, Any]) -> CustomerMatch | None:
    sage_id = linked_sage_id(ctx, ENTITY, crm_id)
    return ctx.erp.bound_customer(sage_id, customer) if sage_id else None


def find_or_create(ctx: StepContext, customer: dict[str, Any]) -> CustomerMatch:
    values = to_erp(ctx, "Customer", customer, "customer")
    return ctx.erp.find_or_create_customer(values, customer, write_key(ctx, ENTITY, values))


def bind(ctx: StepContext, crm_id: str, ref: str) -> None:
    """Bind the organization to the customer, unless another one is bound to it already
    (two CRM records matched one Sage customer by name: keep the first binding)."""
    if not ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY, sage_id=ref).exists():
        ExternalLink.objects.get_or_create(
            pair=ctx.pair, entity=ENTITY, crm_id=crm_id, defaults={"sage_id": ref}
        )
