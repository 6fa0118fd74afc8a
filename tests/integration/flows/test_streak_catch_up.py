"""Catch-up for lost Streak webhooks, against the live Streak and Sage 100 sandboxes: a
Streak pair's won-deal flow, started by webhooks, also polls the pipeline's boxes, so a
stage change whose delivery Streak gave up on still becomes one order; a delivery that does
arrive and the poll of the same change are one event, one run and one order, in either
order; boxes won before the flow first polled are left alone."""

import pytest

from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig, InboundEvent, SyncRun
from flows.polling import catches_up, due_configs, poll
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "deal_won_to_sales_order"
ORDER_FIELD = "Sage Order No"


@pytest.fixture
def config(sage100_pair) -> FlowConfig:
    """The pair's won-deal flow as a user leaves it: started by Streak's webhooks."""
    pair, _token = sage100_pair
    config = FlowConfig.objects.select_related("pair__crm", "pair__erp").get(pair=pair, flow=FLOW)
    assert config.trigger == FlowConfig.Trigger.WEBHOOK
    return config


def win(streak_sandbox, deal_id: str) -> dict:
    """A Streak user moves the seeded deal on and then to Closed-Won; the box as it is now."""
    key = shared.seeded_box_key(deal_id)
    shared.move_box(streak_sandbox, key, "5001")
    return shared.move_box(streak_sandbox, key, shared.CLOSED_WON)


def one_order(sage, deal_id: str) -> dict:
    [order] = shared.orders_for(sage, deal_id)
    return order


def test_a_won_deal_whose_webhook_was_deleted_becomes_its_order_through_catch_up(
    config, streak_sandbox, sage
):
    pair = config.pair
    streak = connector_for(pair.crm)
    streak.register_webhook(f"https://clarity.example.com/hooks/{pair.slug}/lost-token/")
    for hook in streak.webhooks():
        assert streak.delete_webhook(hook["key"])
    assert streak.webhooks() == []  # Streak tells us of nothing any more
    assert catches_up(config) and config in list(due_configs())
    assert poll(config).runs == 0  # the first poll only takes its position

    box = win(streak_sandbox, "SAL-1005")
    caught_up = poll(config)

    assert (caught_up.stored, caught_up.runs) == (1, 1)
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.event.source == "poll"
    order = one_order(sage, "SAL-1005")
    box_now = streak.get("Box", box["key"])
    assert box_now["fieldsByName"][ORDER_FIELD] == order["SalesOrderNo"]

    after_write_back = poll(config)  # the number written back changed the box again

    assert after_write_back.runs == 0
    assert SyncRun.objects.filter(pair=pair).count() == 1
    assert len(shared.orders_for(sage, "SAL-1005")) == 1


def test_a_delivered_webhook_and_the_poll_of_the_same_win_are_one_event_run_and_order(
    client, config, sage100_pair, streak_sandbox, sage
):
    pair, token = sage100_pair
    poll(config)
    box = win(streak_sandbox, "SAL-1013")
    assert shared.deliver_streak(client, pair, token, box).status_code == 200

    polled = poll(config)

    assert polled.runs == 0 and polled.stored == 0
    assert InboundEvent.objects.filter(pair=pair, entity_key=box["key"]).count() == 1
    [run] = SyncRun.objects.filter(pair=pair, entity_key=box["key"])
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    one_order(sage, "SAL-1013")


def test_a_delivery_arriving_after_the_poll_caught_up_is_the_same_event(
    client, config, sage100_pair, streak_sandbox, sage
):
    pair, token = sage100_pair
    poll(config)
    box = win(streak_sandbox, "SAL-1029")  # the box as Streak's late retry carries it

    assert poll(config).runs == 1
    late = shared.deliver_streak(client, pair, token, box)

    assert late.status_code == 200
    [event] = InboundEvent.objects.filter(pair=pair, entity_key=box["key"])
    assert event.source == "poll"
    [run] = SyncRun.objects.filter(pair=pair, entity_key=box["key"])
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    one_order(sage, "SAL-1029")


def test_boxes_won_before_the_first_poll_are_not_run(config, streak_sandbox, sage):
    pair = config.pair
    seeded_won = list(connector_for(pair.crm).boxes(shared.CLOSED_WON))
    assert seeded_won  # won long before the flow polled
    just_won = win(streak_sandbox, "SAL-1005")  # the newest change, at the position's edge

    first, second = poll(config), poll(config)

    assert first.runs == second.runs == 0
    assert not SyncRun.objects.filter(pair=pair).exists()
    assert not ExternalLink.objects.filter(pair=pair, crm_id=just_won["key"]).exists()
    assert shared.orders_for(sage, "SAL-1005") == []
