"""Back-to-back purchase orders and Streak stage → Sage 100 order status, end to end: the
Streak sandbox delivers to our webhook, runs execute inline, and the result is read back
from Sage 100 over ODBC and from Streak over its API.

SAL-1005 sells WIDGET-117, which the Sage 100 seed keeps short in warehouse 000 (none on
hand, open orders waiting) and whose primary vendor is 00-ALLENCO (Allen & Co Fasteners)."""

from decimal import Decimal

import pytest

from flows.models import ExternalLink, FlowConfig, SyncRun
from flows.services import retry_run
from flows.steps.purchasing import TIMES
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
DEAL, SHORT_ITEM, VENDOR = "SAL-1005", "WIDGET-117", "00-ALLENCO"
PROPOSAL, CLOSED_LOST = "5003", "5005"


def set_options(pair, flow: str, enabled: bool = True, **options) -> None:
    config = FlowConfig.objects.get(pair=pair, flow=flow)
    config.options = {**config.options, **options}
    config.enabled = enabled
    config.save()


def short_quantity(box: dict) -> Decimal:
    return next(quantity for code, quantity, _ in shared.products(box) if code == SHORT_ITEM)


def purchase_orders(sage) -> list[dict]:
    return [
        sage.get("purchase_order", row["PurchaseOrderNo"]) for row in sage.stream("purchase_order")
    ]


def comments(streak_crm, key: str) -> list[str]:
    return [c["message"] for c in streak_crm.search("Comment", box_key=key)]


# ---------------------------------------------------------------- back-to-back purchase orders


