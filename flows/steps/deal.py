"""Which events start a won-deal run, and the first step: re-read the deal from the CRM.

The webhook is a hint, not the truth: `read_deal` fetches the deal, its organization or
account and a contact as they are now (`CrmRole.read_deal`), and only a deal still in the
trigger stage goes on.

Some CRMs name the stage in their events by key (Streak), others by name (Salesforce). A key
is resolved lazily: the first run of a pair (or the first after the option changed) is
started for any stage change, its `read_deal` learns the trigger stage's key where the deal
lives and stores it in the config's options (`trigger_stage_key`, with the name it came from
and its scope), and from then on other stages start no run at all.

A polled change (`StageHint.echo_prone`) of a deal already bound to its Sage document is our
own write-back coming round, and starts no run.
"""

from collections.abc import Iterator
from datetime import timedelta
from string import Formatter
from typing import Any

from django.db import transaction
from django.utils import timezone

from clarity.prepared import Param, PreparedQuery
from connectors.base import WebhookEvent
from connectors.records import DealRead
from connectors.registry import sent_about
from connectors.roles import ACCOUNTS, CONTACTS, DEAL_STAGE
from flows.base import StepContext
from flows.models import ExternalLink, FlowConfig, InboundEvent
from flows.steps import trigger_stage
from flows.steps.mapping_data import active_versions
from mappings.canonical import to_json
from mappings.models import Mapping
from mappings.paths import ROOT
from mappings.transforms import FIELD, FIELDS, TRANSFORMS

STAGE_KEY, STAGE_KEY_FOR, PIPELINE_KEY = (
    "trigger_stage_key",
    "trigger_stage_key_for",
    "trigger_pipeline_key",
)
CLOCK_SLACK_SECONDS = 60  # between the web process's clock and the worker's
DEAL_DOCUMENTS = ("sales_order", "invoice")  # ExternalLink entities of the won-deal flows


def accepts_won_deal(config: FlowConfig, event: WebhookEvent) -> bool:
    """From the event alone: did the deal just reach the trigger stage (as far as we know)?"""
    crm = sent_about(event.kind, DEAL_STAGE)
    hint = crm.stage_hint(event) if crm else None
    if hint is None:
        return False
    options = config.options
    trigger = trigger_stage(options, crm)
    if hint.by_key:
        if options.get(STAGE_KEY_FOR) != trigger:
            return True  # not resolved yet: the run's read_deal decides and resolves it
        return hint.stage == options.get(STAGE_KEY) and hint.scope == options.get(PIPELINE_KEY)
    if hint.stage != trigger:
        return False
    return (
        not hint.echo_prone
        or not ExternalLink.objects.filter(
            pair=config.pair_id, entity__in=DEAL_DOCUMENTS, crm_id=event.entity_key
        ).exists()
    )


def mapped_paths(ctx: StepContext) -> frozenset[str]:
    """Every deal path the pair's active mappings from the deal read, for `read_deal` to read
    them all: rule sources, template fields and transforms' field parameters, at any depth.
    A nested rule's path is given under its group's source (`Lines[].custom.Family`); a
    `$.`-rooted one is a path from the deal itself. Worked out once per process and
    configuration generation, like the versions it comes from."""
    entity = ctx.crm.deal_entity
    return ctx.kept(("mapped deal paths", ctx.pair.pk, entity), lambda: paths_read(ctx, entity))


def paths_read(ctx: StepContext, entity: str) -> frozenset[str]:
    specs = [
        version.spec
        for (direction, source, _), version in active_versions(ctx).items()
        if direction == Mapping.Direction.IN and source == entity
    ]
    rules = [(spec or {}).get("rules") or [] for spec in specs]
    return frozenset(path for group in rules for path in rule_paths(group, ""))


