"""Won deals → Sage 100 customer and sales order, end to end: the Streak and Salesforce
sandboxes deliver to our webhook endpoint, runs execute inline (django-q2 sync mode), and
the result is read back from Sage 100 over ODBC and from the CRM over its API.

The helpers at the top are shared with the other test modules of this folder."""

import json
from decimal import Decimal

import pytest
import requests

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig, InboundEvent, SyncRun
from flows.services import retry_run
from flows.steps.items import PRODUCT_TO_SAGE100_ITEM
from mappings.models import CurrencyRate
from mappings.versions import import_table
from sandbox.sage100.app import BRIDGE_KEY
from sandbox.streak import data as streak_data
from sandbox.streak.seed import seed_documents

pytestmark = pytest.mark.django_db
STREAK_KEY = "sandbox-streak-key"
CLOSED_WON, PROPOSAL = streak_data.CLOSED_WON, "5003"


# ---------------------------------------------------------------- shared helpers


@pytest.fixture(autouse=True)
def runs_inline(monkeypatch) -> None:
    """async_task runs execute_run at once, in this process."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)


def seeded_box_key(deal_id: str) -> str:
    """The key of the seeded box with this Deal ID (e.g. SAL-1005)."""
    for box in seed_documents()["boxes"]:
        if box["fields"][streak_data.FIELD_DEAL_ID] == deal_id:
            return box["key"]
    raise LookupError(deal_id)


def streak_connection(sandbox, pipeline: dict = streak_data.SALES) -> Connection:
    return Connection.objects.create(
        name=f"Streak {pipeline['name']}",
        system="streak",
        settings={"base_url": sandbox.url, "pipeline_key": pipeline["key"],
                  "requests_per_second": 500},
        secrets={"api_key": STREAK_KEY},
    )  # fmt: skip


def sage100_connection(sandbox) -> Connection:
    return Connection.objects.create(
        name="Sage 100",
        system="sage100",
        settings={"odbc_connection_string": sandbox.app.odbc_connection_string,
                  "odbc_dialect": "sqlite", "company_code": "ABC", "bridge_url": sandbox.url},
        secrets={"bridge_key": BRIDGE_KEY},
    )  # fmt: skip


def make_pair(name: str, crm: Connection, erp: Connection, flow: str) -> tuple:
    """A pair with `flow` switched on, and its webhook token."""
    pair = IntegrationPair(name=name, crm=crm, erp=erp)
    token = pair.rotate_webhook_token()
    pair.save()
    FlowConfig.objects.filter(pair=pair, flow=flow).update(enabled=True)
    return pair, token


def raw_box(sandbox, key: str) -> dict:
    reply = requests.get(f"{sandbox.url}/api/v1/boxes/{key}", auth=(STREAK_KEY, ""), timeout=5)
    reply.raise_for_status()
    return reply.json()


def move_box(sandbox, key: str, stage_key: str) -> dict:
    """Move the box as a Streak user would; returns the box Streak's webhook carries."""
    reply = requests.post(
        f"{sandbox.url}/api/v1/boxes/{key}",
        json={"stageKey": stage_key},
        auth=(STREAK_KEY, ""),
        timeout=5,
    )
    reply.raise_for_status()
    return raw_box(sandbox, key)


def deliver_streak(client, pair: IntegrationPair, token: str, box: dict,
                   event: str = "BOX_CHANGE_STAGE"):  # fmt: skip
    """POST what Streak's webhook sends: a JSON array of the box, event named in the URL."""
    return client.post(
        f"/hooks/{pair.slug}/{token}/?event={event}",
        data=json.dumps([box]),
        content_type="application/json",
    )


def win_box(client, streak_sandbox, pair, token, deal_id: str) -> tuple[str, SyncRun]:
    """Move the seeded deal to Closed-Won and deliver the webhook; returns its key and run."""
    key = seeded_box_key(deal_id)
    move_box(streak_sandbox, key, "5001")
    reply = deliver_streak(client, pair, token, move_box(streak_sandbox, key, CLOSED_WON))
    assert reply.status_code == 200, reply.content
    return key, SyncRun.objects.get(pair=pair, entity_key=key)


def set_faults(sandbox, **knobs) -> None:
    requests.post(f"{sandbox.url}/_control/faults", json=knobs, timeout=5).raise_for_status()


def products(box: dict) -> list[tuple[str, Decimal, Decimal]]:
    """The box's Products lines as (code, quantity, price)."""
    lines = []
    for text in box["fieldsByName"]["Products"].splitlines():
        code, _, rest = text.partition(" x ")
        quantity, _, price = rest.partition(" @ ")
        lines.append((code.strip(), Decimal(quantity), Decimal(price)))
    return lines


def customers_named(sage, name: str) -> list[dict]:
    """Every Sage 100 customer with this exact name (read in full: SQLite's UPPER, which the
    connector's search uses, leaves letters such as è as they are)."""
    return [row for row in sage.stream("customer") if row["CustomerName"] == name]


