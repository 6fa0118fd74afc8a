"""Deliveries answered ahead of Django's handler (flows/hook_app.py), their rows written by
prepared statements (flows/rows.py, flows/queue_rows.py) and committed in groups
(flows/group_commit.py): still stored, run and queued before the 200, still refused when
they should be."""

import fcntl
import io
import json
import os
import threading
from pathlib import Path

import pytest
from django.db import IntegrityError, connection
from django.test import RequestFactory
from django_q.models import OrmQ
from django_q.tasks import async_task

from clarity.wsgi import application
from flows.base import Flow, Step
from flows.group_commit import GroupCommit
from flows.models import FlowConfig, InboundEvent, SyncRun
from flows.queue import TASK
from flows.registry import FLOWS
from tests.factories import IntegrationPairFactory

# The app commits for real: a test's own transaction would turn its commits into savepoints.
pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).parents[1] / "connectors/fixtures/streak"
STAGE_CHANGE = (FIXTURES / "box_change_stage.json").read_bytes()


@pytest.fixture
def pair(monkeypatch):
    flow = Flow(
        name="test_won",
        label="Test",
        description="Wants every stage change.",
        steps=(Step("noop", lambda ctx: {}),),
        accepts=lambda config, event: event.kind == "BOX_CHANGE_STAGE",
    )
    monkeypatch.setitem(FLOWS, flow.name, flow)
    pair = IntegrationPairFactory()
    pair.token = pair.rotate_webhook_token()
    pair.save()
    FlowConfig.objects.update_or_create(pair=pair, flow="test_won", defaults={"enabled": True})
    return pair


def call(method: str, path: str, body: bytes = b"", **extra) -> tuple[int, dict, bytes]:
    """Status, headers and body of clarity.wsgi's answer, as gunicorn would get them."""
    factory = RequestFactory()
    environ = getattr(factory, method.lower())(
        path, body, content_type="application/json", **extra
    ).environ
    environ["wsgi.input"] = io.BytesIO(body)
    answer = {}

    def start_response(status: str, headers: list) -> None:
        answer["status"], answer["headers"] = int(status[:3]), dict(headers)

    reply = application(environ, start_response)
    try:
        content = b"".join(reply)
    finally:
        reply.close()
    return answer["status"], answer["headers"], content


def hook(pair, token=None) -> str:
    return f"/hooks/{pair.slug}/{token or pair.token}/?event=BOX_CHANGE_STAGE"


def test_a_delivery_is_stored_run_and_queued_before_its_200(pair):
    status, headers, _ = call("POST", hook(pair), STAGE_CHANGE)
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff" and "Set-Cookie" not in headers
    assert int(headers["Content-Length"]) >= 0  # not chunked
    event = InboundEvent.objects.get()
    run = SyncRun.objects.get()
    assert (event.status, run.event, run.status) == ("accepted", event, "pending")
    queued = OrmQ.objects.get()
    assert (queued.func(), queued.args(), queued.name()) == (TASK, (run.pk,), f"run-{run.pk}")
    assert queued.group() == "runs"


def test_the_queue_row_is_the_one_async_task_writes(pair):
    call("POST", hook(pair), STAGE_CHANGE)
    run = SyncRun.objects.get()
    async_task(TASK, run.pk, task_name=f"run-{run.pk}", group="runs")
    ours, theirs = (row.task for row in OrmQ.objects.order_by("pk"))
    assert ours.keys() == theirs.keys()
    assert {key: ours[key] for key in ours if key not in ("id", "started")} == {
        key: theirs[key] for key in theirs if key not in ("id", "started")
    }
    assert OrmQ.objects.values_list("key", flat=True).distinct().count() == 1
    assert len(ours["id"]) == len(theirs["id"]) == 32  # a bare UUID4 hex, as async_task's


def test_refusals_keep_their_answers(pair):
    assert call("POST", hook(pair, token="nope"), STAGE_CHANGE)[::2] == (404, b"Not found")
    status, _, content = call("POST", hook(pair), b'{"not": "a list"}')
    assert status == 400 and b"expected a JSON array" in content
    assert call("GET", hook(pair))[0] == 405  # not a delivery: Django answers
    assert call("POST", hook(pair), STAGE_CHANGE, HTTP_HOST="evil.example")[0] == 400
    assert InboundEvent.objects.filter(status="invalid").count() == 1  # the unreadable one
    assert not SyncRun.objects.exists()


def test_a_redelivery_is_answered_200_and_stores_nothing(pair):
    for _ in range(3):
        assert call("POST", hook(pair), STAGE_CHANGE)[0] == 200
    assert InboundEvent.objects.count() == 1 and SyncRun.objects.count() == 1
    assert OrmQ.objects.count() == 1


