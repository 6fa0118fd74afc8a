"""Stock where salespeople look: a Sage stock change writes the "Sage Stock" summary on the
open Streak deals holding the item, reading and writing no other box (counted at the
sandbox), and Sage Accounting's stock reaches the CRM too."""

import re
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from clarity.formats import plain_number
from connectors.services import connector_for
from connectors.streak.stock import items_asked
from flows.models import SyncRun
from tests.integration.flows.polling import comments_on, poll_now
from tests.integration.flows.test_inventory_to_crm import set_stock_in_sage, stock_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "inventory_to_crm"
BOX_PATH = re.compile(r"^/api/v1/boxes/([^/]+)$")


@pytest.fixture
def box_requests(streak_sandbox) -> Iterator[list[tuple[str, str]]]:
    """(method, box key) of every request the Streak sandbox answers for one box."""
    seen: list[tuple[str, str]] = []
    server = streak_sandbox.server
    app = server.app

    def counting(environ, start_response):
        if match := BOX_PATH.match(environ.get("PATH_INFO", "")):
            seen.append((environ["REQUEST_METHOD"], match.group(1)))
        return app(environ, start_response)

    server.app = counting
    yield seen
    server.app = app


def test_a_sage100_stock_change_writes_the_stock_field_of_the_open_deals_holding_the_item_only(
    make_pair, streak, sage100, sage100_sandbox, box_requests
):
    pair = make_pair(streak, sage100, FLOW)
    crm = connector_for(streak)
    boxes = list(crm.boxes())
    box = next(b for b in boxes if b["stageName"] == "Proposal" and b["fieldsByName"]["Products"])
    sku, asked, _ = (
        box["fieldsByName"]["Products"].splitlines()[0].replace(" @ ", " x ").split(" x ")
    )
    sku = sku.upper()
    holding = {
        b["key"]
        for b in boxes
        if b["stageName"] not in ("Closed-Won", "Closed-Lost")
        and sku in items_asked(b["fieldsByName"]["Products"])
    }
    poll_now(pair, FLOW)
    box_requests.clear()

    for warehouse in stock_of(sage100_sandbox, sku):
        set_stock_in_sage(sage100_sandbox, sku, warehouse, 0)
    poll_now(pair, FLOW)

    touched = {key for _, key in box_requests}
    assert box["key"] in touched
    assert touched <= holding, "a box that does not hold the item was read or written"
    assert all(method == "POST" for method, _ in box_requests)  # written, never re-read
    shown = crm.get("Box", box["key"])["fieldsByName"]["Sage Stock"]
    assert f"{sku}: 0 on hand, {asked} on this deal (short {asked})" in shown
    others = [b for b in boxes if b["key"] not in holding]
    assert all(not crm.get("Box", b["key"])["fieldsByName"]["Sage Stock"] for b in others[:5])
    alerts = [m for m in comments_on(streak, box["key"]) if m.startswith("Stock alert")]
    assert alerts == [
        f"Stock alert: this deal asks for {asked} of {sku}, but Sage 100 has 0 on hand "
        f"({asked} short)."
    ]

    time.sleep(1.1)  # Sage stamps changes to the second
    set_stock_in_sage(sage100_sandbox, sku, "000", 10_000)
    poll_now(pair, FLOW)
    shown = crm.get("Box", box["key"])["fieldsByName"]["Sage Stock"]
    assert f"{sku}: 10000 on hand, {asked} on this deal" in shown and "short" not in shown
    runs = SyncRun.objects.filter(pair=pair).order_by("pk")
    assert runs.last().status == SyncRun.Status.SUCCEEDED, runs.last().error_message
    assert len([m for m in comments_on(streak, box["key"]) if m.startswith("Stock alert")]) == 1


def test_a_sage100_deal_shows_the_on_hand_of_its_other_items_at_once(
    make_pair, streak, sage100, sage100_sandbox
):
    pair = make_pair(streak, sage100, FLOW)
    crm = connector_for(streak)
    box = next(
        b
        for b in crm.boxes()
        if b["stageName"] not in ("Closed-Won", "Closed-Lost")
        and len(items_asked(b["fieldsByName"]["Products"])) >= 2
    )
    changed, *others = sorted(items_asked(box["fieldsByName"]["Products"]))
    poll_now(pair, FLOW)

    set_stock_in_sage(sage100_sandbox, changed, next(iter(stock_of(sage100_sandbox, changed))), 7)
    poll_now(pair, FLOW)

    shown = crm.get("Box", box["key"])["fieldsByName"]["Sage Stock"]
    assert "not known yet" not in shown, shown
    for sku in others:
        on_hand = plain_number(sum(stock_of(sage100_sandbox, sku).values(), Decimal(0)))
        assert f"{sku}: {on_hand} on hand" in shown, shown


