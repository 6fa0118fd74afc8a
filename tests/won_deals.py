"""Won-deal helpers shared by the integration, contract, e2e and reliability tests: connections to
the live sandboxes, pairs, and what a Streak user or webhook does. The fixtures built on them
are in tests/conftest.py and tests/integration/flows/conftest.py."""

import json
import time
from collections import Counter
from contextlib import closing
from datetime import timedelta
from decimal import Decimal

import pyodbc
import requests
from django.utils import timezone

from connectors.models import Connection, IntegrationPair
from flows.models import FlowConfig, SyncRun
from mappings.models import CurrencyRate
from sandbox.sage100.app import BRIDGE_KEY
from sandbox.streak import data as streak_data
from sandbox.streak.seed import seed_documents

STREAK_KEY = "sandbox-streak-key"
CLOSED_WON = streak_data.CLOSED_WON


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


def sage50_connection(sandbox) -> Connection:
    """A Sage Accounting connection holding fresh tokens from the sandbox's control API."""
    tokens = requests.post(f"{sandbox.url}/_control/oauth/tokens", timeout=5).json()
    return Connection.objects.create(
        name="Sage Accounting",
        system="sage50",
        settings={"api_url": f"{sandbox.url}/v3.1", "auth_url": f"{sandbox.url}/oauth/authorize",
                  "token_url": f"{sandbox.url}/oauth/token", "client_id": "sandbox-client"},
        secrets={"client_secret": "sandbox-secret", "access_token": tokens["access_token"],
                 "refresh_token": tokens["refresh_token"]},
    )  # fmt: skip


def make_pair(name: str, crm: Connection, erp: Connection, flow: str) -> tuple:
    """A pair with `flow` switched on, and its webhook token."""
    pair = IntegrationPair(name=name, crm=crm, erp=erp)
    token = pair.rotate_webhook_token()
    pair.save()
    FlowConfig.objects.filter(pair=pair, flow=flow).update(enabled=True)
    return pair, token


def without_anomaly_checks(pair: IntegrationPair) -> None:
    """Switch the anomaly checks off for a pair whose test wins copies of one deal on purpose
    (the checks would rightly hold the copies as second orders)."""
    for config in FlowConfig.objects.filter(pair=pair):
        config.options = {**(config.options or {}), "anomaly_checks": False}
        config.save(update_fields=["options"])


def salesforce_reading_aged(connection: Connection, minutes: int) -> None:
    """The connection's last Salesforce API usage reading as it is `minutes` later: time
    passing (a spent allocation is looked at again after 10 minutes), without the wait."""
    connection.refresh_from_db()
    usage = connection.settings["api_usage"]
    usage["at"] = (timezone.now() - timedelta(minutes=minutes)).isoformat()
    connection.save()


def eur_rate(pair: IntegrationPair) -> None:
    """The pair's EUR → USD rate, so EUR deals convert for the approval rule."""
    CurrencyRate.objects.create(
        pair=pair, from_currency="EUR", to_currency="USD", rate="1.08", as_of="2024-01-01"
    )


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


def won_clone(streak_sandbox, template_deal_id: str, deal_id: str) -> dict:
    """A new box in Closed-Won copied from a seeded deal, with its own key and Deal ID;
    returns the box as Streak's webhook carries it."""
    app = streak_sandbox.app
    box = dict(app.store.get("boxes", seeded_box_key(template_deal_id)))
    key = app.records.next_key("Box")
    moment = int(time.time() * 1000)
    box.update(
        key=key, boxKey=key, stageKey=streak_data.CLOSED_WON, lastUpdatedTimestamp=moment,
        lastStageChangeTimestamp=moment,
        fields={**box["fields"], streak_data.FIELD_DEAL_ID: deal_id},
    )  # fmt: skip
    app.store.put("boxes", key, box)
    return raw_box(streak_sandbox, key)


