"""When a step's result reaches the database (flows/step_records.py): a step that sent a
write to a system is written before the next step starts, with the results of the steps
before it that sent none; those wait for it, so a run costs a few commits, not one a step.
A slow step (a load) has the results before it written when it starts.
The steps here call a real local server (the echo sandbox) through the connectors' client."""

import pytest

from connectors.http import HttpClient
from flows.base import Flow, Step
from flows.models import RunStep
from flows.registry import FLOWS
from flows.runner import execute_run
from sandbox.core.server import start
from tests.integration.echo_sandbox import EchoSandbox

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def echo(tmp_path):
    running = start("echo", EchoSandbox(tmp_path))
    yield HttpClient("Echo", running.url)
    running.stop()


def written(run_id: int) -> list[str]:
    return list(
        RunStep.objects.filter(run_id=run_id).order_by("order").values_list("name", flat=True)
    )


def test_a_step_that_sent_a_write_is_written_at_once_with_those_before_it(
    config, new_run, monkeypatch, echo
):
    seen: dict[str, list[str]] = {}

    def step(name: str, call=None, slow=False):
        def run(ctx):
            seen[name] = written(ctx.run.pk)  # what the database held when the step began
            if call:
                call()
            return {"references": {name: "1"}}

        return Step(name, run, slow=slow)

    flow = Flow(
        name="test_flow", label="Test flow", description="",
        steps=(
            step("map"),
            step("read", lambda: echo.get("/api/status/200")),  # a read: no write sent
            step("send", lambda: echo.post("/api/items", json={})),
            step("after"),
            step("load", slow=True),
            step("last"),
        ),
    )  # fmt: skip
    monkeypatch.setitem(FLOWS, "test_flow", flow)
    run = new_run()
    assert execute_run(run.pk) == "succeeded"
    assert seen == {
        "map": [],
        "read": [],
        "send": [],
        "after": ["map", "read", "send"],  # written together, once "send" had sent its write
        "load": ["map", "read", "send", "after"],  # a slow step: what waited is written first
        "last": ["map", "read", "send", "after"],
    }
    names = ["map", "read", "send", "after", "load", "last"]
    assert written(run.pk) == names  # the last two with the run's end
    run.refresh_from_db()
    assert run.references == dict.fromkeys(names, "1")


def test_a_failing_step_is_written_with_the_results_that_waited(config, new_run, monkeypatch):
    def fails(ctx):
        raise ValueError("The item code WIDGET-999 is not on file.")

    flow = Flow(
        name="test_flow", label="Test flow", description="",
        steps=(Step("map", lambda ctx: {"customer": "C-1"}), Step("second", fails)),
    )  # fmt: skip
    monkeypatch.setitem(FLOWS, "test_flow", flow)
    run = new_run()
    assert execute_run(run.pk) == "failed"
    assert list(run.steps.order_by("order").values_list("name", "status", "output")) == [
        ("map", "succeeded", {"customer": "C-1"}),
        ("second", "failed", {}),
    ]
