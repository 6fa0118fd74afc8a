"""The pairs' flow settings in configuration export/import (mappings.config_transfer).

Which flows are on, their trigger and options travel with the mappings from a test
installation to production. Flows the importing installation does not know are reported.
"""

from typing import Any

from connectors.models import IntegrationPair
from flows.models import FlowConfig
from flows.registry import FLOWS

SECTION = "flow_settings"


def export_flow_settings(pair: IntegrationPair) -> list[dict[str, Any]]:
    return [
        {"flow": c.flow, "enabled": c.enabled, "trigger": c.trigger, "options": c.options}
        for c in FlowConfig.objects.filter(pair=pair).order_by("flow")
    ]


def flow_settings_changes(pair: IntegrationPair, data: list[dict[str, Any]]) -> list[str]:
    current = {c.flow: c for c in FlowConfig.objects.filter(pair=pair)}
    changes = []
    for item in data:
        flow = item.get("flow", "")
        if flow not in FLOWS:
            changes.append(f"flow {flow!r} is not known here: skipped")
            continue
        config = current.get(flow)
        wanted = (item.get("enabled", False), item.get("trigger"), item.get("options", {}))
        if config is None:
            changes.append(f"{flow}: added ({'on' if wanted[0] else 'off'})")
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
            changes.append(f"{flow}: {', '.join(parts)} changed")
    return changes


def apply_flow_settings(pair: IntegrationPair, data: list[dict[str, Any]]) -> None:
    for item in data:
        if item.get("flow") in FLOWS:
            FlowConfig.objects.update_or_create(
                pair=pair,
                flow=item["flow"],
                defaults={
                    "enabled": item.get("enabled", False),
                    "trigger": item.get("trigger") or FLOWS[item["flow"]].trigger,
                    "options": item.get("options") or {},
                },
            )
