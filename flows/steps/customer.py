"""The Sage customer for the deal's organization: the one bound to it before, else one Sage
already has (by external reference, email or name, as the ERP searches), else a new one.

The binding (`ExternalLink`) is recorded as soon as the customer is known, so the next deal
of the same organization finds it at once and never makes a second customer.
"""

from typing import Any

from flows.base import StepContext
from flows.models import ExternalLink
from flows.publishing import publish
from flows.steps import MAP_DEAL, write_key
from flows.steps.mapping import to_erp

ENTITY = "customer"


def find_or_create_customer(ctx: StepContext) -> dict[str, Any]:
    customer = ctx.outputs[MAP_DEAL]["customer"]
    crm_id = (customer.get("external_refs") or {}).get("crm") or ""
    link = ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY, crm_id=crm_id).first()
    if crm_id and link:
        found = ctx.erp.bound_customer(link.sage_id, customer)
    else:
        values = to_erp(ctx, "Customer", customer, "customer")
        found = ctx.erp.find_or_create_customer(values, customer, write_key(ctx, ENTITY, values))
    if crm_id and not link:
        bind(ctx, crm_id, found.ref)
    if found.how == "created":
        publish(
            ctx.pair,
            "customer.created",
            {"crm_id": crm_id, "sage_id": found.ref, "name": found.name, "customer": customer},
            found.ref,
        )
    return {
        "customer_ref": found.ref,
        "name": found.name,
        "how": found.how,
        "tax_rate_id": found.tax_rate,
        "references": {"sage_customer": found.ref},
    }


def bind(ctx: StepContext, crm_id: str, ref: str) -> None:
    """Bind the organization to the customer, unless another one is bound to it already
    (two CRM records matched one Sage customer by name: keep the first binding)."""
    if not ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY, sage_id=ref).exists():
        ExternalLink.objects.get_or_create(
            pair=ctx.pair, entity=ENTITY, crm_id=crm_id, defaults={"sage_id": ref}
        )
