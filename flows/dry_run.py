"""Dry-run of a mapping (issue 21 item 1): a version, or a draft from the designer, tried on
the last N won deals of its pair, each classified against the ERP as it is now, writing
nothing anywhere.

The deal each run mapped is taken from the run's recorded `read_deal` output (what the
mapping really read, and no CRM call per deal); only a deal whose event has no run yet is
read from the CRM. The won-deal flow's own checks run as they do in a run (mapping issues,
the deal's ID, exchange rate, lines against the amount, items by the unknown-item policy),
in its order, and the ERP is only read: one `documents_since` for the period, each item
code and each bound customer once. Classes, first that applies:

- would fail: what stops the run, with the field and the reason;
- would duplicate: the deal is bound to its document, or the ERP holds a document with its
  deal reference;
- would update: the organization's bound customer in the ERP differs from the mapped one
  (the field diff; the run books to it as it is);
- would create: a new document (with a customer found or made by the ERP's search);
- would write nothing: the deal is not in the trigger stage.

It runs in the request, bounded by `n` ≤ MAX_DEALS and BUDGET_SECONDS: the reads are few
and batched, and the result is shown, not stored.
"""

import time
from datetime import date
from typing import Any

from clarity.permissions import needs
from connectors.base import WebhookEvent
from connectors.errors import ValidationError
from connectors.records import ItemRef
from flows.base import LABEL_SEPARATOR, StepContext, StepOutputs
from flows.dry_run_customers import KnownCustomers, bound_customer_ref, compare_customer
from flows.dry_run_outcomes import (
    CREATE,
    DUPLICATE,
    FAIL,
    NOTHING,
    DealOutcome,
    DryRunResult,
    Mapped,
)
from flows.exactly_once import DATE_FIELDS, REFERENCE_FIELDS, document_kind
from flows.models import ExternalLink, FlowConfig, InboundEvent, RunStep, SyncRun
from flows.registry import FLOWS
from flows.replays import POSTED_BINDING
from flows.steps import MAP_DEAL, READ_DEAL, trigger_stage
from flows.steps.deal import accepts_won_deal, deal_name, mapped_paths, rule_paths
from flows.steps.items import unknown_item
from flows.steps.mapping import active_mapping, check, crm_field, erp_schema
from flows.steps.money import check_total, deal_rate, in_erp_currency
from mappings import engine
from mappings.canonical import to_json
from mappings.engine import Issue, MappingResult
from mappings.lookups import load_table
from mappings.models import Mapping
from mappings.views.common import CHANGE_MAPPING
from mappings.views.sources import PreviewEnvironment

# Each try reads Sage many times with the connection's credentials: admins, not viewers.
DRY_RUN = needs(CHANGE_MAPPING, message="Only integration admins dry-run a mapping: it reads Sage.")
DEFAULT_DEALS = 100
MAX_DEALS = 500
BUDGET_SECONDS = 30.0


class DryRunRefused(Exception):
    """The dry-run cannot start; the message says why and what to do."""


class Specs:
    """The won-deal flow's mappings: the one under test with the tried spec, the others with
    their active versions."""

    def __init__(self, ctx: StepContext, mapping: Mapping, spec: dict[str, Any]) -> None:
        self.ctx, self.mapping, self.spec = ctx, mapping, spec
        self.compiled: dict[tuple, engine.CompiledMapping] = {}

    def is_tried(self, direction: str, source: str, target: str) -> bool:
        m = self.mapping
        return (m.direction, m.source_entity, m.target_entity) == (direction, source, target)

    def apply(
        self,
        direction: str,
        source: str,
        target: str,
        record: dict[str, Any],
        schema: list | None = None,
    ) -> tuple[MappingResult, dict[str, Any]]:
        key = (direction, source, target)
        if self.is_tried(*key):
            spec = self.spec
            if key not in self.compiled:
                full = {"target_entity": target, **spec}
                self.compiled[key] = engine.compile_spec(full, schema, self.mapping.system)
        else:
            version = active_mapping(self.ctx, direction, source, target)
            spec = version.spec
            self.compiled[key] = engine.compiled_version(version, schema, version.mapping.system)
        return self.compiled[key].apply(record, PreviewEnvironment(self.ctx.pair)), spec