def test_a_sage100_stock_change_writes_sage_stock_on_the_open_salesforce_opportunities_only(
    make_pair, salesforce, sage100, sage100_sandbox
):
    pair = make_pair(salesforce, sage100, FLOW)
    crm = connector_for(salesforce)
    closed = {
        row["Id"]: row["IsClosed"] for row in crm.query("SELECT Id, IsClosed FROM Opportunity")
    }
    lines = list(crm.query("SELECT OpportunityId, ProductCode, Quantity FROM OpportunityLineItem"))
    line = next(
        row
        for row in lines
        if not closed[row["OpportunityId"]] and stock_of(sage100_sandbox, row["ProductCode"])
    )
    sku, opportunity = line["ProductCode"], line["OpportunityId"]
    asked = plain_number(
        sum(
            (Decimal(str(row["Quantity"])) for row in lines
             if row["OpportunityId"] == opportunity and row["ProductCode"] == sku),
            Decimal(0),
        )
    )  # fmt: skip
    holding = {row["OpportunityId"] for row in lines if row["ProductCode"] == sku}
    poll_now(pair, FLOW)

    for warehouse in stock_of(sage100_sandbox, sku):
        set_stock_in_sage(sage100_sandbox, sku, warehouse, 0)
    poll_now(pair, FLOW)

    run = SyncRun.objects.filter(pair=pair).order_by("pk").last()
    assert run is not None and run.status == SyncRun.Status.SUCCEEDED, run and run.error_message
    assert "product(s) updated" in run.summary and "open deal(s) hold it" in run.summary
    shown = crm.get("Opportunity", opportunity)["Sage_Stock__c"]
    assert f"{sku}: 0 on hand, {asked} on this deal (short {asked})" in shown
    for key in holding - {opportunity}:
        if closed[key]:
            assert not crm.get("Opportunity", key)["Sage_Stock__c"], "a closed deal was written"
    tasks = crm.query(f"SELECT Description FROM Task WHERE WhatId = '{opportunity}'")
    assert [t["Description"] for t in tasks if t["Description"].startswith("Stock alert")] == [
        f"Stock alert: this deal asks for {asked} of {sku}, but Sage 100 has 0 on hand "
        f"({asked} short)."
    ]


def test_deals_closed_or_deleted_in_streak_leave_the_stock_index(
    make_pair, streak, sage100, sage100_sandbox
):
    pair = make_pair(streak, sage100, FLOW)
    crm = connector_for(streak)
    boxes = [b for b in crm.boxes() if b["stageName"] not in ("Closed-Won", "Closed-Lost")]
    sku = next(
        sku
        for b in boxes
        for sku in items_asked(b["fieldsByName"]["Products"])
        if stock_of(sage100_sandbox, sku)
        and sum(sku in items_asked(o["fieldsByName"]["Products"]) for o in boxes) >= 3
    )
    closing, deleted, kept = [
        b for b in boxes if sku in items_asked(b["fieldsByName"]["Products"])
    ][:3]
    poll_now(pair, FLOW)
    warehouse = next(iter(stock_of(sage100_sandbox, sku)))
    set_stock_in_sage(sage100_sandbox, sku, warehouse, 1)
    poll_now(pair, FLOW)
    written = {
        b["key"]: crm.get("Box", b["key"])["fieldsByName"]["Sage Stock"] for b in (closing, kept)
    }
    assert all(f"{sku}: " in shown for shown in written.values())

    crm.write_back(closing["key"], {}, "Closed-Lost")
    crm.client.delete(f"/v1/boxes/{deleted['key']}")
    time.sleep(1.1)
    set_stock_in_sage(sage100_sandbox, sku, warehouse, 2)
    poll_now(pair, FLOW)

    run = SyncRun.objects.filter(pair=pair).order_by("pk").last()
    assert run is not None and run.status == SyncRun.Status.SUCCEEDED, run and run.error_message
    assert crm.get("Box", closing["key"])["fieldsByName"]["Sage Stock"] == written[closing["key"]]
    assert crm.get("Box", kept["key"])["fieldsByName"]["Sage Stock"] != written[kept["key"]]
    assert "1 deleted deal(s) forgotten" in run.summary

    time.sleep(1.1)
    set_stock_in_sage(sage100_sandbox, sku, warehouse, 3)
    poll_now(pair, FLOW)
    run = SyncRun.objects.filter(pair=pair).order_by("pk").last()
    assert run.status == SyncRun.Status.SUCCEEDED and "forgotten" not in run.summary


def set_stock_in_sage_accounting(sandbox, item_code: str, quantity: int) -> None:
    """A stock count entered in Sage Accounting (a stock movement for the difference)."""
    reply = requests.post(
        f"{sandbox.url}/stock", data={"item_code": item_code, "quantity": quantity}, timeout=10
    )
    assert "error=" not in reply.url, reply.url


def test_a_sage_accounting_stock_change_reaches_the_streak_deal(
    make_pair, streak, sage50, sage_accounting_sandbox
):
    pair = make_pair(streak, sage50, FLOW)
    crm = connector_for(streak)
    box = next(
        b for b in crm.boxes("Proposal") if b["fieldsByName"]["Products"].startswith("WIDGET")
    )
    sku, asked, _ = (
        box["fieldsByName"]["Products"].splitlines()[0].replace(" @ ", " x ").split(" x ")
    )
    poll_now(pair, FLOW)

    time.sleep(1.1)
    set_stock_in_sage_accounting(sage_accounting_sandbox, sku, 3)
    poll_now(pair, FLOW)
    run = SyncRun.objects.filter(pair=pair).order_by("pk").last()
    assert run is not None and run.status == SyncRun.Status.SUCCEEDED, run and run.error_message
    shown = crm.get("Box", box["key"])["fieldsByName"]["Sage Stock"]
    short = Decimal(asked) - 3
    expected = f"{sku.upper()}: 3 on hand, {asked} on this deal"
    assert expected in shown and (short <= 0 or f"(short {short})" in shown)
