"""The operations pages as each role sees them: who may look, who may act, and that what
they show matches the runs in the database."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from flows.models import Approval, FlowConfig, InboundEvent, RunStep, SyncRun
from flows.registry import FLOWS
from monitoring.views.diagnosis import fix_for, signature
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
Status = SyncRun.Status
ROLES = ("admin", "operator", "approver", "viewer")


@pytest.fixture(autouse=True)
def no_queue(monkeypatch) -> list[int]:
    """Runs put back in the queue are recorded, not executed: these tests are about pages."""
    queued: list[int] = []
    monkeypatch.setattr("flows.runner.enqueue_id", queued.append)
    monkeypatch.setattr("flows.services.enqueue", lambda run: queued.append(run.pk))
    monkeypatch.setattr("flows.approvals.enqueue", lambda run: queued.append(run.pk))
    monkeypatch.setattr("monitoring.views.pairs.enqueue", lambda run: queued.append(run.pk))
    return queued


@pytest.fixture
def pair():
    return IntegrationPairFactory(name="Acme Streak → Sage 100")


@pytest.fixture
def config(pair) -> FlowConfig:
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    config.enabled = True
    config.save()
    return config


@pytest.fixture
def make_run(config):
    def make(status: str = Status.SUCCEEDED, key: str = "box-1", **fields) -> SyncRun:
        return SyncRun.objects.create(
            flow_config=config, pair=config.pair, entity_key=key, status=status, **fields
        )

    return make


def unknown_item(make_run, key: str, item: str = "WIDGET-999") -> SyncRun:
    message = (
        f"Item {item} is not in Sage 100: add it to the product lookup table or create the "
        "item, then retry."
    )
    return make_run(
        Status.FAILED,
        key,
        error_class="ValidationError",
        error_message=message,
        error_detail="CI_Item: record not found",
        attempt=1,
    )


def client_for(client, users, role: str | None):
    if role:
        client.force_login(users[role])
    return client


# ---------------------------------------------------------------- permission matrix


@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_role_may_look_and_anonymous_visitors_are_sent_to_sign_in(
    client, users, pair, make_run, role
):
    run = unknown_item(make_run, "box-9")
    client = client_for(client, users, role)
    pages = [
        reverse("dashboard"),
        reverse("dashboard-cards"),
        reverse("dashboard-chart"),
        reverse("run-list"),
        reverse("run-detail", args=[run.pk]),
        reverse("error-queue"),
        reverse("approval-list"),
        reverse("pair-flows", args=[pair.slug]),
    ]
    for url in pages:
        reply = client.get(url)
        if role is None:
            assert reply.status_code == 302 and "/login/" in reply.url, url
        else:
            assert reply.status_code == 200, url


ACTION_ALLOWED = {
    "retry": {"admin", "operator"},
    "cancel": {"admin", "operator"},
    "retry_selected": {"admin", "operator"},
    "retry_group": {"admin", "operator"},
    "decide": {"admin", "approver"},
    "pause": {"admin", "operator"},
    "flow_options": {"admin"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTION_ALLOWED))
def test_only_the_right_roles_may_act(client, users, pair, config, make_run, role, action):
    run = unknown_item(make_run, "box-9")
    waiting = make_run(Status.AWAITING_APPROVAL, "box-10")
    approval = Approval.objects.create(
        run=waiting,
        amount=12000,
        currency="USD",
        base_amount=12000,
        base_currency="USD",
        reason="Over",
    )
    requests = {
        "retry": (reverse("run-retry", args=[run.pk]), {"from": "failed_step"}),
        "cancel": (reverse("run-cancel", args=[run.pk]), {}),
        "retry_selected": (reverse("run-retry-selected"), {"run": [run.pk]}),
        "retry_group": (reverse("error-group-retry", args=[group_key(client, users)]), {}),
        "decide": (reverse("approval-decide", args=[approval.pk]), {"decision": "approve"}),
        "pause": (reverse("pair-pause", args=[pair.slug]), {"action": "pause"}),
        "flow_options": (
            reverse("pair-flows", args=[pair.slug]),
            {
                "config": config.pk,
                f"flow-{config.pk}-trigger": "webhook",
                f"flow-{config.pk}-option_approval_threshold": "5000",
                f"flow-{config.pk}-option_unknown_item_policy": "flag",
            },
        ),
    }
    client.logout()
    client.force_login(users[role])
    url, data = requests[action]
    reply = client.post(url, data)
    if role in ACTION_ALLOWED[action]:
        assert reply.status_code == 302, (action, role)
    else:
        assert reply.status_code == 403, (action, role)


def group_key(client, users) -> str:
    """The error queue's one group, as the admin sees it."""
    client.force_login(users["admin"])
    [group] = client.get(reverse("error-queue")).context["groups"]
    return group["key"]