def won_deal_config(mapping: Mapping) -> FlowConfig:
    """The pair's enabled won-deal flow, whose runs the dry-run imitates."""
    config = FlowConfig.objects.filter(
        pair=mapping.pair, flow__in=list(POSTED_BINDING), enabled=True
    ).first()
    if config is None:
        raise DryRunRefused(
            f"{mapping.pair.name} has no won-deal flow switched on: switch on “won deal → "
            "sales order” or “→ invoice” under the pair's flows, then try again."
        )
    return config


def dry_run(
    mapping: Mapping, spec: dict[str, Any], n: int = DEFAULT_DEALS, tried: str = ""
) -> DryRunResult:
    """`spec` (a version's or a draft) for `mapping`, tried on the pair's last `n` won deals.
    Raises DryRunRefused (the mapping is no won-deal one, the draft does not compile) and
    the connector's errors when the ERP cannot be read at all."""
    started = time.monotonic()
    config = won_deal_config(mapping)
    flow = FLOWS[config.flow]
    ctx = StepContext(run=SyncRun(flow_config=config, pair=mapping.pair), flow=flow)
    document = "SalesOrder" if document_kind(config.flow) == "sales_order" else "Invoice"
    wanted = won_deal_mappings(ctx, document)
    key = (mapping.direction, mapping.source_entity, mapping.target_entity)
    if key not in wanted:
        raise DryRunRefused(
            f"A dry-run tries won deals, and {config.flow} does not use {mapping.name} "
            f"({mapping.source_entity} → {mapping.target_entity}): open one of its mappings."
        )
    specs = Specs(ctx, mapping, spec)
    try:
        engine.compile_spec({"target_entity": mapping.target_entity, **spec}, None, "the target")
    except engine.MappingSpecError as exc:
        raise DryRunRefused("The draft cannot run: " + "; ".join(exc.problems)) from None
    result = DryRunResult(mapping, tried or "the draft", min(max(n, 1), MAX_DEALS))
    events = last_won_events(config, result.requested)
    paths = mapped_paths(ctx) | set(rule_paths(spec.get("rules") or [], ""))
    deals = []
    for event in events:
        if time.monotonic() - started > BUDGET_SECONDS:
            result.stopped = (
                f"stopped after {len(deals)} deals: the {BUDGET_SECONDS:.0f}s budget ran out"
            )
            break
        deals.append(map_one(ctx, specs, document, event, paths))
    classify(ctx, specs, document, deals)
    result.outcomes = [deal.outcome for deal in deals if deal.outcome]
    result.seconds = time.monotonic() - started
    return result


def won_deal_mappings(ctx: StepContext, document: str) -> set[tuple[str, str, str]]:
    deal = ctx.crm.deal_entity
    out = [(name, ctx.erp.names(name).mapping) for name in ("Customer", document)]
    return {
        ("in", deal, "Customer"),
        ("in", deal, document),
        *(("out", canonical, entity) for canonical, entity in out),
    }


def last_won_events(config: FlowConfig, n: int) -> list[InboundEvent]:
    """The newest event of each of the last `n` deals the flow ran for (or, with no run
    yet, would run for), newest first."""
    ran = set(SyncRun.objects.filter(flow_config=config).values_list("event_id", flat=True))
    chosen: dict[str, InboundEvent] = {}
    events = InboundEvent.objects.filter(
        pair=config.pair_id, status=InboundEvent.Status.ACCEPTED
    ).exclude(entity_key="")
    for event in events.order_by("-received_at", "-pk").iterator():
        if event.entity_key in chosen:
            continue
        if event.pk in ran or accepts_won_deal(config, as_webhook(event)):
            chosen[event.entity_key] = event
            if len(chosen) >= n:
                break
    return list(chosen.values())


