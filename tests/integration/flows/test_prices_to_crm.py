"""Sage 100 prices in Salesforce price books, against the live sandboxes: the initial load puts
every item's price in the standard price book (the standard price, or the price level the
pair chose), and a price changed on the Sage 100 prices page reaches its price book entry at
the next poll of `prices_to_crm`; a product Salesforce has already is updated, never made
twice."""

import sqlite3
from datetime import datetime
from decimal import Decimal

import pytest
import requests

from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.models import FlowConfig, SyncRun
from flows.services import start_initial_load
from sandbox.catalogue import PRODUCTS, SAGE100_INACTIVE_CODES, SAGE100_ONLY_PRODUCTS
from sandbox.sage100.rules import decimal_hours
from tests.integration.flows.polling import poll_now, sage100_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "prices_to_crm"
WIDGET = next(
    p for p in PRODUCTS if p.category == "widget" and p.code not in SAGE100_INACTIVE_CODES
)
KIT_CODES = [p.code for p in PRODUCTS if p.category == "kit"]
STANDARD_USD = (
    "SELECT Id, Product2Id, Product2.ProductCode, UnitPrice, IsActive FROM PricebookEntry "
    "WHERE Pricebook2.IsStandard = true AND CurrencyIsoCode = 'USD'"
)


def set_price_in_sage(sandbox, item_code: str, price: str, level: str = "") -> None:
    """Key a price in on the Sage 100 prices page, as a Sage user does in Item Maintenance."""
    reply = requests.post(
        f"{sandbox.url}/prices",
        data={"ItemCode": item_code, "PriceLevel": level, "Price": price},
        timeout=10,
    )
    assert "error=" not in reply.url, reply.url


def list_prices(salesforce) -> dict[str, Decimal]:
    """What a salesperson adding a product to a USD deal is offered: each code's list price."""
    rows = connector_for(salesforce).query(STANDARD_USD)
    return {row["Product2"]["ProductCode"]: Decimal(str(row["UnitPrice"])) for row in rows}


def products_coded(salesforce, code: str) -> list[dict]:
    return list(connector_for(salesforce).search("Product2", ProductCode=code))


def standard_prices(sandbox) -> dict[str, Decimal]:
    rows = sage100_rows(sandbox, "SELECT ItemCode, StandardUnitPrice FROM CI_Item")
    return {row["ItemCode"]: Decimal(str(row["StandardUnitPrice"])).quantize(Decimal("0.01"))
            for row in rows}  # fmt: skip


def level_option(pair: IntegrationPair, flow: str, level: str) -> None:
    """The pair's choice on the flow's form: which Sage price level is the list price."""
    config, _ = FlowConfig.objects.get_or_create(pair=pair, flow=flow)
    config.options = {**config.options, "list_price_level": level}
    config.save()


@pytest.fixture
def pair(salesforce, sage100) -> IntegrationPair:
    return IntegrationPair.objects.create(name="Salesforce Sage 100", crm=salesforce, erp=sage100)


def test_the_initial_load_puts_sage_prices_in_the_standard_price_book(
    pair, salesforce, sage100_sandbox
):
    set_price_in_sage(sage100_sandbox, WIDGET.code, "123.45")
    eur_before = connector_for(salesforce).query(
        "SELECT Id, UnitPrice FROM PricebookEntry WHERE CurrencyIsoCode = 'EUR'"
    )

    run = start_initial_load(pair)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    sage = standard_prices(sage100_sandbox)
    shown = list_prices(salesforce)
    assert {code: shown.get(code) for code in sage} == sage
    assert shown[WIDGET.code] == Decimal("123.45")
    assert len(products_coded(salesforce, WIDGET.code)) == 1  # updated, not made again
    part = SAGE100_ONLY_PRODUCTS[0]  # no CRM sold it: now a product with its price
    [product] = products_coded(salesforce, part.code)
    assert product["Name"] == part.name and shown[part.code] == sage[part.code]
    rows = connector_for(salesforce).query(STANDARD_USD)
    inactive = {r["Product2"]["ProductCode"]: r["IsActive"] for r in rows}
    assert all(not inactive[code] for code in SAGE100_INACTIVE_CODES)
    assert all(inactive[code] for code in sage if code not in SAGE100_INACTIVE_CODES)
    eur_after = connector_for(salesforce).query(
        "SELECT Id, UnitPrice FROM PricebookEntry WHERE CurrencyIsoCode = 'EUR'"
    )
    assert sorted(map(str, eur_after)) == sorted(map(str, eur_before))  # other currencies kept

    again = start_initial_load(pair)  # everything already holds Sage's prices

    again.refresh_from_db()
    assert again.status == SyncRun.Status.SUCCEEDED, again.error_message
    assert list_prices(salesforce) == shown
    assert len(products_coded(salesforce, part.code)) == 1


