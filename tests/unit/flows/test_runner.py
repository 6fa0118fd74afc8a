"""The runner's promises: one claim per run, one record at a time, errors settled by class,
retries resume at the failed step, crashed workers are recovered by the sweeper."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors import budgets
from connectors.budgets import SharedBucket
from connectors.errors import AuthError, RateLimited, TransientError, ValidationError
from connectors.models import Connection
from flows.base import AwaitApproval, Flow, Step
from flows.models import RunStep, SyncRun
from flows.registry import FLOWS
from flows.runner import backoff_seconds, claim, execute_run
from flows.sweeper import sweep

pytestmark = pytest.mark.django_db
Status = SyncRun.Status


def test_a_run_succeeds_and_records_each_step_and_what_it_created(config, script, new_run):
    run = new_run()
    assert execute_run(run.pk) == "succeeded"
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.attempt == 1
    assert run.references == {"sage_customer": "00-ACME", "sage_order": "0000123"}
    assert list(run.steps.values_list("name", "status")) == [
        ("first", "succeeded"),
        ("second", "succeeded"),
    ]


def test_only_one_worker_can_claim_a_run(new_run):
    run = new_run()
    assert claim(run.pk) is True
    assert claim(run.pk) is False
    assert execute_run(run.pk) == "not claimed"


def test_runs_of_one_record_go_one_at_a_time_in_order(config, script, new_run):
    older, newer = new_run(), new_run()
    other_record = new_run("box-2")
    assert execute_run(newer.pk) == "not claimed"  # waits for the older one
    assert execute_run(other_record.pk) == "succeeded"  # other records are not held up
    assert execute_run(older.pk) == "succeeded"
    assert execute_run(newer.pk) == "succeeded"


def test_transient_error_schedules_a_retry_that_resumes_at_the_failed_step(config, script, new_run):
    script.errors = [TransientError("Sage 100 bridge answered 503", system="sage100")]
    run = new_run()
    assert execute_run(run.pk) == "retry scheduled"
    run.refresh_from_db()
    assert run.status == Status.RETRY_SCHEDULED
    assert run.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    assert run.error_class == "TransientError"

    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    assert execute_run(run.pk) == "succeeded"
    assert script.first_calls == 1  # not repeated: its output was reused
    statuses = list(run.steps.filter(attempt=2).values_list("name", "status"))
    assert statuses == [("first", "skipped"), ("second", "succeeded")]
    run.refresh_from_db()  # the run's page and the error queue show no old error
    assert (run.error_class, run.error_message) == ("", "")


def test_transient_errors_end_in_dead_after_the_last_attempt(config, script, new_run, settings):
    settings.CLARITY_MAX_ATTEMPTS = 3
    script.errors = [TransientError("down")] * 3
    run = new_run()
    for outcome in ["retry scheduled", "retry scheduled", "dead"]:
        SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
        assert execute_run(run.pk) == outcome
    run.refresh_from_db()
    assert run.status == Status.DEAD and run.attempt == 3


def test_backoff_is_full_jitter_capped(settings):
    settings.CLARITY_RETRY_BASE_SECONDS = 30
    settings.CLARITY_RETRY_CAP_SECONDS = 3600
    assert all(0 <= backoff_seconds(1) <= 30 for _ in range(50))
    assert all(0 <= backoff_seconds(20) <= 3600 for _ in range(50))
    assert max(backoff_seconds(8) for _ in range(200)) > 1000


def test_rate_limited_waits_as_told_without_using_an_attempt(config, script, new_run):
    script.errors = [RateLimited("429", retry_after=120, system="streak")]
    run = new_run()
    before = timezone.now()
    assert execute_run(run.pk) == "rate limited"
    run.refresh_from_db()
    assert run.attempt == 0
    assert run.next_attempt_at >= before + timedelta(seconds=119)


def test_a_run_parked_by_the_api_budget_spends_its_slot_when_it_is_back(
    config, new_run, monkeypatch
):
    """Not behind the runs that asked after it, which would park it again."""
    monkeypatch.setattr(budgets, "MAX_WAIT_SECONDS", 0.0)  # past the burst, park at once
    budget = SharedBucket("runner-slot:1", rate=20)

    def call_the_system(ctx) -> dict:
        budget.acquire()
        return {"order": "1"}

    monkeypatch.setitem(
        FLOWS, "test_flow", Flow("test_flow", "Test", "", (Step("call", call_the_system),))
    )
    for _ in range(20):  # the burst
        budget.acquire()
    run = new_run()

    assert execute_run(run.pk) == "rate limited"
    run.refresh_from_db()
    due = run.budget_slot["due"]
    assert run.budget_slot["key"] == "runner-slot:1"
    for _ in range(5):  # other runs ask after it
        with pytest.raises(RateLimited), budgets.run_calls(None):
            budget.acquire()
    assert run.next_attempt_at.timestamp() == pytest.approx(due, abs=0.05)
    time.sleep(max(0.0, run.next_attempt_at.timestamp() - time.time()))

    assert execute_run(run.pk) == "succeeded"


def test_validation_error_fails_at_once_with_the_field(config, script, new_run):
    script.errors = [
        ValidationError(
            "Sage 100 refused the order: The item code WIDGET-999 is not on file.",
            fields={"lines[0].ItemCode": "not on file"},
            system="sage100",
        )
    ]
    run = new_run()
    assert execute_run(run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert "WIDGET-999" in run.error_message
    assert run.error_fields == {"lines[0].ItemCode": "not on file"}


def test_auth_error_pauses_the_pair_and_marks_the_connection(config, script, new_run):
    script.errors = [AuthError("Streak refused the API key (401)", system="streak")]
    run = new_run()
    assert execute_run(run.pk) == "paused: needs re-authorisation"
    run.refresh_from_db()
    config.pair.refresh_from_db()
    assert run.attempt == 0 and run.status == Status.RETRY_SCHEDULED
    assert config.pair.enabled is False
    assert Connection.objects.get(pk=config.pair.crm_id).status == "needs_reauth"
    assert Connection.objects.get(pk=config.pair.erp_id).status != "needs_reauth"
    assert execute_run(run.pk) == "not claimed"  # paused pairs run nothing

    type(config.pair).objects.filter(pk=config.pair.pk).update(enabled=True)
    assert execute_run(run.pk) == "succeeded"


def test_await_approval_parks_the_run_with_an_approval(config, script, new_run):
    script.errors = [AwaitApproval(Decimal("12500.00"), "USD", Decimal("12500.00"), "Over 10,000")]
    run = new_run()
    assert execute_run(run.pk) == "awaiting approval"
    run.refresh_from_db()
    assert run.status == Status.AWAITING_APPROVAL
    assert run.approval.amount == Decimal("12500.00") and run.approval.status == "pending"
    assert execute_run(new_run().pk) == "not claimed"  # the deal's next event waits


def test_sweeper_takes_back_an_expired_lease_and_buries_a_run_that_keeps_crashing(
    script, settings, new_run
):
    settings.CLARITY_MAX_CRASHES = 3
    run = new_run()
    for crash in range(1, 4):
        assert claim(run.pk)
        SyncRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(1))
        sweep()
        run.refresh_from_db()
        assert run.crashes == crash
        expected = Status.DEAD if crash == 3 else Status.RETRY_SCHEDULED
        assert run.status == expected
    assert "stopped mid-run 3 times" in run.error_message


def test_sweeper_rings_a_due_retry_once_not_at_every_tick(new_run):
    """A backlog longer than a tick must not fill the queue with copies of the same run."""
    from django_q.models import OrmQ

    run = new_run()
    past = timezone.now() - timedelta(seconds=1)
    SyncRun.objects.filter(pk=run.pk).update(status=Status.RETRY_SCHEDULED, next_attempt_at=past)
    OrmQ.objects.all().delete()
    assert sweep()["enqueued"] == 1
    assert sweep()["enqueued"] == 0  # still waiting in the queue: not rung again
    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())  # failed again
    assert sweep()["enqueued"] == 1  # due anew: rung once more
    SyncRun.objects.filter(pk=run.pk).update(rung_at=timezone.now() - timedelta(minutes=6))
    assert sweep()["enqueued"] == 1  # waited too long: its queue row may be lost
    assert OrmQ.objects.count() == 3


def test_run_snapshots_redact_secrets(config, script, new_run, monkeypatch):
    def leaky(ctx):
        return {"token": "abc123", "nested": {"api_key": "k-1", "name": "Acme"}}

    monkeypatch.setattr(script, "second", leaky)
    FLOWS["test_flow"] = Flow(
        name="test_flow", label="Test flow", description="",
        steps=(Step("first", script.first), Step("second", leaky)),
    )  # fmt: skip
    run = new_run()
    execute_run(run.pk)
    output = RunStep.objects.get(run=run, name="second").output
    assert output == {"token": "[redacted]", "nested": {"api_key": "[redacted]", "name": "Acme"}}


def test_the_attempt_budget_counts_attempts_in_a_row_without_progress(
    script, new_run, settings, monkeypatch
):
    """Three steps that each fail once on a flaky system still finish with a budget of 2;
    a step that fails twice in a row ends the run."""
    settings.CLARITY_MAX_ATTEMPTS = 2
    failures = {"first": 1, "second": 1, "third": 1}

    def flaky(name):
        def step(ctx):
            if failures[name]:
                failures[name] -= 1
                raise TransientError(f"{name} timed out")
            return {"customer": "C-1"} if name == "first" else {}

        return step

    flow = Flow(
        name="test_flow", label="Flaky", description="",
        steps=tuple(Step(name, flaky(name)) for name in failures),
    )  # fmt: skip
    monkeypatch.setitem(FLOWS, "test_flow", flow)
    run = new_run()
    outcomes = []
    for _ in range(4):
        SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
        outcomes.append(execute_run(run.pk))
    assert outcomes == ["retry scheduled"] * 3 + ["succeeded"]

    failures["first"] = 2
    stuck = new_run("box-2")
    for expected in ["retry scheduled", "dead"]:
        SyncRun.objects.filter(pk=stuck.pk).update(next_attempt_at=timezone.now())
        assert execute_run(stuck.pk) == expected