def orders_for(sage, deal_id: str) -> list[dict]:
    return sage.search("sales_order", UDF_DEAL_ID=deal_id)


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def sage100_pair(streak_sandbox, sage100_sandbox):
    crm = streak_connection(streak_sandbox)
    erp = sage100_connection(sage100_sandbox)
    return make_pair("Streak Sage 100", crm, erp, "deal_won_to_sales_order")


@pytest.fixture
def streak(sage100_pair):
    return connector_for(sage100_pair[0].crm)


@pytest.fixture
def sage(sage100_pair):
    return connector_for(sage100_pair[0].erp)


# ---------------------------------------------------------------- Streak → Sage 100


def test_a_box_won_in_streak_becomes_one_customer_and_order_with_its_number_on_the_box(
    client, streak_sandbox, sage100_pair, streak, sage
):
    pair, token = sage100_pair
    key, run = win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    box = streak.get("Box", key)
    [order] = orders_for(sage, "SAL-1005")
    number = order["SalesOrderNo"]
    assert box["fieldsByName"]["Sage Order No"] == number
    assert [(line["ItemCode"], line["QuantityOrdered"], line["UnitPrice"])
            for line in order["lines"]] == products(box)  # fmt: skip
    assert sum(line["ExtensionAmt"] for line in order["lines"]) == Decimal("988.81")
    organization = streak.get("Organization", box["organizations"][0]["key"])
    [customer] = customers_named(sage, organization["name"][:30])
    assert (order["ARDivisionNo"], order["CustomerNo"]) == (
        customer["ARDivisionNo"], customer["CustomerNo"]
    )  # fmt: skip
    comments = [c["message"] for c in streak.search("Comment", box_key=key)]
    assert any(f"Sage 100 sales order {number} created" in message for message in comments)
    assert run.references == {
        "sage_customer": f"{customer['ARDivisionNo']}-{customer['CustomerNo']}",
        "sage_order_no": number,
    }
    assert run.summary.startswith(organization["name"]) and "988.81 USD" in run.summary


