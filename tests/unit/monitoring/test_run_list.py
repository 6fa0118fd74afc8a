"""The runs list as finance staff use it: it opens on deal runs and failures, finds a run by
its Deal ID, deal name, customer or Sage document number, says how long each run took, keeps
to the pair asked for, and refreshes itself only when asked to."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from flows.models import Approval, FlowConfig, SyncRun
from monitoring.views.runs import in_words
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
Status = SyncRun.Status


@pytest.fixture
def pair():
    return IntegrationPairFactory(name="Streak Sales → Sage 100")


def make_run(pair, flow: str, status: str = Status.SUCCEEDED, key: str = "box-1",
             **fields) -> SyncRun:  # fmt: skip
    config, _ = FlowConfig.objects.get_or_create(pair=pair, flow=flow)
    return SyncRun.objects.create(
        flow_config=config, pair=pair, entity_key=key, status=status, **fields
    )


def listed(client, **query) -> list[int]:
    reply = client.get(reverse("run-list"), query)
    assert reply.status_code == 200
    return sorted(run.pk for run in reply.context["page"])


def test_the_list_opens_on_deal_runs_and_failures_and_all_runs_shows_the_rest(client, users, pair):
    won = make_run(pair, "deal_won_to_sales_order", label="SAL-1013 · Acme · Acme Corp")
    told = make_run(pair, "order_status_to_crm", key="sales_order:0000217")
    stock_failed = make_run(pair, "inventory_to_crm", Status.FAILED, key="stock:W-1")
    retrying = make_run(pair, "payments_to_crm", Status.RETRY_SCHEDULED, key="receipt:1")
    given_up = make_run(pair, "customer_sync", Status.DEAD, key="customer:ACME")
    client.force_login(users["viewer"])

    page = client.get(reverse("run-list")).content.decode()
    assert '<option value="deals" selected>Deal runs and failures</option>' in page
    assert listed(client) == [won.pk, stock_failed.pk, retrying.pk, given_up.pk]
    assert listed(client, show="all") == [won.pk, told.pk, stock_failed.pk, retrying.pk,
                                          given_up.pk]  # fmt: skip
    # A link that names a filter (the pair page's "Runs", the dashboard's counts) means all.
    assert told.pk in listed(client, pair=pair.slug, period="24h")
    assert listed(client, show="deals", status=Status.SUCCEEDED) == [won.pk]


def test_a_pair_shows_only_its_own_runs(client, users, pair):
    other = IntegrationPairFactory(name="Streak Wholesale → Sage 100")
    ours = make_run(pair, "deal_won_to_sales_order")
    make_run(other, "deal_won_to_sales_order")
    make_run(other, "order_status_to_crm", key="sales_order:0000217")
    client.force_login(users["viewer"])
    assert listed(client, pair=pair.slug) == [ours.pk]
    assert listed(client, pair=pair.slug, show="all") == [ours.pk]


def test_a_run_is_found_by_deal_id_deal_name_customer_or_sage_document(client, users, pair):
    acme_label = "SAL-1013 · Acme Widgets restock · Acme Corp"
    acme = make_run(
        pair, "deal_won_to_sales_order", key="agxzfm1h-acme", label=acme_label,
        document="SO 0000217",
    )  # fmt: skip
    initech = make_run(
        pair, "deal_won_to_invoice", key="agxzfm1h-initech",
        label="SAL-1020 · Printers · Initech", document="SI-28",
    )  # fmt: skip
    client.force_login(users["viewer"])
    for text, found in [("SAL-1013", [acme.pk]), ("acme widgets", [acme.pk]),
                        ("Initech", [initech.pk]), ("0000217", [acme.pk]),
                        ("SO 0000217", [acme.pk]), ("si-28", [initech.pk]),
                        ("SAL-10", [acme.pk, initech.pk]), ("SAL-9999", [])]:  # fmt: skip
        assert listed(client, q=text) == found, text
    page = client.get(reverse("run-list"), {"q": "SAL-1013"}).content.decode()
    assert "<strong>SAL-1013</strong> · Acme Widgets restock · Acme Corp</span>" in page
    assert '<td class="run-document">SO 0000217</td>' in page
    assert 'placeholder="Deal ID, customer or Sage number"' in page


def test_each_finished_run_says_how_long_it_took_without_the_wait_for_an_approver(
    client, users, pair
):
    now = timezone.now()
    quick = make_run(pair, "deal_won_to_sales_order", key="quick")
    approved = make_run(pair, "deal_won_to_sales_order", key="approved")
    running = make_run(pair, "deal_won_to_sales_order", Status.RUNNING, key="running")
    SyncRun.objects.filter(pk__in=[quick.pk, approved.pk, running.pk]).update(
        created_at=now - timedelta(hours=3)
    )
    SyncRun.objects.filter(pk=quick.pk).update(finished_at=now - timedelta(hours=3) +
                                               timedelta(seconds=65))  # fmt: skip
    SyncRun.objects.filter(pk=approved.pk).update(finished_at=now)
    approval = Approval.objects.create(
        run=approved, amount=Decimal("12000"), currency="USD", base_amount=Decimal("12000"),
        base_currency="USD", reason="Over 10000 USD", status=Approval.Status.APPROVED,
        decided_at=now - timedelta(seconds=2),
    )  # fmt: skip
    Approval.objects.filter(pk=approval.pk).update(created_at=now - timedelta(hours=3) +
                                                   timedelta(seconds=1))  # fmt: skip
    client.force_login(users["viewer"])
    page = client.get(reverse("run-list")).context["page"]
    took = {run.entity_key: run.took for run in page}
    assert took == {"quick": "1 min 05 s", "approved": "3.0 s", "running": ""}
    html = client.get(reverse("run-list")).content.decode()
    assert "<th>Duration</th>" in html
    assert '<td class="small run-duration">1 min 05 s</td>' in html


def test_durations_read_as_people_say_them():
    seconds = (0.42, 9.96, 12.4, 65, 3599, 3600 * 2 + 600, 86400 * 3 + 4 * 3600)
    assert [in_words(s) for s in seconds] == [
        "0.4 s", "10 s", "12 s", "1 min 05 s", "59 min 59 s", "2 h 10 min", "3 d 4 h",
    ]  # fmt: skip


def test_auto_refresh_is_off_until_asked_and_is_kept_in_the_query_string(client, users, pair):
    make_run(pair, "deal_won_to_sales_order")
    client.force_login(users["viewer"])
    quiet = client.get(reverse("run-list")).content.decode()
    assert 'hx-trigger="every' not in quiet and "data-refreshing" not in quiet
    assert 'name="refresh" id="id_refresh" hx-get' in quiet  # the toggle, unchecked

    live = client.get(reverse("run-list"), {"show": "all", "refresh": "on"}).content.decode()
    assert 'hx-get="/runs/?show=all&amp;refresh=on" hx-trigger="every 10s"' in live
    assert 'name="refresh" id="id_refresh" checked' in live
    assert "page=2" not in live
