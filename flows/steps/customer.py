"""The Sage customer for the deal's organization: the one bound to it before, else one Sage
already has (by CRM id where Sage 100 keeps it, then email, then name), else a new one.

The binding (`ExternalLink`) is recorded as soon as the customer is known, so the next deal
of the same organization finds it at once and never makes a second customer. A bound Sage
100 customer costs no call at all (its reference is the binding; its name, for the note,
is the deal's); Sage Accounting's is read for its default tax rate. A Sage 100 create names
the CRM id (`UDF_CRM_ID`), so the bridge answers with a customer made for it meanwhile.
"""

from typing import Any

from flows.base import StepContext
from flows.events import publish
from flows.models import ExternalLink
from flows.steps import MAP_DEAL, write_key
from flows.steps.mapping import apply, check, erp_schema

ENTITY = "customer"


def find_or_create_customer(ctx: StepContext) -> dict[str, Any]:
    customer = ctx.outputs[MAP_DEAL]["customer"]
    crm_id = (customer.get("external_refs") or {}).get("crm") or ""
    link = ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY, crm_id=crm_id).first()
    if crm_id and link and ctx.pair.erp.system == "sage100":
        found, how = bound_sage100_customer(link.sage_id, customer), "bound before"
    elif crm_id and link:
        found, how = ctx.erp.get("contacts", link.sage_id), "bound before"
    elif ctx.pair.erp.system == "sage100":
        found, how = sage100_customer(ctx, customer)
    else:
        found, how = sage50_customer(ctx, customer)
    ref, name = customer_ref(ctx, found), customer_name(ctx, found)
    if crm_id and not link:
        bind(ctx, crm_id, ref)
    if how == "created":
        publish(
            ctx.pair,
            "customer.created",
            {"crm_id": crm_id, "sage_id": ref, "name": name, "customer": customer},
            ref,
        )
    return {
        "customer_ref": ref,
        "name": name,
        "how": how,
        "tax_rate_id": ((found.get("default_sales_tax_rate") or {}).get("id") or ""),
        "references": {"sage_customer": ref},
    }


def bind(ctx: StepContext, crm_id: str, ref: str) -> None:
    """Bind the organization to the customer, unless another one is bound to it already
    (two CRM records matched one Sage customer by name: keep the first binding)."""
    if not ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY, sage_id=ref).exists():
        ExternalLink.objects.get_or_create(
            pair=ctx.pair, entity=ENTITY, crm_id=crm_id, defaults={"sage_id": ref}
        )


def bound_sage100_customer(ref: str, customer: dict[str, Any]) -> dict[str, Any]:
    """What the steps after need of a bound customer, without asking Sage: its key, and
    the deal's name for it."""
    division, _, number = ref.partition("-")
    return {"ARDivisionNo": division, "CustomerNo": number, "CustomerName": customer["name"]}


def customer_ref(ctx: StepContext, record: dict[str, Any]) -> str:
    if ctx.pair.erp.system == "sage100":
        return f"{record['ARDivisionNo']}-{record['CustomerNo']}"
    return record["id"]


def customer_name(ctx: StepContext, record: dict[str, Any]) -> str:
    return record.get("CustomerName") or record.get("name") or ""


def sage100_customer(ctx: StepContext, customer: dict[str, Any]) -> tuple[dict[str, Any], str]:
    schema = erp_schema(ctx, "customer")
    row, spec = apply(ctx, "out", "sage100", "Customer", "AR_Customer", customer, schema)
    check(ctx, row, spec, "Sage 100 customer", in_crm=False)
    values = row.output
    searches = [
        ("CRM id", "UDF_CRM_ID", values.get("UDF_CRM_ID")),
        ("email", "EmailAddress", values.get("EmailAddress")),
        ("name", "CustomerName", values.get("CustomerName")),
    ]
    for how, column, value in searches:
        if value:
            found = ctx.erp.search("customer", limit=1, **{column: value})
            if found:
                return found[0], f"found by {how}"
    created = ctx.erp.create("customer", values, write_key(ctx, "customer", values))
    return created, "found by CRM id" if created.get("existed") else "created"


def sage50_customer(ctx: StepContext, customer: dict[str, Any]) -> tuple[dict[str, Any], str]:
    schema = erp_schema(ctx, "contacts")
    contact, spec = apply(ctx, "out", "sage50", "Customer", "contacts", customer, schema)
    check(ctx, contact, spec, "Sage contact", in_crm=False)
    searches = [("email", {"email": customer.get("email")}), ("name", {"name": customer["name"]})]
    for how, criteria in searches:
        if not all(criteria.values()):
            continue
        found = [
            record
            for record in ctx.erp.search("contacts", **criteria)
            if "CUSTOMER" in {kind["id"] for kind in record.get("contact_types") or []}
        ]
        if found:
            return found[0], f"found by {how}"
    values = contact.output
    created = ctx.erp.create("contacts", values, write_key(ctx, "customer", values))
    return created, "created"
