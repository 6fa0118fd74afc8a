"""A Sage 100 create that names its external reference (UDF_DEAL_ID, UDF_CRM_ID) through
the live sandbox bridge: Sage's record for it comes back instead of a second one, with no
read before the write."""

import pytest

from connectors.errors import ValidationError
from connectors.models import Connection
from connectors.services import connector_for
from sandbox.sage100.app import BRIDGE_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def sage(sage100_sandbox):
    connection = Connection.objects.create(
        name="Sage 100",
        system="sage100",
        settings={"odbc_connection_string": sage100_sandbox.app.odbc_connection_string,
                  "odbc_dialect": "sqlite", "company_code": "ABC",
                  "bridge_url": sage100_sandbox.url},
        secrets={"bridge_key": BRIDGE_KEY},
    )  # fmt: skip
    return connector_for(connection)


def order(deal_id: str, po: str) -> dict:
    return {
        "ARDivisionNo": "00",
        "CustomerNo": "MORRISON",
        "CustomerPONo": po,
        "UDF_DEAL_ID": deal_id,
        "lines": [{"ItemCode": "WIDGET-100", "QuantityOrdered": 2}],
    }


def test_an_order_for_a_deal_sage_has_comes_back_instead_of_a_second_one(sage):
    first = sage.create("sales_order", order("DEAL-1", "PO-FIRST"), "attempt-1")
    again = sage.create("sales_order", order("DEAL-1", "PO-AGAIN"), "attempt-2")  # another key
    assert (first["existed"], again["existed"]) == (False, True)
    assert again["SalesOrderNo"] == first["SalesOrderNo"]
    assert again["CustomerPONo"] == "PO-FIRST"  # Sage's order, not the second request
    assert [row["SalesOrderNo"] for row in sage.search("sales_order", UDF_DEAL_ID="DEAL-1")] == [
        first["SalesOrderNo"]
    ]


def test_an_order_already_completed_into_history_is_found_too(sage):
    first = sage.create("sales_order", order("DEAL-2", "PO-DONE"), "done-1")
    sage.update("sales_order", first["SalesOrderNo"], {"OrderStatus": "C"}, "done-status")
    again = sage.create("sales_order", order("DEAL-2", "PO-DONE"), "done-2")
    assert again["existed"] and again["SalesOrderNo"] == first["SalesOrderNo"]
    assert [line["ItemCode"] for line in again["lines"]] == ["WIDGET-100"]
    assert sage.search("sales_order", UDF_DEAL_ID="DEAL-2") == []  # nothing new is open


def test_two_orders_for_one_deal_stop_the_create_until_one_is_deleted(sage, sage100_sandbox):
    header = order("DEAL-3", "PO-TWICE")
    lines = header.pop("lines")
    typed_twice = [
        sage100_sandbox.app.backend.create_sales_order(header, lines)["SalesOrderNo"]
        for _ in range(2)
    ]  # a clerk keyed the deal's order in twice
    with pytest.raises(ValidationError) as caught:
        sage.create("sales_order", order("DEAL-3", "PO-TWICE"), "twice-1")
    assert caught.value.message == (
        f"Sage 100 has 2 sales orders with UDF_DEAL_ID DEAL-3: {', '.join(typed_twice)}. "
        "Keep one, then retry."
    )
    assert list(caught.value.fields) == ["UDF_DEAL_ID"]
    sage.update("sales_order", typed_twice[1], {"OrderStatus": "X"}, "delete-duplicate")
    kept = sage.create("sales_order", order("DEAL-3", "PO-TWICE"), "twice-1")  # the retry
    assert kept["existed"] and kept["SalesOrderNo"] == typed_twice[0]


def test_a_customer_made_for_the_crm_record_comes_back_instead_of_a_second_one(sage):
    values = {"ARDivisionNo": "00", "CustomerName": "Conditional Pumps", "UDF_CRM_ID": "org-77"}
    first = sage.create("customer", values, "customer-1")
    renamed = {**values, "CustomerName": "Conditional Pumps Inc"}  # the CRM renamed it since
    again = sage.create("customer", renamed, "customer-2")
    assert (first["existed"], again["existed"]) == (False, True)
    assert (again["CustomerNo"], again["CustomerName"]) == (
        first["CustomerNo"],
        "Conditional Pumps",
    )
    assert len(sage.search("customer", UDF_CRM_ID="org-77")) == 1