def test_the_same_webhook_delivered_five_times_makes_one_order(
    client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    key = seeded_box_key("SAL-1029")
    box = move_box(streak_sandbox, key, CLOSED_WON)
    for _ in range(5):
        assert deliver_streak(client, pair, token, box).status_code == 200
    assert InboundEvent.objects.filter(pair=pair).count() == 1
    assert SyncRun.objects.get(pair=pair).status == SyncRun.Status.SUCCEEDED
    assert len(orders_for(sage, "SAL-1029")) == 1


def test_a_box_moved_to_another_stage_starts_no_run_once_the_stage_is_known(
    client, streak_sandbox, sage100_pair, streak, sage
):
    pair, token = sage100_pair
    first = seeded_box_key("SAL-1003")
    deliver_streak(client, pair, token, move_box(streak_sandbox, first, PROPOSAL))
    run = SyncRun.objects.get(pair=pair, entity_key=first)  # resolves the trigger stage
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.summary == "The deal is in Proposal, not Closed-Won: nothing was written."
    assert not orders_for(sage, "SAL-1003")
    assert not streak.get("Box", first)["fieldsByName"].get("Sage Order No")
    second = seeded_box_key("SAL-1014")
    deliver_streak(client, pair, token, move_box(streak_sandbox, second, PROPOSAL))
    assert not SyncRun.objects.filter(entity_key=second).exists()
    assert InboundEvent.objects.get(entity_key=second).status == InboundEvent.Status.IGNORED


def test_a_webhook_for_a_deal_no_longer_won_writes_nothing(
    client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    key = seeded_box_key("SAL-1024")
    won = move_box(streak_sandbox, key, CLOSED_WON)
    move_box(streak_sandbox, key, PROPOSAL)  # changed back before the run read it
    deliver_streak(client, pair, token, won)
    run = SyncRun.objects.get(pair=pair, entity_key=key)
    assert run.status == SyncRun.Status.SUCCEEDED and "nothing was written" in run.summary
    assert not orders_for(sage, "SAL-1024")


def test_an_unknown_item_fails_with_the_fix_and_a_retry_after_fixing_the_lookup_succeeds(
    client, streak_sandbox, sage100_pair, streak, sage
):
    pair, token = sage100_pair
    CurrencyRate.objects.create(
        pair=pair, from_currency="EUR", to_currency="USD", rate="1.08", as_of="2024-01-01"
    )
    key, run = win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.error_message == (
        "Item WIDGET-999 is not in Sage 100: add it to the product lookup table or create "
        "the item, then retry"
    )
    assert not orders_for(sage, "SAL-1008")
    import_table(pair, {"name": PRODUCT_TO_SAGE100_ITEM, "entries": {"WIDGET-999": "WIDGET-100"}})
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = orders_for(sage, "SAL-1008")
    assert "WIDGET-100" in [line["ItemCode"] for line in order["lines"]]
    customer = sage.get("customer", run.references["sage_customer"])
    assert len(customers_named(sage, customer["CustomerName"])) == 1
    assert ExternalLink.objects.filter(pair=pair, entity="customer").count() == 1
    assert streak.get("Box", key)["fieldsByName"]["Sage Order No"] == order["SalesOrderNo"]


def test_skip_line_policy_leaves_the_unknown_item_out_and_says_so(
    client, streak_sandbox, sage100_pair, streak, sage
):
    pair, token = sage100_pair
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    config.options = {"unknown_item_policy": "skip_line"}
    config.save()
    CurrencyRate.objects.create(
        pair=pair, from_currency="EUR", to_currency="USD", rate="1.08", as_of="2024-01-01"
    )
    key, run = win_box(client, streak_sandbox, pair, token, "SAL-1008")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = orders_for(sage, "SAL-1008")
    assert "WIDGET-999" not in [line["ItemCode"] for line in order["lines"]]
    comments = [c["message"] for c in streak.search("Comment", box_key=key)]
    assert any("Left out, not in Sage 100: WIDGET-999." in message for message in comments)


def test_a_bridge_that_commits_then_fails_still_ends_with_exactly_one_order(
    client, streak_sandbox, sage100_sandbox, sage100_pair, streak, sage
):
    pair, token = sage100_pair
    set_faults(sage100_sandbox, commit_then_fail_rate=1.0)
    key, run = win_box(client, streak_sandbox, pair, token, "SAL-1013")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED  # the customer was made, reply lost
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED  # the order was made, reply lost
    assert len(orders_for(sage, "SAL-1013")) == 1
    set_faults(sage100_sandbox)
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = orders_for(sage, "SAL-1013")
    assert streak.get("Box", key)["fieldsByName"]["Sage Order No"] == order["SalesOrderNo"]
    customer = sage.get("customer", run.references["sage_customer"])
    assert len(customers_named(sage, customer["CustomerName"])) == 1


# ---------------------------------------------------------------- Salesforce → Sage 100


@pytest.fixture
def salesforce_pair(salesforce_sandbox, sage100_sandbox):
    crm = Connection.objects.create(
        name="Salesforce",
        system="salesforce",
        settings={"login_url": salesforce_sandbox.url, "auth_flow": "client_credentials",
                  "client_id": "sandbox-client", "api_version": "59.0",
                  "ca_bundle": str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem")},
        secrets={"client_secret": "sandbox-secret"},
    )  # fmt: skip
    erp = sage100_connection(sage100_sandbox)
    return make_pair("Salesforce Sage 100", crm, erp, "deal_won_to_sales_order")


def open_usd_opportunity(salesforce) -> dict:
    """An open USD opportunity under the approval threshold selling items Sage 100 has."""
    soql = (
        "SELECT Id, Amount, ExternalID__c, (SELECT ProductCode FROM OpportunityLineItems) "
        "FROM Opportunity WHERE IsClosed = false AND CurrencyIsoCode = 'USD' AND Amount < 10000"
    )
    for opportunity in salesforce.query(soql):
        codes = [line["ProductCode"] for line in opportunity["OpportunityLineItems"]["records"]]
        if codes and not {"WIDGET-140", "GADGET-229", "WIDGET-999", "GADGET-998"} & set(codes):
            return opportunity
    raise LookupError("no suitable opportunity in the seed")


def test_an_opportunity_closed_won_in_salesforce_becomes_an_order_with_its_number_written_back(
    client, salesforce_sandbox, salesforce_pair
):
    pair, token = salesforce_pair
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    opportunity = open_usd_opportunity(salesforce)
    salesforce.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "test-won")
    outbound = salesforce_sandbox.app.outbound
    [message] = [m for m in outbound.messages() if m["opportunity_id"] == opportunity["Id"]]
    body = outbound.envelope(message["id"], salesforce_sandbox.app.opportunity(opportunity["Id"]))
    for _ in range(2):  # Salesforce resends until it sees our Ack
        reply = client.post(f"/hooks/{pair.slug}/{token}/", data=body, content_type="text/xml")
        assert reply.status_code == 200 and b"<Ack>true</Ack>" in reply.content
    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    deal_id = opportunity["ExternalID__c"] or opportunity["Id"]
    [order] = orders_for(sage, deal_id)
    written = salesforce.get("Opportunity", opportunity["Id"])
    assert written["Sage_Order_No__c"] == order["SalesOrderNo"]
    assert f"Sage 100 sales order {order['SalesOrderNo']} created" in written["Description"]
    assert sum(line["ExtensionAmt"] for line in order["lines"]) == Decimal(
        str(opportunity["Amount"])
    )
    customer = sage.get("customer", run.references["sage_customer"])
    assert customer["UDF_CRM_ID"] == written["AccountId"]
