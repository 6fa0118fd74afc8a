"""The exactly-once report against the live sandboxes: deals won through real runs (Streak →
Sage 100), a redelivery, an order made in Sage behind the product's back, and a won deal
whose run failed before any order; read through the page's report, the API and the
dashboard."""

from contextlib import closing
from datetime import date, timedelta

import pyodbc
import pytest
from django.core.cache import cache
from django.utils.timezone import localdate

from flows.exactly_once import exactly_once
from flows.models import SyncRun
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def today() -> date:
    """The day the test starts, taken before its deals are won (not at import: a suite
    running past midnight would see them won the day after)."""
    return localdate()


def order_behind_our_back(sandbox, deal_id: str) -> str:
    """A second sales order for the deal, written straight into Sage 100's tables as a
    person in Sage would key it (a copy of the deal's order under a new number)."""
    with closing(pyodbc.connect(sandbox.app.odbc_connection_string, autocommit=True)) as db:
        cursor = db.execute("SELECT * FROM SO_SalesOrderHeader WHERE UDF_DEAL_ID = ?", deal_id)
        names = [column[0] for column in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
        row["SalesOrderNo"] = "0999999"
        marks = ", ".join("?" for _ in row)
        db.execute(
            f"INSERT INTO SO_SalesOrderHeader ({', '.join(row)}) VALUES ({marks})",
            *row.values(),
        )
    return row["SalesOrderNo"]


@pytest.fixture(autouse=True)
def forgotten_reports():
    """No report remembered by an earlier test (the dashboard's line reads the cache)."""
    cache.clear()


@pytest.fixture
def won(client, streak_sandbox, sage100_pair):
    """SAL-1005 and SAL-1029 won through real runs, SAL-1029's webhook delivered twice."""
    pair, token = sage100_pair
    runs = [shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")[1]]
    box = shared.move_box(streak_sandbox, shared.seeded_box_key("SAL-1029"), shared.CLOSED_WON)
    for _ in range(2):  # Streak sent it again: the same delivery
        assert shared.deliver_streak(client, pair, token, box).status_code == 200
    runs.append(SyncRun.objects.get(pair=pair, entity_key=box["key"]))
    for run in runs:
        run.refresh_from_db()
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return pair, token


def test_deals_won_through_runs_are_in_sage_exactly_once(today, won):
    pair, _ = won

    report = exactly_once(pair, today)

    assert report.verdict == f"Every won deal since {today:%d %b %Y} is in Sage exactly once"
    assert (report.won_deals, report.documents_in_sage, report.problems) == (2, 2, [])
    assert report.events_received == 2 and report.redeliveries == 1
    assert report.runs_started == 2
    assert exactly_once(pair, today + timedelta(days=1)).won_deals == 0


def test_an_order_made_in_sage_behind_our_back_lists_the_deal_with_two(
    today, won, sage100_sandbox, sage
):
    pair, _ = won
    extra = order_behind_our_back(sage100_sandbox, "SAL-1029")

    report = exactly_once(pair, today)

    assert report.verdict == "1 deal needs a look"
    [deal] = report.problems
    assert deal.crm_id == shared.seeded_box_key("SAL-1029") and deal.label.startswith("SAL-1029")
    assert extra in {seen.number for seen in deal.documents} and len(deal.documents) == 2
    assert deal.problem == "2 documents in Sage"
    assert report.documents_in_sage == 3


def test_a_won_deal_whose_run_failed_without_an_order_is_listed_with_none(
    today, won, client, streak_sandbox
):
    pair, token = won
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED

    report = exactly_once(pair, today)

    [deal] = report.problems
    assert (deal.crm_id, deal.run_id, deal.documents) == (run.entity_key, run.pk, ())
    assert deal.problem == "not in Sage; its run is failed"
    assert report.verdict == "1 deal needs a look" and report.won_deals == 3


def test_the_api_answers_the_report_and_names_a_bad_date(
    today, won, client, users, sage100_sandbox
):
    pair, _ = won
    order_behind_our_back(sage100_sandbox, "SAL-1005")
    client.force_login(users["viewer"])

    reply = client.get(f"/api/v1/pairs/{pair.slug}/exactly-once/?since={today.isoformat()}")

    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert (body["won_deals"], body["documents_in_sage"], body["redeliveries"]) == (2, 3, 1)
    [problem] = body["problems"]
    assert problem["crm_id"] == shared.seeded_box_key("SAL-1005") and problem["documents"] == 2
    assert {document["deal_reference"] for document in problem["sage_documents"]} == {"SAL-1005"}
    bad = client.get(f"/api/v1/pairs/{pair.slug}/exactly-once/?since=last-week")
    assert bad.status_code == 400 and "since" in bad.json()
    dashboard = client.get("/dashboard/cards/").content.decode()
    assert "1 deal needs a look" in dashboard


def test_someone_without_a_role_sees_neither_the_page_nor_the_api(won, client, make_user):
    pair, _ = won
    client.force_login(make_user("nobody"))

    page = client.get(f"/pairs/{pair.slug}/exactly-once/")
    api = client.get(f"/api/v1/pairs/{pair.slug}/exactly-once/")

    assert page.status_code == 403 and "Every won deal" not in page.content.decode()
    assert api.status_code == 403
