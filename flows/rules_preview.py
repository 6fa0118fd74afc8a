"""A flow's rules (saved or a draft) tried on the pair's last won deals, writing nothing:
"on the last 20 deals of this pair, rule 2 would have held 3", with each deal's outcome.

The deals are those a dry-run of a mapping tries (flows/dry_run.py: the newest event of each
of the last deals the flow ran for or would run for). A deal a run mapped already is taken
from that run's `map_deal` and `read_deal` outputs (no call to any system); only a deal no
run mapped is mapped now, as the dry-run does, reading the CRM at most once for it."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flows.base import StepContext
from flows.dry_run import Specs, bound_customer_ref, last_won_events, map_one
from flows.dry_run_outcomes import CREATE, Mapped
from flows.exactly_once import document_kind
from flows.models import FlowConfig, InboundEvent, RunStep, SyncRun
from flows.registry import FLOWS
from flows.rules import HOLD, REQUIRE_APPROVAL, ROUTE, SET_FIELD, SKIP, TASK, Facts, Hit, rules_met
from flows.steps import MAP_DEAL, READ_DEAL
from flows.steps.deal import deal_name, mapped_paths
from mappings.models import Mapping

PREVIEW_DEALS = 20
VERBS = {
    REQUIRE_APPROVAL: "held for approval",
    HOLD: "held for review",
    SKIP: "skipped",
    ROUTE: "routed",
    SET_FIELD: "had a field set",
    TASK: "made a task",
}


@dataclass
class DealPreview:
    crm_id: str
    label: str
    outcome: str  # in words: what the rules would do, or why the deal was not tried
    rules: list[int] = field(default_factory=list)  # the numbers of the rules met


@dataclass
class RulesPreview:
    requested: int
    deals: list[DealPreview] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # deals per rule number

    def sentences(self, rules: list[dict[str, Any]]) -> list[str]:
        """ "On the last 20 deals of this pair, rule 2 would have held for review 3 (…)"."""
        tried = f"On the last {len(self.deals)} deals of this pair"
        lines = []
        for number, rule in enumerate(rules, start=1):
            names = [deal.label for deal in self.deals if number in deal.rules]
            verb = VERBS.get(rule["action"]["kind"], "acted on")
            shown = f" ({', '.join(names[:5])}{', …' if len(names) > 5 else ''})" if names else ""
            lines.append(f"{tried}, rule {number} would have {verb} {len(names)}{shown}.")
        return lines


def preview_rules(
    config: FlowConfig, rules: list[dict[str, Any]], n: int = PREVIEW_DEALS
) -> RulesPreview:
    ctx = StepContext(run=SyncRun(flow_config=config, pair=config.pair), flow=FLOWS[config.flow])
    result = RulesPreview(n)
    labels = {name: flow.label for name, flow in FLOWS.items()}
    fresh = FreshMapping(ctx)
    for event in last_won_events(config, n):
        recorded = recorded_outputs(config, event.entity_key)
        if recorded:
            read, mapped = recorded
            record, document = read.get("record") or {}, mapped["document"]
            customer = mapped.get("customer") or {}
        else:
            deal = fresh.map(event)
            outcome = deal.outcome if deal else None
            if deal is None or outcome is None or outcome.verdict != CREATE:
                why = outcome.reason if outcome else "the pair has no active mapping for it"
                result.deals.append(
                    DealPreview(event.entity_key, event.entity_key, f"not tried: {why}")
                )
                continue
            record, document, customer = deal.record, deal.document, deal.customer
        label = str(document.get("crm_deal_id") or deal_name(record) or event.entity_key)
        hits = rules_met(rules, Facts(document, record, bound_customer_ref(ctx, customer)))
        result.deals.append(DealPreview(event.entity_key, label, in_words(hits, labels),
                                        [hit.number for hit in hits]))  # fmt: skip
        result.counts.update(hit.number for hit in hits)
    return result


def in_words(hits: list[Hit], labels: dict[str, str]) -> str:
    if not hits:
        return "no rule applies: it would go on as now"
    parts = []
    for hit in hits:
        action = hit.rule["action"]
        if hit.kind == ROUTE:
            parts.append(f"routed to {labels.get(action['flow'], action['flow'])} ({hit.title})")
        elif hit.kind == SET_FIELD:
            parts.append(f"{action['field']} set to “{action['value']}” ({hit.title})")
        else:
            parts.append(f"{VERBS[hit.kind]} ({hit.title})")
    return "would be " + "; ".join(parts)


def recorded_outputs(config: FlowConfig, key: str) -> tuple[dict, dict] | None:
    """The newest run's `read_deal` and `map_deal` outputs for the deal, when it mapped it."""
    steps = RunStep.objects.filter(
        run__pair_id=config.pair_id, run__entity_key=key, status=RunStep.Status.SUCCEEDED
    ).order_by("-run__created_at", "-attempt")
    mapped = steps.filter(name=MAP_DEAL).values_list("output", "run_id").first()
    if not mapped or "document" not in mapped[0]:
        return None
    read = steps.filter(name=READ_DEAL, run_id=mapped[1]).values_list("output", flat=True).first()
    return (read or {}), mapped[0]


class FreshMapping:
    """Maps a deal no run has mapped, with the active mappings, as the dry-run does."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.document = (
            "SalesOrder" if document_kind(ctx.config.flow) == "sales_order" else "Invoice"
        )
        mapping = (
            Mapping.objects.filter(
                pair=ctx.pair, direction="in", source_entity=ctx.crm.deal_entity,
                target_entity=self.document, active_version__isnull=False,
            ).select_related("active_version").first()
        )  # fmt: skip
        spec = mapping.active_version.spec if mapping else {}
        self.specs = Specs(ctx, mapping, spec) if mapping else None
        self.paths: set[str] | None = None

    def map(self, event: InboundEvent) -> Mapped | None:
        if self.specs is None:
            return None
        if self.paths is None:
            self.paths = mapped_paths(self.ctx)
        return map_one(self.ctx, self.specs, self.document, event, self.paths)
