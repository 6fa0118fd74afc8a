"""Retrying and cancelling runs, one or many."""

import pytest

from connectors.errors import TransientError, ValidationError
from flows.models import SyncRun
from flows.runner import execute_run
from flows.services import (
    FROM_START,
    RunActionRefused,
    cancel_run,
    retry_run,
    retry_runs,
)

pytestmark = pytest.mark.django_db
Status = SyncRun.Status


def failed_run(new_run, script, key="box-1"):
    script.errors.append(ValidationError("Item WIDGET-9 is not in Sage 100"))
    run = new_run(key)
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Status.FAILED
    return run


def test_retry_from_the_failed_step_reuses_what_was_done(config, script, new_run):
    run = failed_run(new_run, script)
    retry_run(run)
    run.refresh_from_db()
    assert run.status == Status.PENDING and run.error_message == ""
    assert execute_run(run.pk) == "succeeded"
    assert script.first_calls == 1


def test_retry_from_the_start_runs_every_step_again(config, script, new_run):
    run = failed_run(new_run, script)
    retry_run(run, FROM_START)
    assert execute_run(run.pk) == "succeeded"
    assert script.first_calls == 2


def test_a_manual_retry_of_a_dead_run_gets_a_fresh_budget_of_attempts(script, settings, new_run):
    settings.CLARITY_MAX_ATTEMPTS = 1
    script.errors = [TransientError("down")]
    run = new_run()
    assert execute_run(run.pk) == "dead"
    retry_run(SyncRun.objects.get(pk=run.pk))
    script.errors = [TransientError("down again")]
    assert execute_run(run.pk) == "dead"  # one more attempt, not zero
    assert SyncRun.objects.get(pk=run.pk).attempt == 2


def test_retrying_a_succeeded_run_is_refused_with_a_reason(config, script, new_run):
    run = new_run()
    execute_run(run.pk)
    with pytest.raises(RunActionRefused, match="only failed, dead, cancelled or waiting"):
        retry_run(SyncRun.objects.get(pk=run.pk))


def test_retry_many_counts_what_it_did(config, script, new_run):
    runs = [failed_run(new_run, script, key=f"box-{n}") for n in range(3)]
    done = new_run("box-done")
    execute_run(done.pk)
    assert retry_runs([*runs, SyncRun.objects.get(pk=done.pk)]) == (3, 1)


def test_cancel_stops_a_waiting_run_and_frees_its_record(config, script, new_run):
    script.errors = [TransientError("down")]
    run = new_run()
    execute_run(run.pk)
    cancel_run(SyncRun.objects.get(pk=run.pk))
    assert SyncRun.objects.get(pk=run.pk).status == Status.CANCELLED
    assert execute_run(new_run().pk) == "succeeded"  # the next event is not held up
