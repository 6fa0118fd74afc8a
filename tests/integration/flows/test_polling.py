"""The poller against the live sandboxes: watermarks move only with the events they cover,
a change read twice starts one run, failures are recorded and picked up by the next poll,
our own CRM writes are recognised, and the schedule polls only what is due. The fixtures and
helpers at the top are shared with the other test modules here."""

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.db import connection as db
from django_q.models import Schedule

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig, InboundEvent, SyncRun, Watermark
from flows.polling import CHANGE_OF, is_echo, poll, poll_config, poll_due
from sandbox.sage100.app import BRIDGE_KEY
from sandbox.streak import data as streak_data

pytestmark = pytest.mark.django_db

STREAK_KEY = "sandbox-streak-key"


# ---------------------------------------------------------------- shared fixtures


@pytest.fixture(autouse=True)
def inline_runs(monkeypatch) -> None:
    """Enqueued tasks (runs, polls) run at once, in this process."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)


@pytest.fixture
def sage100(sage100_sandbox) -> Connection:
    return Connection.objects.create(
        name="ABC Distribution",
        system="sage100",
        settings={
            "odbc_connection_string": sage100_sandbox.app.odbc_connection_string,
            "odbc_dialect": "sqlite",
            "company_code": "ABC",
            "bridge_url": sage100_sandbox.url,
            "default_warehouse": "000",
        },
        secrets={"bridge_key": BRIDGE_KEY},
    )


@pytest.fixture
def streak(streak_sandbox) -> Connection:
    return Connection.objects.create(
        name="Acme Streak",
        system="streak",
        settings={
            "base_url": streak_sandbox.url,
            "pipeline_key": streak_data.SALES["key"],
            "requests_per_second": 500,
        },
        secrets={"api_key": STREAK_KEY},
    )


@pytest.fixture
def salesforce(salesforce_sandbox) -> Connection:
    return Connection.objects.create(
        name="Acme Salesforce",
        system="salesforce",
        settings={
            "login_url": salesforce_sandbox.url,
            "auth_flow": "client_credentials",
            "client_id": "sandbox-client",
            "api_version": "59.0",
            "ca_bundle": str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem"),
        },
        secrets={"client_secret": "sandbox-secret"},
    )


@pytest.fixture
def sage50(sage_accounting_sandbox) -> Connection:
    url = sage_accounting_sandbox.url
    tokens = requests.post(f"{url}/_control/oauth/tokens", timeout=5).json()
    expires = datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])
    return Connection.objects.create(
        name="Brightline Sage",
        system="sage50",
        settings={
            "api_url": f"{url}/v3.1",
            "auth_url": f"{url}/oauth/authorize",
            "token_url": f"{url}/oauth/token",
            "client_id": "sandbox-client",
        },
        secrets={
            "client_secret": "sandbox-secret",
            "access_token": tokens["access_token"],
            "access_token_expires_at": expires.isoformat(),
            "refresh_token": tokens["refresh_token"],
        },
    )


@pytest.fixture
def make_pair() -> Callable[..., IntegrationPair]:
    """A pair (with its default mappings) and the named flows switched on, polling."""

    def make(crm: Connection, erp: Connection, *flows: str, **options) -> IntegrationPair:
        pair = IntegrationPair.objects.create(name=f"{crm.name} + {erp.name}", crm=crm, erp=erp)
        for flow in flows:
            FlowConfig.objects.filter(pair=pair, flow=flow).update(
                enabled=True, trigger=FlowConfig.Trigger.POLL, options=options
            )
        return pair

    return make


def config_of(pair: IntegrationPair, flow: str) -> FlowConfig:
    return FlowConfig.objects.select_related("pair__crm", "pair__erp").get(pair=pair, flow=flow)


def poll_now(pair: IntegrationPair, flow: str):
    return poll(config_of(pair, flow))


def sage100_rows(sandbox, sql: str, *params) -> list[dict]:
    """What a Sage 100 user sees in the company's tables."""
    with sqlite3.connect(sandbox.app.db_path) as sage_db:
        sage_db.row_factory = sqlite3.Row
        return [dict(row) for row in sage_db.execute(sql, params)]


def open_orders(sandbox) -> list[str]:
    rows = sage100_rows(
        sandbox,
        "SELECT SalesOrderNo FROM SO_SalesOrderHeader WHERE OrderStatus IN ('N', 'O') "
        "AND OrderType = 'S' ORDER BY SalesOrderNo",
    )
    return [row["SalesOrderNo"] for row in rows]


def set_status_in_sage(sandbox, order_no: str, status: str) -> None:
    """Change an order's status on the Sage 100 page, as a Sage user does."""
    reply = requests.post(
        f"{sandbox.url}/orders/{order_no}/status", data={"status": status}, timeout=10
    )
    assert "error=" not in reply.url, reply.url


def first_box(streak: Connection, stage: str = "") -> dict:
    return next(connector_for(streak).boxes(stage))


def comments_on(streak: Connection, box_key: str) -> list[str]:
    return [c["message"] for c in connector_for(streak).search("Comment", box_key=box_key)]


def link_order(pair: IntegrationPair, deal: str, order_no: str) -> ExternalLink:
    """What the won-deal flow records when it creates the order."""
    return ExternalLink.objects.create(
        pair=pair, entity="sales_order", crm_id=deal, sage_id=order_no
    )


# ---------------------------------------------------------------- the poller


@pytest.fixture
def status_pair(make_pair, streak, sage100) -> IntegrationPair:
    return make_pair(streak, sage100, "order_status_to_crm")