def test_a_viewer_sees_no_buttons(client, users, make_run):
    run = unknown_item(make_run, "box-9")
    waiting = make_run(Status.AWAITING_APPROVAL, "box-10")
    Approval.objects.create(
        run=waiting,
        amount=12000,
        currency="USD",
        base_amount=12000,
        base_currency="USD",
        reason="Over the threshold",
    )
    client.force_login(users["viewer"])
    pages = [
        reverse("run-detail", args=[run.pk]),
        reverse("error-queue"),
        reverse("approval-list"),
        reverse("run-list"),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert html.count('method="post"') == 1, url  # only "Sign out"
        assert 'name="run"' not in html, url
    client.force_login(users["operator"])
    html = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "Retry from failed step" in html and "Retry from start" in html


# ---------------------------------------------------------------- what the pages show


def test_run_detail_shows_the_fix_the_systems_words_the_steps_and_links(client, users, make_run):
    run = unknown_item(make_run, "box-9", item="WIDGET-9")
    SyncRun.objects.filter(pk=run.pk).update(references={"sage_customer": "01-ACME"})
    now = timezone.now()
    RunStep.objects.create(
        run=run,
        attempt=1,
        order=0,
        name="read_deal",
        status="succeeded",
        input={"box": "box-9"},
        output={"won": True, "token": "[redacted]"},
        duration_ms=42,
        started_at=now,
    )
    RunStep.objects.create(
        run=run,
        attempt=1,
        order=1,
        name="items",
        status="failed",
        error="Item WIDGET-9 is not in Sage 100",
        duration_ms=7,
        started_at=now,
    )
    client.force_login(users["viewer"])
    html = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert (
        "Item WIDGET-9 is not in Sage 100: add it to the product lookup table or create the "
        "item, then retry." in html
    )
    assert "CI_Item: record not found" in html and "ValidationError" in html
    assert "42 ms" in html and "7 ms" in html and "[redacted]" in html
    assert 'href="http://127.0.0.1:8101/boxes/box-9"' in html


def test_runs_filter_by_status_and_by_text_in_keys_references_and_summaries(
    client, users, make_run
):
    make_run(
        Status.SUCCEEDED,
        "box-a",
        summary="Mårten Ågren AB — 120 USD",
        references={"sage_order_no": "0000456"},
    )
    make_run(Status.SUCCEEDED, "box-b", summary="Globex — 80 USD")
    unknown_item(make_run, "box-c")
    client.force_login(users["viewer"])

    def keys(**query) -> set[str]:
        page = client.get(reverse("run-list"), query).context["page"]
        return {run.entity_key for run in page}

    assert keys() == {"box-a", "box-b", "box-c"}
    assert keys(status="failed") == {"box-c"}
    assert keys(q="0000456") == {"box-a"}
    assert keys(q="globex") == {"box-b"}
    assert keys(q="box-c") == {"box-c"}


def test_bulk_retry_queues_the_selected_runs_and_skips_finished_ones(
    client, users, make_run, no_queue
):
    failed = [unknown_item(make_run, f"box-{n}") for n in range(3)]
    done = make_run(Status.SUCCEEDED, "box-ok")
    client.force_login(users["operator"])
    ids = [run.pk for run in failed] + [done.pk]
    reply = client.post(reverse("run-retry-selected"), {"run": ids}, follow=True)
    text = reply.content.decode()
    assert "3 runs queued again." in text and "1 skipped" in text
    assert sorted(no_queue) == sorted(run.pk for run in failed)
    assert set(SyncRun.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.PENDING,
        Status.SUCCEEDED,
    }


def test_error_queue_groups_by_signature_and_retries_a_whole_group(
    client, users, make_run, no_queue
):
    same = [unknown_item(make_run, f"box-{n}") for n in range(12)]
    other = make_run(
        Status.DEAD,
        "box-x",
        error_class="TransientError",
        error_message="Sage 100 bridge did not answer: order 0000991 timed out",
    )
    client.force_login(users["operator"])
    groups = client.get(reverse("error-queue")).context["groups"]
    assert [len(group["runs"]) for group in groups] == [12, 1]
    assert groups[0]["signature"].startswith("ValidationError: Item WIDGET-999 is not in Sage")
    assert "order # timed out" in groups[1]["signature"]
    client.post(reverse("error-group-retry", args=[groups[0]["key"]]))
    assert sorted(no_queue) == sorted(run.pk for run in same)
    other.refresh_from_db()
    assert other.status == Status.DEAD


def test_signatures_blank_record_ids_but_keep_item_codes():
    run = SyncRun(
        error_class="NotFound",
        error_message="Box agxzfm1haWxmb29nYWVyLgsSDE9yZ2FuaXphdGlvbiIF not found, run 42",
    )
    assert signature(run) == "NotFound: Box … not found, run #"
    assert fix_for("TransientError", "timeout").startswith("The system did not answer")
    assert fix_for("Whatever", "odd").startswith("Read the system's message")


def test_dashboard_numbers_match_the_runs(client, users, pair, make_run):
    now = timezone.now()
    event = InboundEvent.objects.create(
        pair=pair, source="webhook", status="accepted", dedupe_key="e1"
    )
    InboundEvent.objects.filter(pk=event.pk).update(received_at=now - timedelta(seconds=10))
    for seconds in (1, 2, 3, 4):
        run = make_run(Status.SUCCEEDED, f"ok-{seconds}", finished_at=now)
        SyncRun.objects.filter(pk=run.pk).update(created_at=now - timedelta(seconds=seconds))
    slow = make_run(Status.SUCCEEDED, "ok-slow", finished_at=now, event=event)
    SyncRun.objects.filter(pk=slow.pk).update(created_at=now - timedelta(seconds=2))
    unknown_item(make_run, "bad-1")
    make_run(Status.DEAD, "bad-2", error_class="TransientError", error_message="down")
    waiting = make_run(Status.AWAITING_APPROVAL, "big-1")
    Approval.objects.create(
        run=waiting, amount=1, currency="USD", base_amount=1, base_currency="USD", reason="Over"
    )
    old = make_run(Status.SUCCEEDED, "old")
    SyncRun.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=2))
    client.force_login(users["viewer"])
    [card] = client.get(reverse("dashboard-cards")).context["cards"]
    assert card["runs"] == 8  # the two-day-old run is not in the last 24 h
    assert dict((status, n) for status, _, n in card["by_status"]) == {
        "succeeded": 5,
        "failed": 1,
        "dead": 1,
        "awaiting_approval": 1,
    }
    assert card["success_rate"] == round(100 * 5 / 7)
    assert card["p95_seconds"] == pytest.approx(10, abs=0.5)  # from the event's arrival
    assert (card["pending_approvals"], card["in_error_queue"]) == (1, 2)
    chart = client.get(reverse("dashboard-chart"), {"range": "24h"}).json()
    assert len(chart["labels"]) == 24
    totals = {series["status"]: sum(series["data"]) for series in chart["datasets"]}
    assert totals == {"succeeded": 5, "failed": 1, "dead": 1, "awaiting_approval": 1}
    assert len(client.get(reverse("dashboard-chart"), {"range": "7d"}).json()["labels"]) == 168