def test_a_won_deal_with_a_short_line_gets_one_purchase_order_for_the_shortfall_even_on_retry(
    client, streak_sandbox, sage100_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    set_options(pair, "deal_won_to_sales_order", back_to_back_purchase_orders=True)
    shared.set_faults(sage100_sandbox, commit_then_fail_rate=1.0)  # every Sage reply lost
    key, run = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    for _ in range(4):  # customer, order: made, replies lost; found on the next try
        run.refresh_from_db()
        if run.steps.filter(name="purchase_orders", status="failed").exists():
            break
        retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED
    assert len(purchase_orders(sage)) == 1  # made in Sage, its reply lost
    shared.set_faults(sage100_sandbox)
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    box = streak_crm.get("Box", key)
    [order] = shared.orders_for(sage, DEAL)
    [po] = purchase_orders(sage)
    number = po["PurchaseOrderNo"]
    assert (po["APDivisionNo"], po["VendorNo"], po["PurchaseName"]) == (
        "00", "ALLENCO", "Allen & Co Fasteners"
    )  # fmt: skip
    assert [(line["ItemCode"], Decimal(str(line["QuantityOrdered"])), line["SalesOrderNo"])
            for line in po["lines"]] == [
        (SHORT_ITEM, short_quantity(box), order["SalesOrderNo"])
    ]  # fmt: skip
    assert order["SalesOrderNo"] in po["Comment"]
    assert ExternalLink.objects.get(pair=pair, entity="purchase_order").sage_id == number
    notes = [m for m in comments(streak_crm, key) if "Back-to-back purchasing" in m]
    quantity = f"{short_quantity(box).normalize():f}"
    assert len(notes) == 1
    bought = f"{quantity} {TIMES} {SHORT_ITEM} (short)"
    assert f"PO {number} to Allen & Co Fasteners for {bought}" in notes[0]
    assert run.references["sage_purchase_orders"] == number


def test_with_the_option_off_a_short_line_buys_nothing(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    key, run = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert shared.orders_for(sage, DEAL)
    assert purchase_orders(sage) == []
    assert not any("Back-to-back" in message for message in comments(streak_crm, key))
    assert "sage_purchase_orders" not in run.references


def test_a_short_item_without_a_primary_vendor_is_noted_with_what_to_do(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    set_options(pair, "deal_won_to_sales_order", back_to_back_purchase_orders=True)
    shared.without_anomaly_checks(pair)
    box = shared.won_clone(streak_sandbox, DEAL, "SAL-B2B-1")
    stored = streak_sandbox.app.store.get("boxes", box["key"])
    stored["fields"][streak_data.FIELD_PRODUCTS] = "WIDGET-113 x 40 @ 10.00"
    stored["fields"][streak_data.FIELD_AMOUNT] = "400.00"
    streak_sandbox.app.store.put("boxes", box["key"], stored)
    box = shared.raw_box(streak_sandbox, box["key"])
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert purchase_orders(sage) == []
    [note] = [m for m in comments(streak_crm, box["key"]) if "Back-to-back" in m]
    assert "WIDGET-113 is short by" in note and "has no primary vendor in Sage 100" in note
    assert "Set the item's primary vendor" in note


# ---------------------------------------------------------------- stage → order status


def test_a_deal_moved_to_on_hold_puts_its_sage_order_on_hold_once(
    client, streak_sandbox, sage100_pair, streak_crm, sage, on_hold_stage
):
    pair, token = sage100_pair
    key, _ = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    [order] = shared.orders_for(sage, DEAL)
    number = order["SalesOrderNo"]
    assert order["OrderStatus"] == "N"
    set_options(pair, "deal_stage_to_order_status", stage_statuses={"On hold": "on_hold"})
    box = shared.move_box(streak_sandbox, key, on_hold_stage)
    for _ in range(2):  # the same move delivered twice: one write
        assert shared.deliver_streak(client, pair, token, box).status_code == 200
    runs = SyncRun.objects.filter(pair=pair, flow_config__flow="deal_stage_to_order_status")
    assert [r.status for r in runs] == [SyncRun.Status.SUCCEEDED]
    assert sage.get("sales_order", number)["OrderStatus"] == "H"  # read back over ODBC
    notes = [m for m in comments(streak_crm, key) if f"order {number} put on hold" in m]
    assert len(notes) == 1
    later = shared.move_box(streak_sandbox, key, PROPOSAL)  # a stage the table leaves alone
    shared.move_box(streak_sandbox, key, on_hold_stage)
    shared.deliver_streak(client, pair, token, later)
    shared.deliver_streak(client, pair, token, shared.raw_box(streak_sandbox, key))
    last = runs.order_by("-pk").first()
    assert "is on hold already: nothing was written" in last.summary
    assert len([m for m in comments(streak_crm, key) if "put on hold" in m]) == 1


def test_the_stage_order_status_gave_the_deal_does_not_change_the_order_back(
    client, streak_sandbox, sage100_pair, sage, on_hold_stage
):
    """Tables that disagree: order status → CRM moves an on-hold order's deal to Proposal,
    while Proposal here would reopen it. The move is that flow's echo: the order stays."""
    pair, token = sage100_pair
    key, _ = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    [order] = shared.orders_for(sage, DEAL)
    set_options(pair, "order_status_to_crm", status_stages={"on_hold": "Proposal"})
    set_options(pair, "deal_stage_to_order_status",
                stage_statuses={"On hold": "on_hold", "Proposal": "open"})  # fmt: skip
    shared.deliver_streak(client, pair, token, shared.move_box(streak_sandbox, key, on_hold_stage))
    assert sage.get("sales_order", order["SalesOrderNo"])["OrderStatus"] == "H"
    shared.deliver_streak(client, pair, token, shared.move_box(streak_sandbox, key, PROPOSAL))
    assert sage.get("sales_order", order["SalesOrderNo"])["OrderStatus"] == "H"
    last = SyncRun.objects.filter(pair=pair, flow_config__flow="deal_stage_to_order_status")
    assert "because sales order" in last.order_by("-pk").first().summary


def test_a_deal_moved_to_closed_lost_cancels_its_order_as_sage_does(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    key, _ = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    [order] = shared.orders_for(sage, DEAL)
    set_options(pair, "deal_stage_to_order_status", stage_statuses={"Closed-Lost": "deleted"})
    shared.deliver_streak(client, pair, token, shared.move_box(streak_sandbox, key, CLOSED_LOST))
    assert sage.search("sales_order", SalesOrderNo=order["SalesOrderNo"]) == []  # left open
    [deleted] = sage.search("sales_order_history", SalesOrderNo=order["SalesOrderNo"])
    assert deleted["OrderStatus"] == "X"
    assert any(f"order {order['SalesOrderNo']} cancelled" in m for m in comments(streak_crm, key))