def test_the_initial_load_lists_the_price_level_the_pair_chose(pair, salesforce, sage100_sandbox):
    level_option(pair, "initial_load", "2")

    run = start_initial_load(pair)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    shown, sage = list_prices(salesforce), standard_prices(sage100_sandbox)
    wholesale = (sage[WIDGET.code] * Decimal("0.85")).quantize(Decimal("0.01"))
    assert shown[WIDGET.code] == wholesale  # the widget's own level-2 price
    kit = KIT_CODES[0]  # kits: their price code's level 2, 8 % off the standard price
    assert shown[kit] == (sage[kit] * Decimal("0.92")).quantize(Decimal("0.01"))
    assert shown["SERV-HOUR"] == sage["SERV-HOUR"]  # no level-2 price: the standard price


def test_a_price_level_sage_lacks_stops_the_load_naming_the_levels_it_has(pair, salesforce):
    level_option(pair, "initial_load", "9")

    run = start_initial_load(pair)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert "Sage 100 has no price level “9” (its levels: 1, 2, 3)" in run.error_message


def test_a_price_changed_in_sage_reaches_its_price_book_entry_after_a_poll(
    make_pair, salesforce, sage100, sage100_sandbox
):
    pair = make_pair(salesforce, sage100, FLOW)
    [entry] = [r for r in connector_for(salesforce).query(STANDARD_USD)
               if r["Product2"]["ProductCode"] == WIDGET.code]  # fmt: skip
    poll_now(pair, FLOW)  # the seed's prices are old: nothing to tell

    set_price_in_sage(sage100_sandbox, WIDGET.code, "77.70")
    poll_now(pair, FLOW)

    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.entity_key == f"item:{WIDGET.code}"
    assert run.summary == f"{WIDGET.code}: 77.70 USD (standard price) on its Salesforce product."
    [after] = [r for r in connector_for(salesforce).query(STANDARD_USD)
               if r["Product2"]["ProductCode"] == WIDGET.code]  # fmt: skip
    assert (after["Id"], after["UnitPrice"]) == (entry["Id"], 77.7)  # the same entry, repriced
    assert len(products_coded(salesforce, WIDGET.code)) == 1


def test_a_price_level_changed_in_sage_reaches_the_entry_when_it_is_the_list_price(
    make_pair, salesforce, sage100, sage100_sandbox
):
    pair = make_pair(salesforce, sage100, FLOW, list_price_level="3")
    poll_now(pair, FLOW)

    set_price_in_sage(sage100_sandbox, WIDGET.code, "50.10", level="3")
    set_price_in_sage(sage100_sandbox, WIDGET.code, "1.00")  # the standard price: not listed
    poll_now(pair, FLOW)

    runs = SyncRun.objects.filter(pair=pair)
    assert runs and all(run.status == SyncRun.Status.SUCCEEDED for run in runs)
    assert list_prices(salesforce)[WIDGET.code] == Decimal("50.10")


def test_a_price_code_change_reprices_every_item_that_carries_it(
    make_pair, salesforce, sage100, sage100_sandbox
):
    """Price Code Maintenance in Sage: kits share price code KIT, whose level 2 becomes 20 %
    off; every kit's list price follows, and no other entry is written."""
    pair = make_pair(salesforce, sage100, FLOW, list_price_level="2")
    level_option(pair, "initial_load", "2")
    start_initial_load(pair)  # every list price at level 2 already
    stamps = {r["Id"]: r["SystemModstamp"] for r in connector_for(salesforce).query(
        "SELECT Id, SystemModstamp FROM PricebookEntry")}  # fmt: skip
    poll_now(pair, FLOW)
    now = datetime.now()
    with sqlite3.connect(sage100_sandbox.app.db_path) as sage_db:
        sage_db.execute(
            "UPDATE IM_PriceCode SET DiscountMarkup1 = 20, DateUpdated = ?, TimeUpdated = ? "
            "WHERE PriceCodeRecord = '0' AND PriceCode = 'KIT' AND CustomerPriceLevel = '2'",
            (now.date().isoformat(), decimal_hours(now)),
        )

    poll_now(pair, FLOW)

    run = SyncRun.objects.get(pair=pair, flow_config__flow=FLOW)
    assert run.entity_key == "item:price code KIT"
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert "only prices that differed were written" in run.summary
    shown, sage = list_prices(salesforce), standard_prices(sage100_sandbox)
    for kit in KIT_CODES:
        assert shown[kit] == (sage[kit] * Decimal("0.80")).quantize(Decimal("0.01"))
    rows = connector_for(salesforce).query(STANDARD_USD.replace("IsActive", "SystemModstamp"))
    written = {r["Product2"]["ProductCode"] for r in rows if r["SystemModstamp"] != stamps[r["Id"]]}
    assert written == set(KIT_CODES)