def as_webhook(event: InboundEvent) -> WebhookEvent:
    return WebhookEvent(event.kind, event.entity_key, event.dedupe_key, event.payload or {})


def deal_record(ctx: StepContext, key: str, paths: set[str]) -> tuple[dict[str, Any], bool, str]:
    """The deal as its newest run read it (no CRM call), else as the CRM has it now."""
    recorded = (
        RunStep.objects.filter(
            run__pair=ctx.pair,
            run__entity_key=key,
            name=READ_DEAL,
            status=RunStep.Status.SUCCEEDED,
        )
        .order_by("-run__created_at", "-attempt")
        .values_list("output", "run_id")
        .first()
    )
    if recorded and recorded[0].get("record"):
        output, run_id = recorded
        return output["record"], bool(output.get("won")), f"run {run_id}"
    read = ctx.crm.read_deal(key, trigger_stage(ctx.config.options, ctx.crm), paths)
    return to_json(read.record), read.won, f"{ctx.crm.label} (read now)"


def failed(deal: Mapped, label: str, exc: ValidationError) -> DealOutcome:
    fields = {str(k): str(v) for k, v in (getattr(exc, "fields", None) or {}).items()}
    return DealOutcome(
        deal.event.entity_key, label, FAIL, str(exc), fields, read_from=deal.read_from
    )


def map_one(
    ctx: StepContext, specs: Specs, document: str, event: InboundEvent, paths: set[str]
) -> Mapped:
    """The deal through the in mappings and `map_deal`'s checks, as a run would."""
    record, won, read_from = deal_record(ctx, event.entity_key, paths)
    deal = Mapped(event, record, read_from)
    label = deal_name(record) or event.entity_key
    if not won:
        deal.outcome = DealOutcome(
            event.entity_key,
            label,
            NOTHING,
            "The deal is not in the trigger stage.",
            read_from=read_from,
        )
        return deal
    entity = ctx.crm.deal_entity
    noun = "sales order" if document == "SalesOrder" else "invoice"
    ctx.outputs = StepOutputs()
    try:
        customer, customer_spec = specs.apply("in", entity, "Customer", record)
        made, spec = specs.apply("in", entity, document, record)
        names = (
            str(made.output.get("crm_deal_id") or ""),
            deal_name(record),
            str(customer.output.get("name") or ""),
        )
        label = LABEL_SEPARATOR.join(name for name in names if name) or label
        check(ctx, customer, customer_spec, "customer")
        check(ctx, made, spec, noun)
        if not made.output.get("crm_deal_id"):
            where = crm_field(ctx, spec, Issue("error", "crm_deal_id", ""))
            raise ValidationError(
                f"The deal has no ID to mark the Sage record with: fill {where} "
                f"in {ctx.crm.label}.",
                fields={"crm_deal_id": "required"},
            )
        rate = deal_rate(ctx, str(made.output.get("currency") or ""))
        deal.document = to_json(made.output)
        check_total(ctx, deal.document, noun)
    except ValidationError as exc:
        deal.outcome = failed(deal, label, exc)
        return deal
    deal.customer, deal.rate = to_json(customer.output), str(rate or "")
    deal.outcome = DealOutcome(event.entity_key, label, CREATE, read_from=read_from)
    return deal


