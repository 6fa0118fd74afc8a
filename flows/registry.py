"""Every flow template by name: a leaf the use cases register into when the app is ready
(`flows.apps`), so the runner, the intake and the pages look flows up without importing
them (NetBox's `netbox/registry.py`)."""

from flows.base import Flow

FLOWS: dict[str, Flow] = {}


def register(*flows: Flow) -> None:
    for flow in flows:
        FLOWS[flow.name] = flow


def flow_choices() -> list[tuple[str, str]]:
    return [(flow.name, flow.label) for flow in FLOWS.values()]


def flows_for(crm_system: str, erp_system: str) -> list[Flow]:
    return [flow for flow in FLOWS.values() if flow.works_for(crm_system, erp_system)]
