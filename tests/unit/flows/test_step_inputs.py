"""Each step's input on the run's page: the first step's is the event that started the run,
a later step's the earlier outputs it read; secrets are redacted as in outputs."""

import pytest
from django.urls import reverse

from connectors.errors import ValidationError
from flows.base import Flow, Step
from flows.models import FlowConfig, InboundEvent, RunStep, SyncRun
from flows.registry import FLOWS
from flows.runner import execute_run
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
TOKEN = "tok-9f2c41"


def read_deal(ctx):
    return {"deal": "D-7", "access_token": TOKEN}


def quote(ctx):
    return {"amount": 120}


def create_order(ctx):
    deal = ctx.outputs["read_deal"]["deal"]
    if "quote" not in ctx.outputs:  # asking whether a step ran is not reading its output
        raise AssertionError("quote did not run")
    if ctx.run.attempt == 1:
        raise ValidationError(f"Sage refused the order for {deal}")
    return {"order": "0000123"}


@pytest.fixture
def run(monkeypatch) -> SyncRun:
    flow = Flow(
        name="input_flow",
        label="Input flow",
        description="Three steps; the last reads the first and fails once.",
        steps=(
            Step("read_deal", read_deal),
            Step("quote", quote),
            Step("create_order", create_order),
        ),
    )
    monkeypatch.setitem(FLOWS, flow.name, flow)
    monkeypatch.setattr("flows.runner.enqueue_id", lambda run_id: None)
    pair = IntegrationPairFactory()
    config = FlowConfig.objects.update_or_create(
        pair=pair, flow=flow.name, defaults={"enabled": True}
    )[0]
    event = InboundEvent.objects.create(
        pair=pair, source="webhook", kind="BOX_CHANGE_STAGE", entity_key="box-7",
        payload={"key": "box-7", "stageKey": "5004", "apiKey": TOKEN}, status="accepted",
    )  # fmt: skip
    return SyncRun.objects.create(flow_config=config, pair=pair, event=event, entity_key="box-7")


def inputs(run: SyncRun, attempt: int) -> dict[str, dict]:
    return {step.name: step.input for step in RunStep.objects.filter(run=run, attempt=attempt)}


def test_steps_record_what_they_read_with_secrets_redacted(client, users, run):
    assert execute_run(run.pk) == "failed"
    first = inputs(run, 1)
    assert first["read_deal"] == {
        "record": "box-7",
        "event": {
            "kind": "BOX_CHANGE_STAGE",
            "payload": {"key": "box-7", "stageKey": "5004", "apiKey": "[redacted]"},
        },
    }
    assert first["quote"] == {}  # it read nothing
    assert first["create_order"] == {"read_deal": {"deal": "D-7", "access_token": "[redacted]"}}

    client.force_login(users["viewer"])
    html = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "BOX_CHANGE_STAGE" in html and "&quot;deal&quot;: &quot;D-7&quot;" in html
    assert TOKEN not in html


def test_a_retried_step_records_its_input_again_from_the_earlier_outputs(run):
    execute_run(run.pk)
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.PENDING)
    assert execute_run(run.pk) == "succeeded"
    second = inputs(run, 2)
    assert second["read_deal"] == {} and second["quote"] == {}  # skipped: done before
    assert second["create_order"] == {"read_deal": {"deal": "D-7", "access_token": "[redacted]"}}
