"""Salespeople: the pair's "salespeople" table filled from the CRM's users and Sage 100's
AR_Salesperson (by email, then name), and a won deal's owner becoming the Sage 100 order's
SalespersonNo through it, against the Streak, Salesforce and Sage 100 sandboxes."""

import pytest
import requests
from django.urls import reverse

from connectors.services import connector_for
from flows.models import SyncRun
from mappings.models import LookupTable
from mappings.salespeople import SALESPEOPLE_TABLE, fill_salespeople
from tests import won_deals as shared
from tests.won_deals import STREAK_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
DEAL = "SAL-1005"
PRIYA, SOFIA = "priya.raman@claritydemo.com", "sofia.lindqvist@claritydemo.com"


def assign(sandbox, key: str, email: str) -> None:
    """Make `email` the box's only assignee, as a Streak user would."""
    reply = requests.post(
        f"{sandbox.url}/api/v1/boxes/{key}",
        json={"assignedToSharingEntries": [{"email": email}]},
        auth=(STREAK_KEY, ""),
        timeout=5,
    )
    reply.raise_for_status()


def rows(table: LookupTable) -> dict[str, str]:
    return dict(table.entries.values_list("key", "value"))


def win_owned_by(client, streak_sandbox, pair, token, sage, email: str) -> tuple[SyncRun, dict]:
    """Win DEAL with `email` its owner: the run (succeeded) and the one Sage order it made."""
    assign(streak_sandbox, shared.seeded_box_key(DEAL), email)
    _, run = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    run.refresh_from_db()
    assert run.status == run.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, DEAL)
    return run, order


def customers_salesperson(sage, order: dict) -> str:
    return sage.get("customer", f"{order['ARDivisionNo']}-{order['CustomerNo']}")["SalespersonNo"]


def test_fill_matches_streak_users_by_email_then_name_and_lists_the_rest(sage100_pair):
    pair, _ = sage100_pair
    result = fill_salespeople(pair)
    assert rows(result.table) == {
        "alex.morgan@claritydemo.com": "0100",
        PRIYA: "0200",
        "daniel.okafor@claritydemo.com": "0400",  # another email in Sage: found by name
    }
    assert {m.user.email: m.how for m in result.matched}["daniel.okafor@claritydemo.com"] == (
        "same name"
    )
    assert [user.email for user in result.unmatched] == [SOFIA]
    assert "1 could not be matched" in result.summary()


def test_fill_again_updates_its_rows_and_keeps_a_row_typed_by_hand(sage100_pair):
    pair, _ = sage100_pair
    table = fill_salespeople(pair).table
    table.entries.filter(key=PRIYA).update(value="0300")
    table.entries.create(key=SOFIA, value="0300")
    again = fill_salespeople(pair)
    assert again.table.pk == table.pk
    assert rows(table)[PRIYA] == "0200"
    assert rows(table)[SOFIA] == "0300"
    assert again.kept == {SOFIA: "0300"}


def test_salesforce_users_match_by_email(salesforce, sage100):
    pair = shared.make_pair("Salesforce Sage 100", salesforce, sage100, "deal_won_to_sales_order")[
        0
    ]
    result = fill_salespeople(pair)
    dana = next(m for m in result.matched if m.salesperson.key == "0300")
    assert dana.how == "same email"
    assert dana.user.key.startswith("005")  # a User Id, as Opportunity.OwnerId names it
    assert rows(result.table) == {dana.user.key: "0300"}
    assert "Marcus Oyelaran" in {user.name for user in result.unmatched}


def test_a_won_deal_owned_by_a_matched_user_makes_an_order_with_their_salesperson(
    client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.without_anomaly_checks(pair)
    fill_salespeople(pair)
    _, order = win_owned_by(client, streak_sandbox, pair, token, sage, PRIYA)
    assert order["SalespersonNo"] == "0200"


def test_the_api_fills_and_answers_matched_and_unmatched(client, users, sage100_pair):
    pair, _ = sage100_pair
    client.force_login(users["admin"])
    reply = client.post(
        "/api/v1/lookup-tables/fill-salespeople/", {"pair": pair.slug}, "application/json"
    )
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert [user["email"] for user in body["unmatched"]] == [SOFIA]
    assert LookupTable.objects.get(pk=body["table"]).entries.count() == 3


def test_an_operator_cannot_fill(client, users, sage100_pair):
    pair, _ = sage100_pair
    client.force_login(users["viewer"])
    reply = client.post(reverse("lookup-fill-salespeople", args=[pair.pk]))
    assert reply.status_code == 403
    assert not LookupTable.objects.get(pair=pair, name=SALESPEOPLE_TABLE).entries.exists()


def test_the_crm_connector_lists_users(streak_sandbox, sage100_pair):
    users = connector_for(sage100_pair[0].crm).users()
    assert SOFIA in {user.key for user in users}


def test_before_anyone_fills_a_won_deal_with_an_owner_still_makes_its_order(
    client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.without_anomaly_checks(pair)
    table = LookupTable.objects.get(pair=pair, name=SALESPEOPLE_TABLE)  # shipped empty
    assert table.entries.count() == 0
    _, order = win_owned_by(client, streak_sandbox, pair, token, sage, PRIYA)
    assert order["SalespersonNo"] == customers_salesperson(sage, order)


def test_an_owner_not_in_the_table_keeps_the_customers_salesperson_and_warns_on_the_run(
    client, users, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.without_anomaly_checks(pair)
    fill_salespeople(pair)  # Sofia has no salesperson in Sage: she stays out of the table
    run, order = win_owned_by(client, streak_sandbox, pair, token, sage, SOFIA)
    assert order["SalespersonNo"] == customers_salesperson(sage, order)  # the customer's own
    output = run.steps.get(name="sales_order").output
    [warning] = [w for w in output["warnings"] if w["field"] == "SalespersonNo"]
    assert f"“{SOFIA}” is not in lookup table “salespeople”" in warning["message"]
    client.force_login(users["viewer"])
    page = client.get(run.get_absolute_url()).content.decode()
    assert "is not in lookup table" in page
