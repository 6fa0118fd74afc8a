"""The pairs' flow settings in configuration export/import (mappings.config_transfer).

Which flows are on, their trigger and options travel with the mappings from a test
installation to production. Flows the importing installation does not know are reported.
Importing them switches flows on and off, so it needs the right to change a pair's flows
(`flows.change_flowconfig`, the Integration admin's), not only the mapping rights the
import page asks for: without it the section is skipped and the plan page says so. Each
item is checked strictly (its keys, the trigger, each option's type against the flow's
default) before anything is compared or written.
"""

import json
from typing import Any

from connectors.models import IntegrationPair
from flows.models import FlowConfig
from flows.registry import FLOWS
from flows.rules_versions import apply_rules, export_rules, rules_change
from mappings.config_transfer import ConfigError, SectionRefused

SECTION = "flow_settings"
PERMISSION = "flows.change_flowconfig"
KEYS = ("flow", "enabled", "trigger", "options", "rules")
MAX_OPTIONS_CHARS = 20_000  # an item's options, as JSON
REFUSED = "changing a pair's flows needs the Integration admin role."


def export_flow_settings(pair: IntegrationPair) -> list[dict[str, Any]]:
    return [
        {
            "flow": c.flow,
            "enabled": c.enabled,
            "trigger": c.trigger,
            "options": c.options,
            **export_rules(c),
        }
        for c in FlowConfig.objects.filter(pair=pair).order_by("flow")
    ]


def may_import(user: Any) -> bool:
    """None is the operator at the command line, who may."""
    return user is None or user.has_perm(PERMISSION)


def flow_settings_changes(
    pair: IntegrationPair, data: list[dict[str, Any]], user: Any
) -> list[str]:
    for index, item in enumerate(data):
        check_item(item, f"Pair {pair.slug}, flow settings [{index}]")
    if not may_import(user):
        raise SectionRefused(REFUSED)
    current = {c.flow: c for c in FlowConfig.objects.filter(pair=pair)}
    changes = []
    for item in data:
        flow = item.get("flow", "")
        if flow not in FLOWS:
            changes.append(f"flow {flow!r} is not known here: skipped")
            continue
        config = current.get(flow)
        given = item.get("options") or {}
        options = known_options(flow, given)
        dropped = "".join(f"; option “{name}” is not known here: skipped"
                          for name in given if name not in options)  # fmt: skip
        wanted = (item.get("enabled", False), item.get("trigger"), options)
        if config is None:
            changes.append(f"{flow}: added ({'on' if wanted[0] else 'off'}){dropped}")
        elif (config.enabled, config.trigger, config.options) != wanted:
            parts = [
                label
                for label, before, after in zip(
                    ("on/off", "trigger", "options"),
                    (config.enabled, config.trigger, config.options),
                    wanted,
                    strict=True,
                )
                if before != after
            ]
            changes.append(f"{flow}: {', '.join(parts)} changed{dropped}")
        if rules := rules_change(config, item):  # the flow's business rules (flows/rules.py)
            changes.append(rules)
    return changes


def apply_flow_settings(pair: IntegrationPair, data: list[dict[str, Any]], user: Any) -> None:
    if not may_import(user):  # the plan skipped it already; never write it regardless
        raise SectionRefused(REFUSED)
    for item in data:
        if item.get("flow") in FLOWS:
            config, _ = FlowConfig.objects.update_or_create(
                pair=pair,
                flow=item["flow"],
                defaults={
                    "enabled": item.get("enabled", False),
                    "trigger": item.get("trigger") or FLOWS[item["flow"]].trigger,
                    "options": known_options(item["flow"], item.get("options") or {}),
                },
            )
            apply_rules(config, item, user, "Imported with the configuration")


def known_options(flow: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options the flow declares; any other (from an older installation) is dropped."""
    declared = FLOWS[flow].default_options
    return {name: value for name, value in options.items() if name in declared}


def check_item(item: dict[str, Any], where: str) -> None:
    """One item's shape; ConfigError naming what is wrong."""
    unknown = [key for key in item if key not in KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key “{str(unknown[0])[:50]}”.")
    if not isinstance(item.get("flow"), str) or len(item["flow"]) > 50:
        raise ConfigError(f"{where}: “flow” must be a flow's name.")
    if not isinstance(item.get("enabled", False), bool):
        raise ConfigError(f"{where}: “enabled” must be true or false.")
    if item.get("trigger") not in (None, *FlowConfig.Trigger.values):
        triggers = ", ".join(FlowConfig.Trigger.values)
        raise ConfigError(f"{where}: “trigger” must be one of {triggers}.")
    options = item.get("options") or {}
    if not isinstance(options, dict) or len(json.dumps(options)) > MAX_OPTIONS_CHARS:
        raise ConfigError(
            f"{where}: “options” must be an object of at most {MAX_OPTIONS_CHARS} characters."
        )
    flow = FLOWS.get(item["flow"])
    declared = flow.default_options if flow else {}
    for name, value in options.items():
        if name in declared and (problem := option_problem(declared[name], value)):
            raise ConfigError(f"{where}: option “{name}” {problem}.")


def option_problem(default: Any, value: Any) -> str | None:
    """Whether `value` has the type of the option's default (what the flows read)."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(default, int | float):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number and value >= 0 else "must be a number of 0 or more"
    if isinstance(default, str):
        return None if isinstance(value, str) else "must be text"
    if isinstance(default, list):
        return None if isinstance(value, list) else "must be a list"
    if isinstance(default, dict):
        return None if isinstance(value, dict) else "must be an object"
    return None
