"""Polls that find nothing to do leave no runs behind: a change of an order another pair made
starts no run here, a run whose last step found nothing to do is forgotten by the next poll,
and the poll status says what the poll found. Runs people look for carry a label and the
Sage document number."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.base import WebhookEvent
from flows.base import Flow, Step, StepContext
from flows.intake import IntakeResult, take_in
from flows.models import ExternalLink, FlowConfig, InboundEvent, RunStep, SyncRun, Watermark
from flows.polling import PollStatus, forget_runs_with_nothing_to_do, poll_outcome, poll_statuses
from flows.registry import FLOWS
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
FLOW = "test_order_status"


@pytest.fixture(autouse=True)
def order_flow(monkeypatch) -> Flow:
    """A polled flow that wants every order change, as order status → CRM does for an order
    naming a deal."""
    flow = Flow(
        name=FLOW,
        label="Test order status",
        description="Tells the deal.",
        steps=(Step("read", lambda ctx: {}), Step("tell", lambda ctx: {})),
        trigger="poll",
        accepts=lambda config, event: event.kind == "order",
    )
    monkeypatch.setitem(FLOWS, flow.name, flow)
    monkeypatch.setattr("flows.intake.enqueue", lambda run: None)
    return flow


def pair_on(erp=None):
    pair = IntegrationPairFactory(**({"erp": erp} if erp else {}))
    FlowConfig.objects.update_or_create(
        pair=pair, flow=FLOW, defaults={"enabled": True, "trigger": "poll"}
    )
    return pair


def order_change(number: str, stamp: str = "1") -> WebhookEvent:
    return WebhookEvent(
        kind="order",
        entity_key=f"sales_order:{number}",
        dedupe_key=f"poll:sales_order:{number}:{stamp}",
        payload={"SalesOrderNo": number},
    )


def test_a_polled_change_of_an_order_another_pair_made_starts_no_run_here():
    sales = pair_on()
    wholesale = pair_on(erp=sales.erp)  # two CRMs booking into one Sage company
    ExternalLink.objects.create(pair=sales, entity="sales_order", crm_id="box-1", sage_id="217")

    assert take_in(wholesale, [order_change("217")], "poll").runs == 0
    assert InboundEvent.objects.get(pair=wholesale).status == InboundEvent.Status.IGNORED
    assert take_in(sales, [order_change("217")], "poll").runs == 1  # its own order
    assert take_in(wholesale, [order_change("218")], "poll").runs == 1  # bound to no pair

    ExternalLink.objects.create(pair=wholesale, entity="sales_order", crm_id="b-9", sage_id="217")
    assert take_in(wholesale, [order_change("217", stamp="2")], "poll").runs == 1  # both's
    elsewhere = pair_on()  # another Sage company's order 217 is another order
    assert take_in(elsewhere, [order_change("217")], "poll").runs == 1
    assert take_in(wholesale, [order_change("217", stamp="3")], "webhook").runs == 1


def finished_run(pair, last_output: dict, status=SyncRun.Status.SUCCEEDED, age=timedelta(0),
                 last_step: str = "tell") -> SyncRun:  # fmt: skip
    config = FlowConfig.objects.get(pair=pair, flow=FLOW)
    finished = timezone.now() - age
    run = SyncRun.objects.create(
        flow_config=config, pair=pair, entity_key="sales_order:217", status=status,
        attempt=1, finished_at=finished,
    )  # fmt: skip
    for order, (name, output) in enumerate([("read", {}), (last_step, last_output)], start=1):
        RunStep.objects.create(
            run=run, attempt=1, order=order, name=name, status=RunStep.Status.SUCCEEDED,
            output=output, started_at=finished,
        )  # fmt: skip
    return run


def test_runs_whose_last_step_found_nothing_to_do_are_forgotten_by_the_next_poll():
    pair, other = pair_on(), pair_on()
    nothing = finished_run(pair, {"skipped": "status unchanged"})
    told = finished_run(pair, {"note": "Order 217 is on hold."})
    skipped_midway = finished_run(pair, {"note": "told"}, last_step="read")
    failed = finished_run(pair, {"skipped": "no deal"}, status=SyncRun.Status.FAILED)
    long_ago = finished_run(pair, {"skipped": "no deal"}, age=timedelta(days=2))
    others = finished_run(other, {"skipped": "no deal"})
    config = FlowConfig.objects.get(pair=pair, flow=FLOW)

    assert forget_runs_with_nothing_to_do(config, timezone.now()) == 1
    left = set(SyncRun.objects.values_list("pk", flat=True))
    assert nothing.pk not in left
    assert {told.pk, skipped_midway.pk, failed.pk, long_ago.pk, others.pk} <= left
    assert not RunStep.objects.filter(run_id=nothing.pk).exists()


def test_the_poll_status_says_when_it_polled_what_it_found_and_why_it_failed():
    pair = pair_on()
    now = timezone.now()
    found = poll_outcome(now, IntakeResult(stored=3, duplicates=1, runs=2))
    Watermark.objects.create(pair=pair, flow=FLOW, value={"feeds": {}, **found})
    assert poll_statuses(pair)[FLOW] == PollStatus(now, 3, 2, now, "")

    later = now + timedelta(minutes=1)
    quiet = poll_outcome(later, IntakeResult())
    assert "changed_at" not in quiet  # the last change found stays what it was
    status = PollStatus.of({**found, **quiet})
    assert (status.polled_at, status.changes, status.changed_at) == (later, 0, now)
    failed = PollStatus.of({**found, "error": "Sage 100 is unreachable"})
    assert failed.error == "Sage 100 is unreachable"
    assert PollStatus.of({}) == PollStatus(None, 0, 0, None, "")


def test_a_run_is_labelled_with_what_people_call_its_record_and_the_document_it_made():
    pair = pair_on()
    config = FlowConfig.objects.get(pair=pair, flow=FLOW)
    run = SyncRun.objects.create(flow_config=config, pair=pair, entity_key="agxzfm1h")
    ctx = StepContext(run=run, flow=FLOWS[FLOW])

    ctx.label_run("", "Acme Widgets restock", "")
    assert SyncRun.objects.get(pk=run.pk).label == "Acme Widgets restock"
    ctx.label_run("SAL-1013", "Acme Widgets restock", "Acme Corp")
    ctx.label_run(document="SO 0000217")  # the label stays
    saved = SyncRun.objects.get(pk=run.pk)
    assert (saved.label, saved.document) == (
        "SAL-1013 · Acme Widgets restock · Acme Corp",
        "SO 0000217",
    )
    assert (run.label, run.document) == (saved.label, saved.document)
    ctx.label_run()  # nothing given: nothing changes
    assert SyncRun.objects.get(pk=run.pk).label == saved.label
