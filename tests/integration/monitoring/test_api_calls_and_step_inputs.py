"""What a real won-deal run leaves for operators: API calls counted per system in /metrics,
and each step's input on the run's page. Streak → Sage 100 against the live sandboxes, runs
executed inline (django-q2 sync mode); shared helpers in `tests/won_deals.py`.
"""

import pytest
from django.db import transaction
from django.urls import reverse

from connectors import metering
from connectors.errors import ConnectorError, NotFound, RateLimited, TransientError
from connectors.http import HttpClient
from connectors.models import ApiCallCount
from flows.models import RunStep, SyncRun
from sandbox.core.server import start
from tests import won_deals as shared
from tests.integration.echo_sandbox import EchoSandbox
from tests.prometheus import api_calls, grown

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


def served_api_requests(monkeypatch, sandbox) -> list[str]:
    """The API requests the sandbox answers from now on (its pages and controls left out)."""
    served: list[str] = []
    dispatch = sandbox.app.dispatch

    def counting(request):
        if sandbox.app.is_api(request.path):
            served.append(f"{request.method} {request.path}")
        return dispatch(request)

    monkeypatch.setattr(sandbox.app, "dispatch", counting)
    return served


def test_metrics_count_the_calls_a_won_deal_makes_to_streak_and_sage_100(
    client, monkeypatch, streak_sandbox, sage100_sandbox, sage100_pair
):
    pair, token = sage100_pair
    key = shared.seeded_box_key("SAL-1005")
    shared.move_box(streak_sandbox, key, "5001")
    box = shared.move_box(streak_sandbox, key, shared.CLOSED_WON)
    streak_served = served_api_requests(monkeypatch, streak_sandbox)
    bridge_served = served_api_requests(monkeypatch, sage100_sandbox)
    before = api_calls(client)
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=key)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    after = api_calls(client)

    assert grown(before, after, "streak", "ok") == len(streak_served) >= 3  # read, write, comment
    assert bridge_served  # the customer and the order, created through the bridge
    odbc_queries = grown(before, after, "sage100", "ok") - len(bridge_served)
    assert odbc_queries >= 1  # the customer and item lookups
    failed = {key: value for key, value in after.items() if key[1] != "ok"}
    assert failed == {key: value for key, value in before.items() if key[1] != "ok"}


def test_a_streak_outage_shows_as_server_errors(client, streak_sandbox, sage100_pair):
    pair, token = sage100_pair
    key = shared.seeded_box_key("SAL-1005")
    shared.move_box(streak_sandbox, key, "5001")
    box = shared.move_box(streak_sandbox, key, shared.CLOSED_WON)
    shared.set_faults(streak_sandbox, outage=True)
    before = api_calls(client)
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=key)
    assert run.status == SyncRun.Status.RETRY_SCHEDULED
    after = api_calls(client)

    # Reading the box: the first try and the two quick retries of a read, each a 503.
    assert grown(before, after, "streak", "server_error") == 3
    assert grown(before, after, "streak", "ok") == 0


def test_run_detail_shows_what_each_step_read_and_no_secret(client, users, streak_sandbox,
                                                            sage100_pair):  # fmt: skip
    pair, token = sage100_pair
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    steps = {step.name: step for step in RunStep.objects.filter(run=run)}
    assert steps["read_deal"].input["record"] == key
    assert steps["read_deal"].input["event"]["kind"] == "BOX_CHANGE_STAGE"
    assert list(steps["map_deal"].input) == ["read_deal"]
    assert steps["map_deal"].input["read_deal"] == steps["read_deal"].output
    assert all(step.input for step in steps.values()), {n: s.input for n, s in steps.items()}

    client.force_login(users["viewer"])
    html = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert html.count("<summary>Input</summary>") == len(steps)
    assert "BOX_CHANGE_STAGE" in html and key in html
    assert shared.STREAK_KEY not in html
    assert pair.erp.secrets["bridge_key"] not in html


# ---------------------------------------------------------------- outcomes, one by one


@pytest.fixture
def echo(tmp_path):
    running = start("echo", EchoSandbox(tmp_path))
    yield running
    running.stop()


def test_each_outcome_is_counted_under_its_own_label(client, echo, sage):
    before = api_calls(client)
    http = HttpClient("Echo", echo.url)
    http.get("/api/status/200")
    for status, error in ((404, NotFound), (503, TransientError), (429, RateLimited)):
        with pytest.raises(error):
            http.post(f"/api/status/{status}")
    with pytest.raises(TransientError):
        http.get("/api/status/500")  # a read is tried three times
    unreachable = HttpClient("Echo", "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(TransientError):
        unreachable.post("/api/items")
    with pytest.raises(ConnectorError):
        sage.reader.scalar("SELECT NoSuchColumn FROM AR_Customer")
    after = api_calls(client)

    assert {key: grown(before, after, *key) for key in after if key[0] == "echo"} == {
        ("echo", "ok"): 1,
        ("echo", "client_error"): 1,
        ("echo", "server_error"): 4,
        ("echo", "rate_limited"): 1,
        ("echo", "network_error"): 1,
    }
    assert grown(before, after, "sage100", "client_error") == 1


@pytest.mark.django_db(transaction=True)  # the periodic save waits for no open transaction
def test_counts_reach_the_database_every_few_seconds_without_waiting_for_the_task(
    echo, monkeypatch
):
    metering.flush()  # what earlier tests in this process left
    rows = ApiCallCount.objects.filter(system="echo", outcome="ok")
    before = sum(rows.values_list("calls", flat=True))
    monkeypatch.setattr(metering, "FLUSH_SECONDS", 0)
    with transaction.atomic():  # e.g. a poll storing its events: its rows stay unlocked
        HttpClient("Echo", echo.url).get("/api/status/204")
        assert sum(rows.values_list("calls", flat=True)) == before
    HttpClient("Echo", echo.url).get("/api/status/204")
    assert rows.get().calls == before + 2