def test_a_change_polled_twice_starts_one_run(status_pair, streak, sage100, sage100_sandbox):
    order_no = open_orders(sage100_sandbox)[0]
    box = first_box(streak)
    link_order(status_pair, box["key"], order_no)
    assert poll_now(status_pair, "order_status_to_crm").runs == 0  # the first poll: no change
    set_status_in_sage(sage100_sandbox, order_no, "H")

    first = poll_now(status_pair, "order_status_to_crm")
    assert (first.stored, first.runs) == (1, 1)
    run = SyncRun.objects.get(pair=status_pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.entity_key == f"sales_order:{order_no}"

    # The feed forgets what it read (e.g. the connection was edited) and the watermark is
    # put back: the same change is read again, and recognised.
    mark = Watermark.objects.get(pair=status_pair, flow="order_status_to_crm")
    mark.value = {"feeds": {}}
    mark.save()
    Connection.objects.filter(pk=sage100.pk).update(settings=sage100.settings)  # as created
    again = poll_now(status_pair, "order_status_to_crm")
    assert again.read >= 1 and again.duplicates >= 1 and again.runs == 0
    assert SyncRun.objects.filter(pair=status_pair).count() == 1
    on_hold = [m for m in comments_on(streak, box["key"]) if f"order {order_no} is on hold" in m]
    assert len(on_hold) == 1


def test_a_failure_while_storing_leaves_the_watermark_and_the_next_poll_recovers(
    status_pair, streak, sage100_sandbox
):
    order_no = open_orders(sage100_sandbox)[1]
    box = first_box(streak)
    link_order(status_pair, box["key"], order_no)
    poll_now(status_pair, "order_status_to_crm")
    before = Watermark.objects.get(pair=status_pair, flow="order_status_to_crm").value["feeds"]
    set_status_in_sage(sage100_sandbox, order_no, "H")

    with db.cursor() as cursor:  # the database refuses to store the run, once
        cursor.execute(
            "CREATE TRIGGER refuse_runs BEFORE INSERT ON flows_syncrun "
            "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
        )
    config = config_of(status_pair, "order_status_to_crm")
    assert poll_config(config.pk).startswith("failed: disk quota exceeded")
    mark = Watermark.objects.get(pair=status_pair, flow="order_status_to_crm")
    assert mark.value["feeds"] == before and "disk quota exceeded" in mark.value["error"]
    assert not InboundEvent.objects.filter(pair=status_pair).exists()

    with db.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_runs")
    assert "1 new" in poll_config(config.pk)
    mark.refresh_from_db()
    assert mark.value["feeds"] != before and mark.value["error"] == ""
    run = SyncRun.objects.get(pair=status_pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert any(f"order {order_no} is on hold" in m for m in comments_on(streak, box["key"]))


def test_an_outage_during_the_read_leaves_the_watermark_where_it_was(
    make_pair, streak, sage50, sage_accounting_sandbox
):
    pair = make_pair(streak, sage50, "payments_to_crm")
    poll_now(pair, "payments_to_crm")
    before = Watermark.objects.get(pair=pair, flow="payments_to_crm").value["feeds"]
    url = sage_accounting_sandbox.url
    requests.post(f"{url}/_control/faults", json={"outage": True}, timeout=5).raise_for_status()

    config = config_of(pair, "payments_to_crm")
    assert poll_config(config.pk).startswith("failed:")
    mark = Watermark.objects.get(pair=pair, flow="payments_to_crm")
    assert mark.value["feeds"] == before and mark.value["error"]

    requests.delete(f"{url}/_control/faults", timeout=5).raise_for_status()
    assert "changes read" in poll_config(config.pk)
    mark.refresh_from_db()
    assert mark.value["error"] == ""


def test_our_own_crm_write_is_recognised_and_a_users_edit_is_not(
    status_pair, streak, sage100_sandbox, streak_sandbox
):
    order_no = open_orders(sage100_sandbox)[2]
    box = first_box(streak)
    link_order(status_pair, box["key"], order_no)
    poll_now(status_pair, "order_status_to_crm")
    set_status_in_sage(sage100_sandbox, order_no, "H")
    poll_now(status_pair, "order_status_to_crm")

    crm = connector_for(streak)
    written = crm.get("Box", box["key"])
    assert is_echo(status_pair, CHANGE_OF["streak"](crm, "Box", written))
    requests.post(  # a salesperson edits the box afterwards
        f"{streak_sandbox.url}/api/v1/boxes/{box['key']}",
        json={"notes": "Customer called about delivery."},
        auth=(STREAK_KEY, ""),
        timeout=5,
    ).raise_for_status()
    edited = crm.get("Box", box["key"])
    assert not is_echo(status_pair, CHANGE_OF["streak"](crm, "Box", edited))


def test_the_schedule_polls_only_what_is_due(status_pair):
    assert Schedule.objects.filter(name="Polling", func="flows.polling.poll_due").exists()
    assert poll_due() == 1  # never polled
    assert poll_due() == 0  # polled just now
    mark = Watermark.objects.get(pair=status_pair, flow="order_status_to_crm")
    a_while_ago = datetime.now(UTC) - timedelta(seconds=61)
    mark.value = {**mark.value, "polled_at": a_while_ago.isoformat()}
    mark.save()
    assert poll_due() == 1
    FlowConfig.objects.filter(pair=status_pair).update(options={"poll_interval": 600})
    mark.value = {**mark.value, "polled_at": a_while_ago.isoformat()}
    mark.save()
    assert poll_due() == 0
    FlowConfig.objects.filter(pair=status_pair).update(enabled=False)
    mark.value = {**mark.value, "polled_at": (a_while_ago - timedelta(hours=1)).isoformat()}
    mark.save()
    assert poll_due() == 0
