"""Mapping the deal with the pair's own mappings, and saying plainly what stops a record.

Problems come back from the engine as issues; here they become errors a person can act on:
a missing value names the CRM field to fill, a missing exchange rate holds the run for
review (`NeedsReview`: failed, visible in the error queue, retried once the rate is added).
"""

from dataclasses import replace
from typing import Any

from clarity.formats import plain_number
from connectors.base import FieldInfo
from connectors.errors import ValidationError
from connectors.models import Connection
from connectors.roles import EntityNames
from connectors.services import cached_schema
from flows.base import StepContext
from flows.edits import with_edits
from flows.steps import READ_DEAL
from flows.steps.deal import deal_name
from flows.steps.mapping_data import active_versions, environment, run_data
from flows.steps.money import NeedsReview, check_total, deal_rate
from mappings.canonical import to_json
from mappings.engine import Issue, MappingResult, compiled_version
from mappings.models import MappingVersion
from mappings.versions import rules_by_target


def active_mapping(ctx: StepContext, direction: str, source: str, target: str):
    """The pair's active mapping version from `source` to `target` (each side's entity as
    its system names it in mappings, or a canonical entity); the run's chosen version
    instead when it is one of that mapping's (a period replay with a chosen version)."""
    chosen = chosen_version(ctx, direction, source, target)
    if chosen is not None:
        return chosen
    version = active_versions(ctx).get((direction, source, target))
    if version is None:
        raise ValidationError(
            f"The pair has no active mapping from {source} to {target}: add one under "
            "Mappings (or restore the shipped default), then retry.",
            fields={"mapping": f"{source} → {target}"},
        )
    return version


def chosen_version(ctx: StepContext, direction: str, source: str, target: str):
    """The version the run was told to map with, when it maps `source` to `target` for the
    run's pair; None otherwise (the run's other mappings use their active versions)."""
    if not ctx.run.mapping_version_id:
        return None
    data = run_data(ctx)
    if not data.chosen_read:
        data.chosen = (
            MappingVersion.objects.filter(pk=ctx.run.mapping_version_id, mapping__pair=ctx.pair)
            .select_related("mapping")
            .first()
        )
        data.chosen_read = True
    version = data.chosen
    if version is None:
        return None
    mapping = version.mapping
    maps = (mapping.direction, mapping.source_entity, mapping.target_entity)
    return version if maps == (direction, source, target) else None


def apply(
    ctx: StepContext,
    direction: str,
    source: str,
    target: str,
    record: dict[str, Any],
    schema: list[FieldInfo] | None = None,
) -> tuple[MappingResult, dict[str, Any]]:
    """The mapping's result for `record`, and the spec it ran (to name source fields)."""
    version = active_mapping(ctx, direction, source, target)
    compiled = compiled_version(version, schema, version.mapping.system)
    return compiled.apply(record, environment(ctx)), version.spec


def map_record(
    ctx: StepContext, direction: str, source: str, target: str, record: dict
) -> dict[str, Any]:
    """`record` through the pair's active mapping from `source` to `target`; its errors
    stop the run, naming each field."""
    version = active_mapping(ctx, direction, source, target)
    result = compiled_version(version).apply(record, environment(ctx))
    if result.errors:
        problems = "; ".join(f"{issue.field}: {issue.message}" for issue in result.errors)
        raise ValidationError(
            f"The mapping “{version.mapping.name}” cannot map this record: {problems}",
            fields={issue.field: issue.message for issue in result.errors},
        )
    return result.output


def to_erp(ctx: StepContext, canonical: str, record: dict[str, Any], what: str) -> dict[str, Any]:
    """A canonical record as the ERP's own (`canonical` → its entity), checked against the
    ERP's live schema; problems stop the run naming each field."""
    return to_erp_with_warnings(ctx, canonical, record, what)[0]


