"""Saving a flow's rules as versions, the flows a rule may route to, and the rules' part of
the configuration export (flows/config_section.py carries it in each flow's settings).

Every save is checked (flows/rules.py) and makes a new version with who, when and why; the
newest version is the one runs use. An import makes a new version only when the rules
differ, with the import's note as its comment."""

from typing import Any

from django.db import transaction
from django.db.models import Max

from flows.models import FlowConfig
from flows.registry import FLOWS
from flows.rule_models import RuleSetVersion
from flows.rules import RulesInvalid, clean_rules
from mappings.config_transfer import ConfigError

MAX_COMMENT = RuleSetVersion._meta.get_field("comment").max_length


def current_version(config: FlowConfig) -> RuleSetVersion | None:
    return config.rule_versions.order_by("-number").first()


def current_rules(config: FlowConfig) -> list[dict[str, Any]]:
    version = current_version(config)
    return list(version.rules) if version else []


def route_targets(config: FlowConfig) -> dict[str, str]:
    """The pair's other flows of the same choice (a won deal's order or invoice), by name,
    with their labels: where a rule may send the deal instead."""
    flow = FLOWS.get(config.flow)
    if flow is None or not flow.choice:
        return {}
    names = FlowConfig.objects.filter(pair_id=config.pair_id).values_list("flow", flat=True)
    return {
        name: FLOWS[name].label
        for name in names
        if name != config.flow and name in FLOWS and FLOWS[name].choice == flow.choice
    }


def save_rules(config: FlowConfig, data: Any, author: Any, comment: str) -> RuleSetVersion:
    """A new version of the flow's rules; RulesInvalid (nothing saved) when they are not."""
    rules = clean_rules(data, route_targets(config))
    with transaction.atomic():
        FlowConfig.objects.select_for_update().filter(pk=config.pk).first()
        last = config.rule_versions.aggregate(n=Max("number"))["n"] or 0
        return RuleSetVersion.objects.create(
            flow_config=config,
            number=last + 1,
            rules=rules,
            author=author if getattr(author, "is_authenticated", False) else None,
            comment=comment.strip()[:MAX_COMMENT],
        )


def export_rules(config: FlowConfig) -> dict[str, Any]:
    """The flow's current rules for its settings item; nothing when it never had any."""
    version = current_version(config)
    return {"rules": version.rules} if version else {}


def rules_change(config: FlowConfig | None, item: dict[str, Any]) -> str:
    """What importing the item's rules would change ("" nothing); RulesInvalid when they
    cannot be saved here."""
    if "rules" not in item:
        return ""
    flow = item.get("flow", "")
    try:
        rules = clean_rules(item["rules"], route_targets(config) if config else [])
    except RulesInvalid as exc:
        if config is None and all("Route to another flow" in p for p in exc.problems):
            return f"{flow}: {len(item['rules'])} rule(s) added"  # its pair's flows come first
        raise ConfigError(f"Flow {flow}: its rules cannot be saved here: {exc}") from None
    if config is None:
        return f"{flow}: {len(rules)} rule(s) added" if rules else ""
    return f"{flow}: rules changed (a new version)" if rules != current_rules(config) else ""


def apply_rules(config: FlowConfig, item: dict[str, Any], author: Any, note: str) -> None:
    if "rules" not in item:
        return
    rules = clean_rules(item["rules"], route_targets(config))
    if rules != current_rules(config) and (rules or current_version(config)):
        save_rules(config, rules, author, note)