def test_approvals_show_the_deal_lines_and_the_decided_tab_says_who(client, users, make_run):
    run = make_run(Status.AWAITING_APPROVAL, "box-big", summary="Initech — 12155.70 USD")
    RunStep.objects.create(
        run=run,
        attempt=1,
        order=1,
        name="map_deal",
        status="succeeded",
        started_at=timezone.now(),
        output={
            "customer": {"name": "Initech"},
            "document": {
                "lines": [
                    {
                        "sku": "WIDGET-100",
                        "quantity": "30",
                        "unit_price": "405.19",
                        "description": "Widget",
                    }
                ]
            },
        },
    )
    approval = Approval.objects.create(
        run=run,
        amount=Decimal("12155.70"),
        currency="EUR",
        base_amount=Decimal("13000.00"),
        base_currency="USD",
        reason="12,155.70 EUR is over the approval threshold",
    )
    client.force_login(users["approver"])
    html = client.get(reverse("approval-list")).content.decode()
    assert "WIDGET-100" in html and "Initech" in html
    assert "12,155.70\xa0EUR" in html and "13,000.00\xa0USD" in html
    reply = client.post(
        reverse("approval-decide", args=[approval.pk]),
        {"decision": "reject", "comment": ""},
        follow=True,
    )
    assert "Say why the order is rejected" in reply.content.decode()
    client.post(
        reverse("approval-decide", args=[approval.pk]), {"decision": "approve", "comment": "Fine"}
    )
    html = client.get(reverse("approval-list"), {"tab": "decided"}).content.decode()
    assert "approver" in html and "Approved" in html and "Fine" in html


def test_pair_flows_saves_options_and_resuming_queues_the_waiting_runs(
    client, users, pair, config, make_run, no_queue
):
    client.force_login(users["admin"])
    prefix = f"flow-{config.pk}"
    reply = client.post(
        reverse("pair-flows", args=[pair.slug]),
        {
            "config": config.pk,
            f"{prefix}-enabled": "on",
            f"{prefix}-trigger": "webhook",
            f"{prefix}-option_approval_threshold": "2500",
            f"{prefix}-option_unknown_item_policy": "skip_line",
            f"{prefix}-option_trigger_stage": "",
        },
    )
    assert reply.status_code == 302
    config.refresh_from_db()
    assert FLOWS[config.flow].option(config.options, "approval_threshold") == 2500
    assert FLOWS[config.flow].option(config.options, "unknown_item_policy") == "skip_line"
    client.post(reverse("pair-pause", args=[pair.slug]), {"action": "pause"})
    pair.refresh_from_db()
    assert not pair.enabled
    held = make_run(Status.PENDING, "box-held")
    client.post(reverse("pair-pause", args=[pair.slug]), {"action": "resume"})
    pair.refresh_from_db()
    assert pair.enabled and no_queue == [held.pk]