def classify(ctx: StepContext, specs: Specs, document: str, deals: list[Mapped]) -> None:
    """The later checks against the ERP, read in batches: items, documents, customers."""
    mapped = [deal for deal in deals if deal.outcome and deal.outcome.verdict == CREATE]
    if not mapped:
        return
    dates = [
        date.fromisoformat(str(deal.document[name])[:10])
        for deal in mapped
        for name in DATE_FIELDS
        if deal.document.get(name)
    ]
    dates += [deal.event.received_at.date() for deal in mapped]
    kind = document_kind(ctx.config.flow)
    in_sage: dict[str, str] = {}
    for seen in ctx.erp.documents_since(min(dates)):
        if seen.kind == kind and seen.deal_reference:
            in_sage.setdefault(seen.deal_reference, seen.number)
    items: dict[str, ItemRef | None] = {}
    customers = KnownCustomers()
    for deal in mapped:
        outcome = deal.outcome
        assert outcome is not None
        ctx.outputs = StepOutputs({MAP_DEAL: {"rate": deal.rate}})
        try:
            lines = match_lines(ctx, deal, items, outcome)
            if outcome.verdict != CREATE:
                continue
            ref = check_documents(ctx, specs, document, deal, lines, in_sage)
        except ValidationError as exc:
            deal.outcome = failed(deal, outcome.label, exc)
            continue
        if ref:
            outcome.verdict, outcome.reason = DUPLICATE, ref
        try:
            values: dict[str, Any] | str = to_erp(ctx, specs, "Customer", deal.customer, "customer")
        except ValidationError as exc:
            values = str(exc)
        compare_customer(ctx, deal.customer, values, customers, outcome)


def match_lines(
    ctx: StepContext, deal: Mapped, items: dict[str, ItemRef | None], outcome: DealOutcome
) -> list[dict[str, Any]]:
    """`match_items` without its writes: each code looked up once; policy as the flow's."""
    table = load_table(ctx.pair, ctx.erp.item_table)
    policy = ctx.option("unknown_item_policy")
    lines = []
    for index, line in enumerate(deal.document.get("lines") or [], start=1):
        sku = str(line.get("sku") or "")
        code = (table.folded.get(sku.strip().casefold()) if table else None) or sku
        if code not in items:
            items[code] = ctx.erp.find_item(code)
        item = items[code]
        if item:
            lines.append(line | {"sku": item.code, "item_id": item.id})
        elif policy == "create" and ctx.erp.creates_items:
            outcome.notes.append(f"Would create item {code} in {ctx.erp.label}.")
            lines.append(line | {"sku": code, "item_id": ""})
        elif policy == "skip_line":
            outcome.notes.append(f"Would leave out line {index} ({sku}): not in {ctx.erp.label}.")
        else:
            raise unknown_item(ctx, sku, index, policy)
    if not lines:
        raise ValidationError(
            f"No line of this deal sells an item {ctx.erp.label} has.",
            fields={"lines": "no known item"},
        )
    return lines


def check_documents(
    ctx: StepContext,
    specs: Specs,
    document: str,
    deal: Mapped,
    lines: list[dict[str, Any]],
    in_sage: dict[str, str],
) -> str:
    """Why the deal's document exists already ("" when it would be made); for a new one,
    the document through its out mapping (the customer's too when it would be searched)."""
    key, entity = deal.event.entity_key, POSTED_BINDING[ctx.config.flow]
    link = ExternalLink.objects.filter(pair=ctx.pair, entity=entity, crm_id=key).first()
    if link:
        return f"The deal is bound to {entity.replace('_', ' ')} {link.sage_id} (a run posted it)."
    references = [str(deal.document.get(name)).strip() for name in REFERENCE_FIELDS]
    for reference in references:
        if reference and reference in in_sage:
            return (
                f"{ctx.erp.label} holds {entity.replace('_', ' ')} {in_sage[reference]} "
                f"with the deal reference {reference}."
            )
    customer_ref = bound_customer_ref(ctx, deal.customer)
    if not customer_ref:
        to_erp(ctx, specs, "Customer", deal.customer, "customer")
    canonical = deal.document | {"customer_ref": customer_ref, "lines": lines}
    canonical, _ = in_erp_currency(ctx, canonical, "document")
    if customer_ref:
        to_erp(ctx, specs, document, canonical, "document")
    return ""


def to_erp(
    ctx: StepContext, specs: Specs, canonical: str, record: dict[str, Any], what: str
) -> dict[str, Any]:
    """The canonical record as the ERP's own values; problems raise naming each field."""
    names = ctx.erp.names(canonical)
    result, spec = specs.apply("out", canonical, names.mapping, record, erp_schema(ctx, names))
    check(ctx, result, spec, f"{ctx.erp.label} {what}", in_crm=False)
    return result.output
