"""What the runner writes about a run while it goes on, now that it writes it with fewer
statements: the label, summary and document a step sets reach the run even when the run then
waits or fails; each step's row says what the run's page shows; the claim takes only runs
that are due, switched on (or routed) and first of their record."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.errors import TransientError, ValidationError
from flows.base import AwaitApproval, Flow, Step
from flows.leases import ROUTED
from flows.models import FlowConfig, SyncRun
from flows.registry import FLOWS
from flows.runner import claim, execute_run

pytestmark = pytest.mark.django_db
Status = SyncRun.Status


@pytest.fixture
def labelled(monkeypatch, config):
    """The test flow with steps that name the run; the second then fails as `errors` says."""
    errors: list[Exception] = []

    def read(ctx):
        ctx.label_run("DEAL-7", "Acme restock", "")
        ctx.set_summary("Acme Corp — 120.00 USD")
        return {"deal": "DEAL-7"}

    def write(ctx):
        assert ctx.outputs["read"]["deal"] == "DEAL-7"
        ctx.label_run(document="SO 0000217")
        if errors:
            raise errors.pop(0)
        return {"order": "0000217"}

    flow = Flow(name="test_flow", label="Test flow", description="Names its run.",
                steps=(Step("read", read), Step("write", write)))  # fmt: skip
    monkeypatch.setitem(FLOWS, flow.name, flow)
    return errors


def names_of(run: SyncRun) -> tuple[str, str, str]:
    run.refresh_from_db()
    return run.label, run.summary, run.document


NAMED = ("DEAL-7 · Acme restock", "Acme Corp — 120.00 USD", "SO 0000217")


def test_a_run_is_found_by_its_label_summary_and_document_once_it_succeeds(labelled, new_run):
    run = new_run()
    assert execute_run(run.pk) == "succeeded"
    assert names_of(run) == NAMED


@pytest.mark.parametrize(
    ("error", "outcome", "status"),
    [
        (AwaitApproval(Decimal("12500.00"), "USD", Decimal("12500.00"), "Over 10,000"),
         "awaiting approval", Status.AWAITING_APPROVAL),
        (TransientError("Sage 100 did not answer"), "retry scheduled", Status.RETRY_SCHEDULED),
        (ValidationError("Customer is required"), "failed", Status.FAILED),
    ],
)  # fmt: skip
def test_what_a_failing_step_named_the_run_is_kept_when_the_run_waits_or_fails(
    labelled, new_run, error, outcome, status
):
    labelled.append(error)
    run = new_run()
    assert execute_run(run.pk) == outcome
    assert names_of(run) == NAMED
    assert run.status == status


def test_each_step_row_says_what_the_run_page_shows(labelled, new_run):
    labelled.append(TransientError("Sage 100 did not answer"))
    run = new_run()
    before = timezone.now()
    execute_run(run.pk)
    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    assert execute_run(run.pk) == "succeeded"
    rows = list(run.steps.values_list("attempt", "order", "name", "status", "output", "error"))
    assert rows == [
        (1, 1, "read", "succeeded", {"deal": "DEAL-7"}, ""),
        (1, 2, "write", "failed", {}, "TransientError: Sage 100 did not answer"),
        (2, 1, "read", "skipped", {"deal": "DEAL-7"}, ""),
        (2, 2, "write", "succeeded", {"order": "0000217"}, ""),
    ]
    first = run.steps.get(attempt=1, order=1)
    assert first.input == {"record": "box-1"}
    assert run.steps.get(attempt=2, order=2).input == {"read": {"deal": "DEAL-7"}}
    assert before - timedelta(seconds=1) <= first.started_at <= timezone.now()
    assert first.duration_ms >= 0


def test_the_claim_takes_only_a_due_run_whose_flow_is_on_or_that_a_rule_routed(config, new_run):
    run = new_run()
    FlowConfig.objects.filter(pk=config.pk).update(enabled=False)
    assert not claim(run.pk)  # the flow is switched off
    SyncRun.objects.filter(pk=run.pk).update(progress={ROUTED: {"from_run": 1}})
    later = timezone.now() + timedelta(minutes=5)
    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=later)
    assert not claim(run.pk)  # not due yet
    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    type(config.pair).objects.filter(pk=config.pair_id).update(enabled=False)
    assert not claim(run.pk)  # the pair is paused
    type(config.pair).objects.filter(pk=config.pair_id).update(enabled=True)
    assert claim(run.pk)  # routed: it starts while its flow is off
    run.refresh_from_db()
    assert (run.status, run.attempt, run.lease_owner != "") == (Status.RUNNING, 1, True)
    assert run.started_at and run.lease_until > timezone.now()
