"""A connection's health from its traffic (`record_outcome`): a call that gets no answer marks
it unreachable since then, the same work answering again ends the outage, and a busy healthy
connection costs at most one write every half minute."""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from connectors import services
from connectors.base import Health
from connectors.errors import AuthError, RateLimited, TransientError, ValidationError
from connectors.models import Connection
from connectors.services import record_health, record_outcome
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
Status = Connection.Status
WRITE_ORDER, READ_CUSTOMER = "run 17: sales_order", "run 19: customer"


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch) -> None:
    """Each test is a process that has written no health yet."""
    monkeypatch.setattr(services, "_written", {})


@pytest.fixture
def pair():
    return IntegrationPairFactory()


def bridge_down() -> TransientError:
    return TransientError("The Sage 100 bridge did not answer (503)", system="sage100", status=503)


def writes(queries: CaptureQueriesContext) -> int:
    return sum(query["sql"].startswith("UPDATE") for query in queries.captured_queries)


def stored(connection: Connection) -> Connection:
    return Connection.objects.get(pk=connection.pk)


def test_a_call_without_an_answer_marks_only_the_system_that_raised_it_unreachable(pair):
    record_outcome((pair.crm, pair.erp), bridge_down(), WRITE_ORDER)

    erp, crm = stored(pair.erp), stored(pair.crm)
    assert erp.status == Status.FAILING
    assert erp.unreachable_since is not None and erp.last_error_at == erp.unreachable_since
    assert erp.last_error == "The Sage 100 bridge did not answer (503)"
    assert (crm.status, crm.unreachable_since) == (Status.UNKNOWN, None)


def test_unreachable_since_is_the_first_failure_of_the_outage(pair, monkeypatch):
    record_outcome((pair.erp,), bridge_down(), WRITE_ORDER)
    first = stored(pair.erp).unreachable_since
    monkeypatch.setattr(services, "_written", {})  # a later write, or another process
    record_outcome((stored(pair.erp),), bridge_down(), READ_CUSTOMER)

    erp = stored(pair.erp)
    assert erp.unreachable_since == first
    assert erp.last_error_at > first
    assert erp.failing_call == WRITE_ORDER


def test_other_work_answering_does_not_end_the_outage_but_the_same_work_does(pair, monkeypatch):
    record_outcome((pair.erp,), bridge_down(), WRITE_ORDER)
    monkeypatch.setattr(services, "_written", {})

    record_outcome((pair.erp,), call=READ_CUSTOMER)  # ODBC reads still pass
    assert stored(pair.erp).status == Status.FAILING
    assert stored(pair.erp).last_success_at is not None

    record_outcome((pair.erp,), call=WRITE_ORDER)  # the bridge is back
    erp = stored(pair.erp)
    assert (erp.status, erp.unreachable_since, erp.failing_call, erp.last_error) == (
        Status.OK, None, "", ""
    )  # fmt: skip


def test_any_work_tried_again_after_getting_no_answer_ends_the_outage_when_it_passes(pair):
    record_outcome((pair.erp,), bridge_down(), WRITE_ORDER)  # began by one run's step
    record_outcome((pair.erp,), call="run 18: sales_order", again=True)  # another run's retry
    assert (stored(pair.erp).status, stored(pair.erp).unreachable_since) == (Status.OK, None)


def test_a_refusal_is_an_answer_and_ends_the_outage_of_the_same_work(pair):
    record_outcome((pair.erp,), bridge_down(), WRITE_ORDER)
    refused = ValidationError("Customer ABC is on credit hold", system="sage100")
    record_outcome((pair.erp,), refused, WRITE_ORDER)

    erp = stored(pair.erp)
    assert (erp.status, erp.unreachable_since) == (Status.OK, None)
    assert erp.last_success_at is None  # answered, but nothing succeeded


def test_a_rate_limit_is_no_outage(pair):
    record_outcome((pair.erp,), RateLimited("slow down", retry_after=1, system="sage100"), "x")
    assert stored(pair.erp).unreachable_since is None