def rule_paths(rules: list[dict[str, Any]], group: str) -> Iterator[str]:
    """The paths `rules` read, each placed under `group` (the enclosing groups' sources)."""
    for rule in rules:
        yield from (placed(path, group) for path in rule_reads(rule) if path)
        if rule.get("rules") and rule.get("source"):
            yield from rule_paths(rule["rules"], f"{placed(str(rule['source']), group)}[].")


def rule_reads(rule: dict[str, Any]) -> Iterator[str]:
    if rule.get("source"):
        yield str(rule["source"])
    if rule.get("template"):
        yield from (path for _, path, _, _ in Formatter().parse(str(rule["template"])) if path)
    for step in rule.get("transforms") or []:
        transform = TRANSFORMS.get(step.get("name", ""))
        for param in transform.params if transform else ():
            given = (step.get("params") or {}).get(param.name)
            if param.source == FIELD and isinstance(given, str):
                yield given
            elif param.source == FIELDS and isinstance(given, list):
                yield from (str(path) for path in given)


def placed(path: str, group: str) -> str:
    return path.removeprefix(ROOT) if path.startswith(ROOT) else f"{group}{path}"


def read_deal(ctx: StepContext) -> dict[str, Any]:
    """The deal as the CRM has it now, with what the mappings read beside it."""
    trigger = trigger_stage(ctx.config.options, ctx.crm)
    forget_changed_parties(ctx)
    read = ctx.crm.read_deal(ctx.run.entity_key, trigger, mapped_paths(ctx))
    ctx.label_run(deal_name(read.record))
    remember_stage_key(ctx, trigger, read)
    if not read.won:
        ctx.set_summary(f"The deal is in {read.stage}, not {trigger}: nothing was written.")
    return {"won": read.won, "stage": read.stage, "record": to_json(read.record)}


def forget_changed_parties(ctx: StepContext) -> None:
    """A CRM that keeps deals' accounts and contacts for a while (`parties_kept_for`
    seconds) forgets those the CRM told us changed since: any delivery or polled change of
    the connection's pairs within that time, whichever process took it in, so a kept
    address is never one edited before the run started."""
    if not ctx.crm.parties_kept_for:
        return
    topics = (ACCOUNTS, CONTACTS)
    kinds = [kind for kind, topic in ctx.crm.event_kinds.items() if topic in topics]
    kinds += [feed.kind for topic in topics for feed in ctx.crm.feeds.get(topic, ())]
    since = timezone.now() - timedelta(seconds=ctx.crm.parties_kept_for + CLOCK_SLACK_SECONDS)
    changed = PARTIES_CHANGED.all(tuple(kinds), crm=ctx.pair.crm_id, since=since)
    ctx.crm.forget_parties(set(changed))


PARTIES_CHANGED = PreparedQuery(
    lambda kinds: InboundEvent.objects.filter(
        pair__crm_id=Param("crm"), kind__in=kinds, received_at__gte=Param("since")
    ).values_list("entity_key", flat=True)
)  # every won deal of a CRM that keeps parties asks it; a CRM's kinds shape it


def deal_name(record: dict[str, Any]) -> str:
    """The deal's own name, which the CRMs keep at the top of the deal's record."""
    return str(record.get("name") or record.get("Name") or "")


def remember_stage_key(ctx: StepContext, trigger: str, read: DealRead) -> None:
    """Store the trigger stage's key where the deal lives, for `accepts_won_deal`."""
    options = ctx.config.options
    known = (options.get(STAGE_KEY_FOR), options.get(STAGE_KEY), options.get(PIPELINE_KEY))
    if not read.trigger_key or known == (trigger, read.trigger_key, read.scope):
        return
    with transaction.atomic():
        config = FlowConfig.objects.select_for_update().get(pk=ctx.config.pk)
        config.options = {
            **config.options, STAGE_KEY: read.trigger_key, STAGE_KEY_FOR: trigger,
            PIPELINE_KEY: read.scope,
        }  # fmt: skip
        config.save(update_fields=["options", "updated_at"])
    ctx.config.options = config.options
