"""What a run costs the database besides its steps' own work (flows/runner.py,
flows/leases.py, flows/step_records.py): the results of steps that sent no write written
together in the fencing UPDATE that finishes the run, no metering write after each run while
others are in flight, and one lease keeper per process renewing every run in flight with one
UPDATE, rather than a thread and a query per run."""

import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors import metering
from flows import leases
from flows.models import SyncRun
from flows.runner import claim, execute_run

Status = SyncRun.Status


def statements(captured: CaptureQueriesContext) -> list[str]:
    """The statements run, transaction bookkeeping (savepoints) left out."""
    return [query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]]


@pytest.mark.django_db
def test_a_two_step_run_without_writes_takes_six_statements_and_one_fence(config, script, new_run):
    run = new_run()
    metering.flush()  # API calls earlier tests of this process counted, saved at a run's end
    with CaptureQueriesContext(connection) as captured:
        assert execute_run(run.pk) == "succeeded"
    sql = statements(captured)
    # claim, read the run, read the steps done; then, neither step having sent a write, one
    # fencing UPDATE that finishes the run with both steps' references, one INSERT for both
    # steps' rows, and a look for the record's next run.
    assert len(sql) == 6, "\n".join(sql)
    fences = [s for s in sql if s.startswith("UPDATE") and '"attempt" = ' in s.split("WHERE")[1]]
    assert len(fences) == 1  # written only if the run is still this attempt's
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.lease_owner == ""
    assert run.references == {"sage_customer": "00-ACME", "sage_order": "0000123"}
    assert list(run.steps.values_list("name", "status")) == [
        ("first", "succeeded"),
        ("second", "succeeded"),
    ]


@pytest.mark.django_db(transaction=True)
def test_one_keeper_renews_every_run_in_flight_with_one_update(new_run, settings):
    settings.CLARITY_RUN_LEASE_SECONDS = 0.6  # renewed every 0.2 s
    runs = []
    for key in ("box-1", "box-2", "box-3"):
        run = new_run(key)
        assert claim(run.pk)
        run.refresh_from_db()
        runs.append(run)
    with leases.kept(runs[0]), leases.kept(runs[1]), leases.kept(runs[2]):
        keepers = [thread for thread in threading.enumerate() if thread.name == "lease keeper"]
        assert len(keepers) == 1
        time.sleep(1.2)  # twice the lease: each run is still held
        leases_now = SyncRun.objects.filter(pk__in=[run.pk for run in runs])
        assert all(run.lease_until > timezone.now() for run in leases_now)
    keepers[0].join(timeout=2)
    assert not keepers[0].is_alive()  # no run in flight: the keeper ends
