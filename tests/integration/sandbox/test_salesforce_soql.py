"""SOQL on the Salesforce sandbox as a Salesforce org answers it, through simple-salesforce:
parent paths several lookups deep, owners (User), nested child subqueries from API 58.0,
COUNT(), aggregate functions and GROUP BY with their expr0… names, and Salesforce's own error
bodies for what is wrong or outside the subset."""

from collections import Counter, defaultdict

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.services import connector_for
from sandbox.salesforce.data import SALES_REPS
from tests.integration.sandbox.salesforce_client import (
    client_credentials_token,
    connect,
    https_session,
)

REPS = {f"{first} {last}" for first, last in SALES_REPS}


def refused(sf: Salesforce, soql: str) -> dict:
    """The error Salesforce answers the query with: `{message, errorCode, fields}`."""
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query(soql)
    [error] = raised.value.content
    return error


def test_parent_fields_several_lookups_deep_nest_with_their_attributes(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    products = {p["Id"]: p for p in sf.query_all("SELECT Id, Name, ProductCode FROM Product2")[
        "records"]}  # fmt: skip

    rows = sf.query_all(
        "SELECT Id, Quantity, PricebookEntry.Product2.ProductCode, PricebookEntry.Product2.Name, "
        "PricebookEntry.UnitPrice, Product2Id FROM OrderItem "
        "WHERE PricebookEntry.Product2.ProductCode LIKE 'WIDGET%' "
        "ORDER BY PricebookEntry.Product2.ProductCode DESC"
    )["records"]

    assert rows
    codes = [row["PricebookEntry"]["Product2"]["ProductCode"] for row in rows]
    assert all(code.startswith("WIDGET") for code in codes)
    assert codes == sorted(codes, reverse=True)
    for row in rows:
        entry = row["PricebookEntry"]
        assert entry["attributes"]["type"] == "PricebookEntry" and entry["UnitPrice"] > 0
        product = entry["Product2"]
        assert product["attributes"]["type"] == "Product2"
        assert product["attributes"]["url"].endswith(f"/sobjects/Product2/{row['Product2Id']}")
        assert product["Name"] == products[row["Product2Id"]]["Name"]


def test_an_accounts_owner_is_a_user_read_through_the_account(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    owned = sf.query_all(
        "SELECT Name, Account.Name, Account.Owner.Name, Account.Owner.Email FROM Opportunity"
    )["records"]

    owners = {row["Account"]["Owner"]["Name"] for row in owned}
    assert owners == REPS  # the reps own every account
    assert all(
        row["Account"]["Owner"]["Email"].endswith("@clarity-sandbox.example") for row in owned
    )
    dana = sf.query_all(
        "SELECT Id FROM Opportunity WHERE Account.Owner.Name = 'Dana Whitfield'"
    )["records"]  # fmt: skip
    assert 0 < len(dana) == sum(row["Account"]["Owner"]["Name"] == "Dana Whitfield"
                                for row in owned)  # fmt: skip
    made = sf.Account.create({"Name": "Owned By The Api Ltd"})  # no OwnerId: the running user
    [mine] = sf.query(f"SELECT Owner.Name, Owner.Username FROM Account WHERE Id = '{made['id']}'")[
        "records"]  # fmt: skip
    assert mine["Owner"]["Name"] == "Integration User"
    assert {u["Name"] for u in sf.query("SELECT Name FROM User")["records"]} >= REPS


def test_a_missing_parent_is_null_and_what_lies_beyond_it_is_not_there(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    made = sf.Opportunity.create(
        {"Name": "No Account Yet", "StageName": "Prospecting", "CloseDate": "2030-01-31"}
    )

    [row] = sf.query(
        f"SELECT Name, Account.Name, Account.Owner.Name FROM Opportunity WHERE Id = '{made['id']}'"
    )["records"]

    assert row["Account"] is None
    assert sf.query("SELECT Id FROM Opportunity WHERE Account.Owner.Name = null")["totalSize"] == 1


@pytest.mark.django_db
def test_the_connector_reads_mapped_paths_through_owners_and_price_book_entries(salesforce):
    crm = connector_for(salesforce)
    [won] = crm.query("SELECT Id FROM Opportunity WHERE StageName = 'Closed Won' LIMIT 1")

    read = crm.read_deal(
        won["Id"],
        crm.won_stage,
        ["Account.Owner.Name", "OpportunityLineItems[].custom.PricebookEntry.Product2.ProductCode"],
    )

    assert read.record["Account"]["Owner"]["Name"] in REPS
    lines = read.record["OpportunityLineItems"]["records"]
    assert [line["PricebookEntry"]["Product2"]["ProductCode"] for line in lines] == [
        line["ProductCode"] for line in lines
    ]


def test_child_subqueries_nest_from_api_58(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    soql = (
        "SELECT Name, (SELECT Name, (SELECT ProductCode, Quantity FROM OpportunityLineItems) "
        "FROM Opportunities) FROM Account WHERE Name = 'Northwind Traders'"
    )

    [account] = sf.query(soql)["records"]

    deals = account["Opportunities"]["records"]
    assert deals and all(deal["OpportunityLineItems"]["records"] for deal in deals)
    older = Salesforce(
        instance_url=salesforce_sandbox.url,
        session_id=client_credentials_token(salesforce_sandbox),
        session=https_session(salesforce_sandbox),
        version="57.0",
    )
    error = refused(older, soql)
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith(
        "SOQL statements cannot query aggregate relationships more than 1 level away from the "
        "root entity object."
    )


def test_count_sum_and_the_unaliased_ones_named_expr0_and_expr1(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    won = sf.query_all("SELECT Amount FROM Opportunity WHERE StageName = 'Closed Won'")["records"]

    reply = sf.query(
        "SELECT COUNT(Id), SUM(Amount), MAX(Amount) biggest FROM Opportunity "
        "WHERE StageName = 'Closed Won'"
    )

    assert (reply["totalSize"], reply["done"]) == (1, True)
    [row] = reply["records"]
    assert row["attributes"] == {"type": "AggregateResult"}
    assert row["expr0"] == len(won)
    assert row["expr1"] == pytest.approx(sum(r["Amount"] for r in won))
    assert row["biggest"] == max(r["Amount"] for r in won)
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE StageName = 'Closed Won'")[
        "totalSize"] == len(won)  # fmt: skip
    [nothing] = sf.query("SELECT SUM(Amount), COUNT(Id) FROM Opportunity WHERE Name = 'none'")[
        "records"]  # fmt: skip
    assert (nothing["expr0"], nothing["expr1"]) == (None, 0)


def test_group_by_answers_one_row_per_group_in_the_order_asked(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    deals = sf.query_all("SELECT StageName, Amount FROM Opportunity")["records"]
    counts = Counter(deal["StageName"] for deal in deals)
    totals: defaultdict[str, float] = defaultdict(float)
    for deal in deals:
        totals[deal["StageName"]] += deal["Amount"] or 0

    rows = sf.query(
        "SELECT StageName, COUNT(Id) deals, SUM(Amount) FROM Opportunity "
        "GROUP BY StageName ORDER BY COUNT(Id) DESC, StageName"
    )["records"]

    assert {row["StageName"]: row["deals"] for row in rows} == counts
    assert all(row["expr0"] == pytest.approx(totals[row["StageName"]]) for row in rows)
    order = [(-row["deals"], row["StageName"].lower()) for row in rows]
    assert order == sorted(order)
    by_owner = sf.query(
        "SELECT Account.Owner.Name, COUNT(Id) FROM Opportunity GROUP BY Account.Owner.Name"
    )["records"]
    assert {row["Name"] for row in by_owner} == REPS  # a grouped parent field: its own name
    assert sum(row["expr0"] for row in by_owner) == len(deals)


@pytest.mark.parametrize(
    ("soql", "code", "said"),
    [
        ("SELECT Name, COUNT(Id) FROM Opportunity", "MALFORMED_QUERY",
         "ERROR at Row:1:Column:8\nField must be grouped or aggregated: Name"),
        ("SELECT StageName FROM Opportunity GROUP BY StageName ORDER BY Name", "MALFORMED_QUERY",
         "Ordered field must be grouped or aggregated: Name"),
        ("SELECT SUM(Name) FROM Opportunity", "INVALID_FIELD",
         "field Name does not support aggregate operator SUM"),
        ("SELECT Amount, COUNT(Id) FROM Opportunity GROUP BY Amount", "INVALID_FIELD",
         "field 'Amount' can not be grouped in a query call"),
        ("SELECT Name n FROM Account", "MALFORMED_QUERY",
         "Only aggregate expressions use field aliasing"),
        ("SELECT StageName, COUNT(Id) FROM Opportunity GROUP BY StageName HAVING COUNT(Id) > 1",
         "MALFORMED_QUERY", "ERROR at Row:1:Column:65\nunexpected token: 'HAVING'"),
        ("SELECT Account.Boss.Name FROM Opportunity", "INVALID_FIELD",
         "Didn't understand relationship 'Boss' in field path."),
        ("SELECT Account.Owner.Shoe FROM Opportunity", "INVALID_FIELD",
         "No such column 'Shoe' on entity 'User'."),
        ("SELECT Name FROM Account ORDER BY COUNT(Id)", "MALFORMED_QUERY",
         "Field must be grouped or aggregated: Name"),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ],
)  # fmt: skip
def test_what_salesforce_refuses_is_refused_in_its_words(salesforce_sandbox, soql, code, said):
    error = refused(connect(salesforce_sandbox), soql)

    assert error["errorCode"] == code
    assert error["message"].startswith(f"\n{soql}\n")
    assert said in error["message"]
