"""The error queue holds every run not done: waiting to retry, failed, dead. What a person
sees there (the cause in the first run's words, the deals, attempt and next try in their
zone, where to fix it) and what Resolve and Dismiss do (a note, the audit, the dashboard)."""

from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from connectors.models import Connection
from flows.models import FlowConfig, RunStep, SyncRun
from mappings.models import LookupTable
from monitoring.models import Resolution
from monitoring.views.errors import error_groups
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
Status = SyncRun.Status
OUTAGE = "Sage 100 bridge did not answer: order 0000991 timed out after 30 s"


@pytest.fixture(autouse=True)
def no_queue(monkeypatch) -> list[int]:
    """Runs put back in the queue are recorded, not executed: these tests are about pages."""
    queued: list[int] = []
    monkeypatch.setattr("flows.services.enqueue", lambda run: queued.append(run.pk))
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
    def make(status: str, key: str, **fields) -> SyncRun:
        return SyncRun.objects.create(
            flow_config=config, pair=config.pair, entity_key=key, status=status, **fields
        )

    return make


def retrying(make_run, key: str, message: str = OUTAGE, **fields) -> SyncRun:
    """A run whose Sage call failed for now, its next try in 7 minutes."""
    due = timezone.now() + timedelta(minutes=7)
    fields = {"attempt": 2, "next_attempt_at": due, **fields}
    return make_run(
        Status.RETRY_SCHEDULED, key, error_class="TransientError", error_message=message, **fields
    )


def unknown_item(make_run, key: str, item: str = "WIDGET-999", **fields) -> SyncRun:
    return make_run(
        Status.FAILED,
        key,
        error_class="ValidationError",
        error_message=f"Item {item} is not in Sage 100: add it to the product lookup table or "
        "create the item, then retry",
        error_fields={"lines[2].sku": item},
        attempt=1,
        **fields,
    )


def queue_page(client, users, role: str = "operator") -> str:
    client.force_login(users[role])
    return client.get(reverse("error-queue")).content.decode()


def close(client, runs: list[SyncRun], kind: str, note: str):
    data = {"run": [run.pk for run in runs], "kind": kind, "note": note}
    return client.post(reverse("error-close"), data, follow=True)


# ---------------------------------------------------------------- what the queue shows


def test_a_retrying_run_is_in_the_queue_at_once_with_its_attempt_and_next_try_in_local_time(
    client, users, make_run, settings
):
    settings.TIME_ZONE = "America/Chicago"
    run = retrying(make_run, "box-1")
    html = queue_page(client, users)
    due = timezone.localtime(run.next_attempt_at, ZoneInfo("America/Chicago"))
    assert f"Attempt 2 of {settings.CLARITY_MAX_ATTEMPTS} failed, next try" in html
    assert f">{due:%Y-%m-%d %H:%M} {due.tzname()}</time>" in html
    assert "Retry now" in html


def test_groups_are_titled_by_the_first_runs_own_words_not_the_grouping_key(
    client, users, make_run
):
    first = retrying(make_run, "box-1")
    retrying(make_run, "box-2", OUTAGE.replace("0000991", "0000992"))
    [group] = error_groups()
    assert len(group["runs"]) == 2
    assert group["title"] == first.error_message
    html = queue_page(client, users)
    assert "order 0000991 timed out after 30 s" in html
    assert "order # timed out" not in html
    assert "order 0000992 timed out" in html  # the other run's own words, on its row


def test_each_deal_shows_its_label_amount_and_the_deal_in_the_crm(client, users, make_run):
    labelled = unknown_item(make_run, "box-7", label="SAL-1013 · Acme Widgets restock · Acme Corp")
    RunStep.objects.create(
        run=labelled, attempt=1, order=2, name="map_deal", status="succeeded",
        output={"document": {"total": "12155.7", "currency": "USD"}}, started_at=timezone.now(),
    )  # fmt: skip
    unknown_item(make_run, "box-8", summary="Globex — 80 USD")
    html = queue_page(client, users)
    assert "SAL-1013 · Acme Widgets restock · Acme Corp" in html
    assert "12,155.70 USD" in html
    assert "Globex — 80 USD" in html and "box-8" in html  # no label yet: summary and key
    assert 'href="http://127.0.0.1:8101/boxes/box-7"' in html