def test_refused_credentials_need_a_reconnect_which_traffic_does_not_undo(pair, monkeypatch):
    refused = AuthError("The bridge refused the key (401)", system="sage100")
    assert record_outcome((pair.crm, pair.erp), refused, WRITE_ORDER) == [pair.erp]
    monkeypatch.setattr(services, "_written", {})
    record_outcome((stored(pair.erp),), call=READ_CUSTOMER)

    erp = stored(pair.erp)
    assert erp.status == Status.NEEDS_REAUTH
    assert erp.last_error == "The bridge refused the key (401)"


def test_our_own_bugs_say_nothing_about_the_system(pair):
    assert record_outcome((pair.crm, pair.erp), KeyError("lines"), WRITE_ORDER) == []
    assert stored(pair.erp).status == Status.UNKNOWN


def test_a_connection_never_tested_is_ok_once_it_answers(pair):
    record_outcome((pair.crm,), call="deal_won.read_deal")
    assert stored(pair.crm).status == Status.OK


def test_a_busy_healthy_connection_is_written_once_per_half_minute(pair, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    record_outcome((pair.erp,), call=WRITE_ORDER)  # unknown → OK: written at once
    with CaptureQueriesContext(db) as quiet:
        for _ in range(50):
            record_outcome((pair.erp,), call=WRITE_ORDER)
    clock[0] += services.HEALTH_WRITE_SECONDS
    with CaptureQueriesContext(db) as due:
        record_outcome((pair.erp,), call=WRITE_ORDER)

    assert len(quiet.captured_queries) == 0
    assert len(due.captured_queries) == 1  # one plain UPDATE: the last success moves on
    assert stored(pair.erp).last_success_at == pair.erp.last_success_at


def test_a_heartbeat_leaves_an_outage_another_process_recorded_for_other_work(pair):
    record_outcome((pair.erp,), call=READ_CUSTOMER)
    loaded = Connection.objects.get(pk=pair.erp.pk)  # loaded while all was well
    record_outcome((pair.erp,), bridge_down(), WRITE_ORDER)  # another worker's write got none
    services._written.clear()  # this process's heartbeat is due

    record_outcome((loaded,), call=READ_CUSTOMER)  # reads passing say nothing about writes
    assert stored(pair.erp).status == Status.FAILING
    assert loaded.status == Status.FAILING  # read back: this process sees the outage now


def test_an_outage_and_its_end_are_written_at_once_however_busy(pair, monkeypatch):
    monkeypatch.setattr(services.time, "monotonic", lambda: 1000.0)  # time stands still
    record_outcome((pair.erp,), call=WRITE_ORDER)
    record_outcome((pair.erp,), bridge_down(), WRITE_ORDER)
    assert stored(pair.erp).status == Status.FAILING
    with CaptureQueriesContext(db) as repeated:
        record_outcome((pair.erp,), bridge_down(), WRITE_ORDER)
    record_outcome((pair.erp,), call=WRITE_ORDER)

    assert len(repeated.captured_queries) == 0  # already known to be out
    assert stored(pair.erp).status == Status.OK


def test_an_outage_another_process_recorded_ends_when_this_one_sees_the_work_pass(pair):
    loaded = Connection.objects.get(pk=pair.erp.pk)  # loaded while all was well
    record_outcome((pair.erp,), bridge_down(), WRITE_ORDER)  # another worker saw it fail
    services._written.clear()

    record_outcome((loaded,), call=WRITE_ORDER)
    assert (stored(pair.erp).status, loaded.status) == (Status.OK, Status.OK)


def test_a_failing_test_starts_no_outage_and_a_passing_one_ends_it(pair):
    record_health(pair.erp, Health(ok=False, message="Sage 100 ODBC driver not found"))
    assert (stored(pair.erp).status, stored(pair.erp).unreachable_since) == (Status.FAILING, None)
    record_outcome((pair.erp,), bridge_down(), WRITE_ORDER)
    record_health(pair.erp, Health(ok=True, message="Connected"))

    erp = stored(pair.erp)
    assert (erp.status, erp.unreachable_since, erp.failing_call) == (Status.OK, None, "")
    assert erp.last_success_at is not None


def test_traffic_leaves_a_failing_test_to_the_next_test(pair):
    record_health(pair.erp, Health(ok=False, message="could not resume the stream"))
    record_outcome((stored(pair.erp),), call=WRITE_ORDER)
    assert stored(pair.erp).status == Status.FAILING
