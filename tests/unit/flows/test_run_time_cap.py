"""The time cap on a run (CLARITY_RUN_MAX_SECONDS, flows/leases.py): runs go on pool threads,
where django-q2's task timeout no longer kills a hung one, so the lease keeper stops renewing
a run past the cap. Its lease lapses, the sweeper hands it to another worker, and whatever
the hung attempt tries to write afterwards is fenced off; a long step under the cap keeps
its run."""

import time

import pytest

from flows.base import Flow, Step
from flows.models import RunStep, SyncRun
from flows.registry import FLOWS
from flows.runner import execute_run
from flows.sweeper import sweep

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRun.Status


@pytest.fixture
def hangs_once(monkeypatch, settings):
    """A flow whose second step hangs past the cap on its first call (the sweeper runs
    meanwhile, as its schedule would) and passes at once after; lease 0.6 s, cap 1 s."""
    settings.CLARITY_RUN_LEASE_SECONDS = 0.6  # renewed every 0.2 s while under the cap
    settings.CLARITY_RUN_MAX_SECONDS = 1.0
    taken_over = []

    def second(ctx):
        if not taken_over:
            time.sleep(2.2)  # hung: past the cap, and past the lease it then keeps
            taken_over.append(sweep()["recovered"])
        return {"order": "0000123", "references": {"sage_order": "0000123"}}

    flow = Flow(
        name="test_flow", label="Test flow", description="",
        steps=(Step("first", lambda ctx: {"customer": "C-1"}), Step("second", second)),
    )  # fmt: skip
    monkeypatch.setitem(FLOWS, "test_flow", flow)
    return taken_over


def test_a_run_hung_past_the_cap_is_taken_over_and_its_late_result_fenced_off(
    config, new_run, hangs_once
):
    run = new_run()
    assert execute_run(run.pk) == "lease lost"
    assert hangs_once == [1]  # the sweeper took the hung run back
    run.refresh_from_db()
    assert run.status == Status.RETRY_SCHEDULED and run.crashes == 1
    assert not run.steps.filter(name="second").exists()  # the hung attempt wrote nothing

    assert execute_run(run.pk) == "succeeded"  # the next worker finishes it
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.references == {"sage_order": "0000123"}
    # The first step sent no write: its result waited for the hung attempt's next write,
    # which never came, so the next worker did it again.
    assert list(run.steps.order_by("pk").values_list("attempt", "name", "status")) == [
        (2, "first", RunStep.Status.SUCCEEDED),
        (2, "second", RunStep.Status.SUCCEEDED),
    ]


def test_a_step_under_the_cap_keeps_its_run_however_long_the_lease(
    config, new_run, monkeypatch, settings
):
    settings.CLARITY_RUN_LEASE_SECONDS = 0.6
    settings.CLARITY_RUN_MAX_SECONDS = 5.0
    swept = []

    def slow(ctx):
        time.sleep(1.5)  # twice the lease
        swept.append(sweep()["recovered"])
        return {}

    flow = Flow(
        name="test_flow", label="Test flow", description="",
        steps=(Step("first", lambda ctx: {}), Step("second", slow)),
    )  # fmt: skip
    monkeypatch.setitem(FLOWS, "test_flow", flow)
    run = new_run()
    assert execute_run(run.pk) == "succeeded"
    assert swept == [0]