def test_failed_dead_and_retrying_runs_are_queued_but_not_finished_or_waiting_ones(
    make_run,
):
    queued = {
        retrying(make_run, "a").pk,
        unknown_item(make_run, "b").pk,
        make_run(Status.DEAD, "c", error_class="TransientError", error_message="down").pk,
        make_run(Status.RUNNING, "d", error_class="TransientError", error_message="down").pk,
    }
    for status in (Status.SUCCEEDED, Status.AWAITING_APPROVAL, Status.CANCELLED, Status.RUNNING):
        make_run(status, f"not-{status}")
    make_run(Status.REJECTED, "rejected", error_class="Rejected", error_message="No")
    in_queue = {run.pk for group in error_groups() for run in group["runs"]}
    assert in_queue == queued


# ---------------------------------------------------------------- where the fix is made


def test_an_unknown_item_links_to_its_row_in_the_pairs_lookup_table(client, users, pair, make_run):
    table, _ = LookupTable.objects.get_or_create(pair=pair, name="Product code → Sage 100 item")
    unknown_item(make_run, "box-1")
    html = queue_page(client, users)
    url = f"{reverse('lookup-detail', args=[table.pk])}?{urlencode({'key': 'WIDGET-999'})}"
    assert f'href="{url.replace("&", "&amp;")}"' in html


def test_without_its_lookup_table_the_link_offers_to_create_it(client, users, pair, make_run):
    LookupTable.objects.filter(pair=pair).delete()
    unknown_item(make_run, "box-1")
    [group] = error_groups()
    assert group["fix_links"] == [
        {
            "label": "Create the lookup table “Product code → Sage 100 item”",
            "url": f"{reverse('lookup-create')}?pair={pair.pk}",
        }
    ]


def test_an_outage_links_to_the_connection_it_names_and_a_paused_pair_to_the_pair(pair, make_run):
    retrying(make_run, "box-1")
    [group] = error_groups()
    assert [link["url"] for link in group["fix_links"]] == [pair.erp.get_absolute_url()]
    assert group["fix_links"][0]["label"].startswith("Open the Sage 100 connection")

    SyncRun.objects.all().delete()
    Connection.objects.filter(pk=pair.crm_id).update(status=Connection.Status.NEEDS_REAUTH)
    type(pair).objects.filter(pk=pair.pk).update(enabled=False)
    make_run(
        Status.RETRY_SCHEDULED,
        "box-2",
        error_class="AuthError",
        error_message="Streak refused the API key (401)",
        next_attempt_at=timezone.now(),
    )
    [group] = error_groups()
    urls = [link["url"] for link in group["fix_links"]]
    assert urls == [pair.crm.get_absolute_url(), pair.get_absolute_url()]
    [run] = group["runs"]
    assert run.waiting_for.startswith("Paused until the connection is reconnected")
    assert run.next_try is None


# ---------------------------------------------------------------- resolve and dismiss


def test_resolving_with_a_note_takes_the_run_out_and_the_audit_says_who_and_why(
    client, users, make_run
):
    run = unknown_item(make_run, "box-1")
    client.force_login(users["operator"])
    reply = close(client, [run], "resolved", "Keyed into Sage by hand as SO 0000300")
    assert "1 run resolved: out of the error queue." in reply.content.decode()
    assert error_groups() == []
    resolution = Resolution.objects.get(run=run)
    assert (resolution.kind, resolution.by) == ("resolved", users["operator"])
    entry = LogEntry.objects.get(object_pk=str(run.pk), additional_data__action="resolved")
    assert entry.actor == users["operator"]
    audit = client.get(reverse("audit-log")).content.decode()
    assert "Resolved" in audit and "Keyed into Sage by hand as SO 0000300" in audit
    assert "Keyed into Sage by hand" in client.get(reverse("error-queue")).content.decode()


