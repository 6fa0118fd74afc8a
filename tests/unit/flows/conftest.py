"""A two-step test flow whose second step fails as each test says, and runs of it."""

import pytest

from flows.base import Flow, Step
from flows.models import FlowConfig, SyncRun
from flows.registry import FLOWS
from tests.factories import IntegrationPairFactory


class Script:
    """What the test flow's second step does on each call: raise the next error, or pass."""

    def __init__(self) -> None:
        self.errors: list[Exception | None] = []
        self.first_calls = 0

    def first(self, ctx):
        self.first_calls += 1
        return {"customer": "C-1", "references": {"sage_customer": "00-ACME"}}

    def second(self, ctx):
        assert ctx.outputs["first"]["customer"] == "C-1"
        error = self.errors.pop(0) if self.errors else None
        if error:
            raise error
        return {"order": "0000123", "references": {"sage_order": "0000123"}}


@pytest.fixture
def script(monkeypatch):
    script = Script()
    flow = Flow(
        name="test_flow",
        label="Test flow",
        description="Two steps whose second fails as the test says.",
        steps=(Step("first", script.first), Step("second", script.second)),
    )
    monkeypatch.setitem(FLOWS, flow.name, flow)
    monkeypatch.setattr("flows.runner.enqueue_id", lambda run_id: None)  # no queue: tests call runs
    return script


@pytest.fixture
def config(script):
    pair = IntegrationPairFactory()
    return FlowConfig.objects.update_or_create(
        pair=pair, flow="test_flow", defaults={"enabled": True}
    )[0]


@pytest.fixture
def new_run(config):
    """A pending run of the test flow for a record (box-1 unless told)."""

    def make(key: str = "box-1") -> SyncRun:
        return SyncRun.objects.create(flow_config=config, pair=config.pair, entity_key=key)

    return make