def won_twice_as_big(streak_sandbox, template_deal_id: str, deal_id: str) -> dict:
    """Like `won_clone`, with every quantity and the amount doubled: another order of the same
    customer, not a repeat the anomaly checks would hold."""
    box = won_clone(streak_sandbox, template_deal_id, deal_id)
    app = streak_sandbox.app
    stored = app.store.get("boxes", box["key"])
    fields = stored["fields"]
    doubled = []
    for text in fields[streak_data.FIELD_PRODUCTS].splitlines():
        code, _, rest = text.partition(" x ")
        quantity, _, price = rest.partition(" @ ")
        doubled.append(f"{code} x {Decimal(quantity) * 2} @ {price}")
    fields[streak_data.FIELD_PRODUCTS] = "\n".join(doubled)
    fields[streak_data.FIELD_AMOUNT] = f"{Decimal(fields[streak_data.FIELD_AMOUNT]) * 2:.2f}"
    app.store.put("boxes", box["key"], stored)
    return raw_box(streak_sandbox, box["key"])


def deliver_streak(client, pair: IntegrationPair, token: str, box: dict,
                   event: str = "BOX_CHANGE_STAGE"):  # fmt: skip
    """POST what Streak's webhook sends: a JSON array of the box, event named in the URL."""
    return client.post(
        f"/hooks/{pair.slug}/{token}/?event={event}",
        data=json.dumps([box]),
        content_type="application/json",
    )


def succeeded(run: SyncRun) -> SyncRun:
    """The run as it is now, asserted to have succeeded (its error shown when not)."""
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return run


def won_and_done(client, pair: IntegrationPair, token: str, box: dict) -> SyncRun:
    """Deliver the won box (runs inline) and return its run, asserted to have succeeded."""
    assert deliver_streak(client, pair, token, box).status_code == 200
    return succeeded(SyncRun.objects.get(pair=pair, entity_key=box["key"]))


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


def sage50desktop_rows(sandbox, sql: str, *params) -> list[dict]:
    """What the Sage 50 company holds, read as a report writer reads it: over ODBC (unixODBC
    and the SQLite3 driver) with Sage 50's table names. DECIMAL columns come back as text."""
    with closing(pyodbc.connect(sandbox.app.odbc_connection_string)) as odbc:
        cursor = odbc.execute(sql, *params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def sage50desktop_documents(sandbox, journal: int, deal_id: str) -> list[dict]:
    """The Sage 50 sales invoices (journal 3) or sales orders (journal 11) naming the deal in
    their InternalNote, with their customer and item lines (JrnlRow RowType 0) as
    (ItemID, quantity, unit price, amount, GL AccountID); Sage stores a sales line as a
    credit, so its Amount is negated here to read as on the invoice."""
    documents = sage50desktop_rows(
        sandbox,
        "SELECT h.PostOrder, h.Reference, h.MainAmount, c.CustomerID, c.Customer_Bill_Name, "
        "c.CustomField5 FROM JrnlHdr h JOIN Customers c ON c.CustomerRecordNumber = h.CustVendId "
        "WHERE h.JrnlKey_Journal = ? AND h.InternalNote = ? ORDER BY h.PostOrder",
        journal,
        deal_id,
    )
    for document in documents:
        document["MainAmount"] = Decimal(document["MainAmount"])
        rows = sage50desktop_rows(
            sandbox,
            "SELECT i.ItemID, r.Quantity, r.UnitCost, r.Amount, g.AccountID FROM JrnlRow r "
            "LEFT JOIN LineItem i ON i.ItemRecordNumber = r.ItemRecordNumber "
            "LEFT JOIN Chart g ON g.GLAcntNumber = r.GLAcntNumber "
            "WHERE r.PostOrder = ? AND r.RowType = 0 ORDER BY r.RowNumber",
            document["PostOrder"],
        )
        document["lines"] = [
            (row["ItemID"], Decimal(row["Quantity"]), Decimal(row["UnitCost"]),
             -Decimal(row["Amount"]), row["AccountID"])
            for row in rows
        ]  # fmt: skip
    return documents


def count_api_calls(monkeypatch, sandboxes, path_parts: int = 5) -> Counter:
    """A counter of every API request the `sandboxes` answer from now on, by sandbox, method
    and path shape (the first `path_parts` parts, ids left out), so a test can say how
    many calls a run costs."""
    counted: Counter = Counter()
    for running in sandboxes:
        app, dispatch = running.app, running.app.dispatch

        def counting(request, app=app, dispatch=dispatch, name=running.name):
            if app.is_api(request.path):
                parts = request.path.split("/")[:path_parts]
                shape = "/".join(part for part in parts if len(part) < 20)
                counted[f"{name} {request.method} {shape}"] += 1
            return dispatch(request)

        monkeypatch.setattr(app, "dispatch", counting)
    return counted
