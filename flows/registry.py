"""Every flow template by name. Each lives in its own module under `flows/usecases/`."""

from flows.base import Flow
from flows.usecases import ALL_FLOWS

FLOWS: dict[str, Flow] = {flow.name: flow for flow in ALL_FLOWS}
FLOW_CHOICES = [(flow.name, flow.label) for flow in ALL_FLOWS]


def flows_for(crm_system: str, erp_system: str) -> list[Flow]:
    return [flow for flow in ALL_FLOWS if flow.works_for(crm_system, erp_system)]