def test_a_note_is_required(client, users, make_run):
    run = unknown_item(make_run, "box-1")
    client.force_login(users["operator"])
    reply = close(client, [run], "dismissed", "   ")
    assert "Write a note first" in reply.content.decode()
    assert not Resolution.objects.exists()
    assert len(error_groups()) == 1


def test_dismissing_a_retrying_run_stops_its_retries(client, users, make_run):
    run = retrying(make_run, "box-1")
    client.force_login(users["admin"])
    close(client, [run], "dismissed", "Test deal, never meant for Sage")
    run.refresh_from_db()
    assert run.status == Status.CANCELLED and run.next_attempt_at is None
    assert Resolution.objects.get(run=run).kind == "dismissed"
    assert error_groups() == []


def test_a_whole_group_is_closed_with_one_note(client, users, make_run):
    runs = [unknown_item(make_run, f"box-{n}") for n in range(3)]
    other = retrying(make_run, "box-x")
    client.force_login(users["operator"])
    reply = close(client, runs, "resolved", "Item added in Sage; orders keyed by hand")
    assert "3 runs resolved" in reply.content.decode()
    [group] = error_groups()
    assert [run.pk for run in group["runs"]] == [other.pk]


def test_a_closed_run_that_is_retried_and_fails_again_is_back_in_the_queue(client, users, make_run):
    run = unknown_item(make_run, "box-1")
    client.force_login(users["operator"])
    close(client, [run], "resolved", "Fixed the mapping")
    client.post(reverse("error-run-retry", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == Status.PENDING
    SyncRun.objects.filter(pk=run.pk).update(
        status=Status.FAILED, error_class="ValidationError", error_message="Still wrong",
        updated_at=timezone.now(),
    )  # fmt: skip
    [group] = error_groups()
    assert group["title"] == "Still wrong"


def test_a_running_retry_cannot_be_closed_and_shows_no_buttons(client, users, make_run):
    run = make_run(Status.RUNNING, "box-1", error_class="TransientError", error_message=OUTAGE)
    html = queue_page(client, users)
    assert "trying…" in html and "Retry now" not in html
    reply = close(client, [run], "resolved", "Done by hand")
    assert "is being tried right now" in reply.content.decode()
    assert not Resolution.objects.exists()


@pytest.mark.parametrize("role", ["admin", "operator", "approver", "viewer"])
def test_operators_and_admins_act_viewers_only_look(client, users, make_run, role):
    run = unknown_item(make_run, "box-1")
    html = queue_page(client, users, role)
    acts = role in ("admin", "operator")
    assert ("Resolve…" in html) is acts and (">Retry</button>" in html) is acts
    reply = client.post(
        reverse("error-close"), {"run": run.pk, "kind": "resolved", "note": "Handled"}
    )
    assert reply.status_code == (302 if acts else 403)
    assert client.post(reverse("error-run-retry", args=[run.pk])).status_code == (
        302 if acts else 403
    )
    assert Resolution.objects.exists() is acts


# ---------------------------------------------------------------- the dashboard


def test_a_closed_run_counts_neither_as_failure_nor_success_on_the_dashboard(
    client, users, make_run
):
    make_run(Status.SUCCEEDED, "ok-1")
    failed = unknown_item(make_run, "bad-1")
    dismissed = make_run(Status.DEAD, "bad-2", error_class="TransientError", error_message="down")
    retrying(make_run, "slow-1")
    client.force_login(users["operator"])
    close(client, [dismissed], "dismissed", "Duplicate of SAL-1013")
    [card] = client.get(reverse("dashboard-cards")).context["cards"]
    statuses = {status: n for status, _, n in card["by_status"]}
    assert statuses == {"succeeded": 1, "failed": 1, "retry_scheduled": 1}
    assert card["success_rate"] == 50  # one success of two ended; the dismissed one is out
    assert card["in_error_queue"] == 2  # the failed and the retrying run
    chart = client.get(reverse("dashboard-chart")).json()
    assert "dead" not in {series["status"] for series in chart["datasets"]}
    assert failed.pk in {run.pk for group in error_groups() for run in group["runs"]}