def test_deliveries_from_many_threads_are_all_stored_once(pair):
    [box] = json.loads(STAGE_CHANGE)
    bodies = [
        json.dumps([box | {"lastUpdatedTimestamp": box["lastUpdatedTimestamp"] + n}]).encode()
        for n in range(40)
    ]
    statuses = []

    def deliver(share: list[bytes]) -> None:
        statuses.extend(call("POST", hook(pair), body)[0] for body in share)

    threads = [threading.Thread(target=deliver, args=(bodies[n::8] * 2,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 80
    assert InboundEvent.objects.count() == SyncRun.objects.count() == OrmQ.objects.count() == 40


def test_work_waiting_behind_a_commit_goes_in_together_and_a_duplicate_undoes_only_itself(pair):
    group = GroupCommit()
    first_started, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def store(key: str, wait: bool = False):
        def work() -> int:
            if wait:
                first_started.set()
                release.wait(10)
            return InboundEvent.objects.create(
                pair=pair, source="webhook", dedupe_key=key, status="accepted"
            ).pk

        def submit() -> None:
            try:
                outcomes[key if not outcomes.get(key) else f"{key} again"] = group.run(work)
            except IntegrityError as exc:
                outcomes[f"{key} again"] = exc

        return threading.Thread(target=submit)

    leader = store("a", wait=True)
    leader.start()
    assert first_started.wait(10)
    followers = [store("b"), store("b"), store("c")]
    for thread in followers:
        thread.start()
    while len(group.waiting) < 3:  # all three queued behind the commit in progress
        threading.Event().wait(0.01)
    release.set()
    for thread in (leader, *followers):
        thread.join(10)
    assert (group.batches, group.pieces) == (2, 4)
    assert isinstance(outcomes["b again"], IntegrityError)
    assert sorted(InboundEvent.objects.values_list("dedupe_key", flat=True)) == ["a", "b", "c"]


def test_a_leader_is_answered_once_its_own_batch_is_in(pair):
    """The thread that committed a batch hands the lead on: its delivery is answered while
    the next batch, arriving meanwhile, is still being stored."""
    group = GroupCommit()
    first_started, release_first = threading.Event(), threading.Event()
    second_started, release_second = threading.Event(), threading.Event()

    def blocking(started: threading.Event, release: threading.Event, key: str):
        def work() -> int:
            started.set()
            release.wait(10)
            return InboundEvent.objects.create(
                pair=pair, source="webhook", dedupe_key=key, status="accepted"
            ).pk

        return threading.Thread(target=group.run, args=(work,))

    first = blocking(first_started, release_first, "first")
    first.start()
    assert first_started.wait(10)
    second = blocking(second_started, release_second, "second")
    second.start()
    while len(group.waiting) < 1:  # queued behind the first commit
        threading.Event().wait(0.01)
    release_first.set()
    assert second_started.wait(10)  # the second batch is being stored...
    first.join(5)
    assert not first.is_alive()  # ...and the first delivery's thread has its answer
    release_second.set()
    second.join(10)
    assert (group.batches, group.pieces) == (2, 2)
    assert InboundEvent.objects.count() == 2


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's writers take turns")
def test_a_delivery_waits_its_turn_while_another_process_writes(pair):
    """Another web process holding the writers' lock file holds this delivery's commit (and
    its 200) until it lets go; then the delivery is stored."""
    lock_file = f"{connection.settings_dict['NAME']}-writers"
    other_process = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)  # its own description
    statuses: list[int] = []
    fcntl.flock(other_process, fcntl.LOCK_EX)
    try:
        delivery = threading.Thread(
            target=lambda: statuses.append(call("POST", hook(pair), STAGE_CHANGE)[0])
        )
        delivery.start()
        delivery.join(0.5)
        assert delivery.is_alive() and not statuses
    finally:
        fcntl.flock(other_process, fcntl.LOCK_UN)
        os.close(other_process)
    delivery.join(10)
    assert statuses == [200]
    assert InboundEvent.objects.count() == SyncRun.objects.count() == OrmQ.objects.count() == 1


def query_plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_a_run_writes_no_index_that_no_query_reads(pair):
    """Migration 0020: a delivery's run goes into fewer indexes, and every lookup the
    dropped ones served still finds its rows through an index."""
    indexes = set(connection.introspection.get_constraints(connection.cursor(), "flows_syncrun"))
    for dropped in ("pair_id_63756e3a", "label_a1623314", "document_af3e395e"):
        assert f"flows_syncrun_{dropped}" not in indexes
    assert "USING INDEX run_key" in query_plan(SyncRun.objects.filter(pair=pair))
    by_replay = query_plan(SyncRun.objects.filter(replay_id=1))
    assert "USING INDEX run_replay" in by_replay
    by_version = query_plan(SyncRun.objects.filter(mapping_version_id=1))
    assert "USING INDEX run_mapping_version" in by_version
    call("POST", hook(pair), STAGE_CHANGE)
    assert SyncRun.objects.filter(pair=pair, replay=None, mapping_version=None).count() == 1
