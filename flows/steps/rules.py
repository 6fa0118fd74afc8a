"""The won-deal flows' `rules` step, right after mapping: the flow's business rules (the
newest version, flows/rules.py) run on the mapped deal, and every rule met acts, in order.

- set a field: the mapped document the later steps send carries the value (the step's
  output keeps that document, so it is sent so also after an approval or a crash);
- make a task: the deal's owner gets a task in the CRM, once per deal and rule;
- require approval / hold for review: the run waits for an approver (an Approval of kind
  "rule", decided like any other; a rejection ends the run);
- skip: the run ends writing nothing, its summary giving the rule and the reason;
- route: the run ends and a run of the pair's other flow (the invoice flow instead of the
  order flow) starts for the same event, even while that flow is switched off (the Flows
  page lets one of the two be on; the run is marked `routed`, flows/leases.py); a deal is
  routed once per event, so two flows routing to each other do not bounce it.

The step's output names the rules version used and what each rule met did. After a skip or
a route its `skipped` tells the later steps (the `after_won_deal` ones) to write nothing, on
this attempt and on any that resumes the run."""

import logging
from typing import Any

from django.utils import timezone

from connectors.errors import Unsupported
from flows.base import StepContext
from flows.leases import ROUTED
from flows.models import Approval, ExternalLink, FlowConfig, SyncRun
from flows.queue import enqueue
from flows.rule_models import RuleSetVersion
from flows.rules import (
    HOLD,
    REQUIRE_APPROVAL,
    ROUTE,
    SET_FIELD,
    SKIP,
    TASK,
    Facts,
    Hit,
    describe,
    rules_met,
)
from flows.steps import MAP_DEAL, READ_DEAL, RULES
from flows.steps.approval import asked_for, hold
from flows.steps.tasks import DEFAULT_DUE_DAYS, due_words, working_days_after

logger = logging.getLogger(__name__)
__all__ = ["RULES", "apply_rules"]


def latest_rules(config: FlowConfig) -> RuleSetVersion | None:
    return RuleSetVersion.objects.filter(flow_config=config).order_by("-number").first()


def apply_rules(ctx: StepContext) -> dict[str, Any]:
    version = ctx.kept(("rule set", ctx.config.pk), lambda: latest_rules(ctx.config))
    if version is None or not version.rules:
        return {"version": None, "met": []}
    mapped = ctx.outputs[MAP_DEAL]
    document = mapped["document"]
    facts = Facts(
        document,
        ctx.outputs[READ_DEAL].get("record") or {},
        bound_customer(ctx, mapped.get("customer") or {}),
    )
    hits = rules_met(version.rules, facts)
    output: dict[str, Any] = {
        "version": version.number,
        "met": [f"{hit.title}: {describe(hit.rule)}" for hit in hits],
    }
    for hit in hits:
        action = hit.rule["action"]
        if hit.kind == SET_FIELD:
            document[action["field"]] = action["value"]  # the later steps send this document
            output.setdefault("set", {})[action["field"]] = action["value"]
            output["document"] = document
        elif hit.kind == TASK:
            output.setdefault("tasks", []).append(make_task(ctx, hit))
    stop = hits[-1] if hits and hits[-1].kind in (SKIP, ROUTE) else None
    if stop and stop.kind == SKIP:
        return output | end_run(ctx, f"Skipped by {stop.title}: {stop.rule['action']['text']}")
    if stop:
        return output | route(ctx, stop)
    asked = [hit for hit in hits if hit.kind in (REQUIRE_APPROVAL, HOLD)]
    if asked:
        reason = " ".join(approval_reason(hit) for hit in asked)
        output["approval"] = hold(ctx, asked_for(ctx, document, reason), Approval.Kind.RULE)
    return output


def bound_customer(ctx: StepContext, customer: dict[str, Any]) -> str:
    """The ERP's number of the deal's customer when a run bound it already, else ""."""
    crm_id = (customer.get("external_refs") or {}).get("crm") or ""
    link = ExternalLink.objects.filter(pair=ctx.pair, entity="customer", crm_id=crm_id).first()
    return link.sage_id if crm_id and link else ""


def approval_reason(hit: Hit) -> str:
    what = "held for review" if hit.kind == HOLD else "needs approval"
    return f"The deal {what} by {hit.title}: {hit.rule['action']['text'].rstrip('.')}."


def end_run(ctx: StepContext, why: str) -> dict[str, Any]:
    """No later step writes anything; the run succeeds with `why` as its summary."""
    ctx.set_summary(why)
    return {"skipped": why}


def route(ctx: StepContext, hit: Hit) -> dict[str, Any]:
    """A run of the rule's flow for the same event (once per event), then this run ends."""
    flow = hit.rule["action"]["flow"]
    target = FlowConfig.objects.filter(pair=ctx.pair, flow=flow).first()
    if target is None:
        return end_run(ctx, f"Not routed by {hit.title}: the pair no longer has {flow}.")
    run = ctx.run
    earlier = SyncRun.objects.filter(flow_config=target, entity_key=run.entity_key)
    earlier = (
        earlier.filter(event=run.event)
        if run.event_id
        else earlier.filter(created_at__gte=run.created_at)
    )
    routed = earlier.order_by("pk").first()
    if routed is None:
        routed = SyncRun.objects.create(
            flow_config=target, pair=ctx.pair, event=run.event, entity_key=run.entity_key,
            progress={ROUTED: {"from_run": run.pk, "rule": hit.title}},
        )  # fmt: skip
        enqueue(routed)  # it starts once this run lets go of the deal
    return end_run(ctx, f"Routed to {flow} by {hit.title} (run {routed.pk}).") | {
        "routed_to": flow,
        "routed_run": routed.pk,
    }


def make_task(ctx: StepContext, hit: Hit) -> str:
    """A task for the deal's owner saying what the rule asks; once per deal and rule."""
    days = ctx.option("task_due_days")
    due = working_days_after(timezone.localdate(), DEFAULT_DUE_DAYS if days is None else days)
    deal = ctx.run.entity_key
    key = f"clarity-task-{ctx.pair.pk}-rule-{deal}-rule-{hit.number}"
    subject = hit.rule["action"]["text"]
    body = f"Clarity's {hit.title} asks for this: {describe(hit.rule)}. Due {due_words(due)}."
    try:
        return ctx.crm.add_task(deal, subject, body, due, key)
    except Unsupported:
        logger.info("Run %s: %s keeps no tasks; %s made none", ctx.run.pk, ctx.crm.label,
                    hit.title)  # fmt: skip
        return ""