def to_erp_with_warnings(
    ctx: StepContext, canonical: str, record: dict[str, Any], what: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`to_erp`, and the mapping's warnings for the step's output, so that what was filled
    in on its own (a deal owner not in the salespeople table, a name cut short) shows on
    the run."""
    names = ctx.erp.names(canonical)
    result, spec = apply(ctx, "out", canonical, names.mapping, record, erp_schema(ctx, names))
    check(ctx, result, spec, f"{ctx.erp.label} {what}", in_crm=False)
    return result.output, [issue.to_dict() for issue in result.issues if issue.level == "warning"]


def erp_schema(ctx: StepContext, names: EntityNames) -> list[FieldInfo]:
    """The ERP entity's fields (cached), with its lines' fields as `lines[].Field`. None is
    required here: Sage assigns the keys (CustomerNo, SalesOrderNo, LineKey) on create, and
    the mappings mark the fields they must fill. Built once per process and configuration
    generation (a refreshed schema begins a new one)."""
    connection = ctx.pair.erp
    key = ("erp schema", connection.pk, names.entity, names.lines, names.lines_field)
    return list(ctx.kept(key, lambda: tuple(built_erp_schema(connection, names))))


def built_erp_schema(connection: Connection, names: EntityNames) -> list[FieldInfo]:
    """`erp_schema` from the cached rows (discovered live when absent)."""
    fields = [replace(f, required=False) for f in cached_schema(connection, names.entity)[0]]
    if not names.lines:
        return fields
    line_fields = cached_schema(connection, names.lines)[0]
    lines = names.lines_field
    return [
        *fields,
        FieldInfo(lines, "Lines", "list", required=True),
        *(replace(f, name=f"{lines}[].{f.name}", required=False) for f in line_fields),
    ]


def crm_field(ctx: StepContext, spec: dict[str, Any], issue: Issue) -> str:
    """Where in the CRM the value for the issue's target comes from, in words."""
    target = issue.field.split("[", 1)[0].split(".", 1)[0]
    source = str(rules_by_target(spec).get(target, {}).get("source") or "")
    return ctx.crm.describe_source(source) if source else ""


def check(
    ctx: StepContext, result: MappingResult, spec: dict[str, Any], what: str, in_crm: bool = True
) -> None:
    """Raise NeedsReview or a ValidationError naming each field when the result has errors;
    `in_crm`: the mapping read the CRM's record, so the fix is a CRM field to fill."""
    review = [issue for issue in result.issues if issue.code in ("no_rate", "no_currency")]
    if review:
        raise NeedsReview(
            review[0].message, fields={issue.field: issue.message for issue in review}
        )
    if not result.errors:
        return
    problems, fields = [], {}
    for issue in result.errors:
        where = crm_field(ctx, spec, issue) if in_crm else ""
        fix = f" Fill {where} in {ctx.crm.label}, then retry." if where else ""
        problems.append(f"{issue.field}: {issue.message}{fix}")
        fields[where or issue.field] = issue.message
    raise ValidationError(
        f"The {what} cannot be made from this deal. " + " ".join(problems), fields=fields
    )


def map_deal(document: str):
    """Step factory: the deal → canonical Customer and `document` (SalesOrder or Invoice)."""

    def step(ctx: StepContext) -> dict[str, Any]:
        record = ctx.outputs[READ_DEAL]["record"]
        entity = ctx.crm.deal_entity
        customer, customer_spec = apply(ctx, "in", entity, "Customer", record)
        made, spec = apply(ctx, "in", entity, document, record)
        ctx.label_run(
            str(made.output.get("crm_deal_id") or ""),
            deal_name(record),
            str(customer.output.get("name") or made.output.get("customer_name") or ""),
        )
        check(ctx, customer, customer_spec, "customer")
        noun = "sales order" if document == "SalesOrder" else "invoice"
        check(ctx, made, spec, noun)
        if not made.output.get("crm_deal_id"):
            raise ValidationError(
                "The deal has no ID to mark the Sage record with, so a retry could not find "
                f"it again. Fill {crm_field(ctx, spec, Issue('error', 'crm_deal_id', ''))} "
                f"in {ctx.crm.label}, then retry.",
                fields={"crm_deal_id": "required"},
            )
        rate = deal_rate(ctx, str(made.output.get("currency") or ""))
        edited = with_edits(ctx.run, to_json(made.output), rate)  # an operator's corrections
        mapped = edited.document
        check_total(ctx, mapped, noun)
        ctx.set_summary(f"{customer.output['name']} — {mapped['total']} {mapped['currency']}")
        customer_json = to_json(customer.output)
        ctx.save_fields({"customer_key": customer_key(customer_json)})
        return {
            "customer": customer_json,
            "document": mapped,
            "rate": plain_number(rate) if rate else "",  # the one rate this deal is converted at
            "warnings": [issue.to_dict() for issue in [*customer.issues, *made.issues]],
            **({"edit": edited.summary()} if edited.summary() else {}),
        }

    return step


def customer_key(customer: dict[str, Any]) -> str:
    """How the run's mapped customer is found again (`SyncRun.customer_key`): the CRM's id
    of the organization or account, else the name, when the mapping keeps no id."""
    crm_id = (customer.get("external_refs") or {}).get("crm")
    return (f"crm:{crm_id}" if crm_id else f"name:{customer.get('name') or ''}")[:255]
