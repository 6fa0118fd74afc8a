"""Salespeople for Sage 50 US (desktop): the pair's "salespeople" table filled from the
Streak team and the company's Employee rows marked as sales reps (by email, then name), and
a won Wholesale deal's owner becoming the Sage 50 invoice's sales rep through it, against
the Streak and Sage 50 sandboxes."""

import pytest

from connectors.models import IntegrationPair
from flows.models import SyncRun
from mappings.models import LookupTable
from mappings.salespeople import SALESPEOPLE_TABLE, fill_salespeople
from sandbox.sage50desktop.ledger import SALES_JOURNAL
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.integration.flows.test_salespeople import PRIYA, SOFIA, assign, rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
DEAL = "WHL-3013"


@pytest.fixture
def invoice_pair(streak_sandbox, sage50desktop) -> tuple[IntegrationPair, str]:
    wholesale = shared.streak_connection(streak_sandbox, streak_data.WHOLESALE)
    return shared.make_pair("Streak Wholesale Sage 50", wholesale, sage50desktop,
                            "deal_won_to_invoice")  # fmt: skip


def sales_rep_of(sandbox, deal_id: str) -> tuple[str, str]:
    """The invoice's sales rep (JrnlHdr.EmpRecordNumber) and its customer's own, by EmployeeID."""
    [invoice] = shared.sage50desktop_documents(sandbox, SALES_JOURNAL, deal_id)
    [found] = shared.sage50desktop_rows(
        sandbox,
        "SELECT e.EmployeeID AS rep, o.EmployeeID AS own FROM JrnlHdr h "
        "JOIN Customers c ON c.CustomerRecordNumber = h.CustVendId "
        "LEFT JOIN Employee e ON e.EmpRecordNumber = h.EmpRecordNumber "
        "LEFT JOIN Employee o ON o.EmpRecordNumber = c.EmpRecordNumber WHERE h.PostOrder = ?",
        invoice["PostOrder"],
    )
    return found["rep"], found["own"]


def test_fill_matches_the_streak_team_with_sage50_sales_reps(invoice_pair):
    pair, _ = invoice_pair
    result = fill_salespeople(pair)
    assert rows(result.table) == {
        "alex.morgan@claritydemo.com": "AMORGAN",
        PRIYA: "PRAMAN",
        "daniel.okafor@claritydemo.com": "DOKAFOR",  # another email in Sage: found by name
    }
    assert [user.email for user in result.unmatched] == [SOFIA]  # an employee, not a rep


def test_a_won_deal_owned_by_a_matched_user_makes_an_invoice_with_their_sales_rep(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair
):
    pair, token = invoice_pair
    fill_salespeople(pair)
    assign(streak_sandbox, shared.seeded_box_key(DEAL), PRIYA)
    _, run = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    rep, _ = sales_rep_of(sage50desktop_sandbox, DEAL)
    assert rep == "PRAMAN"


def test_an_owner_not_in_the_table_leaves_the_invoice_the_customers_sales_rep(
    client, streak_sandbox, sage50desktop_sandbox, invoice_pair
):
    pair, token = invoice_pair
    assert LookupTable.objects.get(pair=pair, name=SALESPEOPLE_TABLE).entries.count() == 0
    assign(streak_sandbox, shared.seeded_box_key(DEAL), SOFIA)
    _, run = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    rep, own = sales_rep_of(sage50desktop_sandbox, DEAL)
    assert rep == own  # the customer made for the deal has none: neither has the invoice
    warnings = run.steps.get(name="sales_invoice").output["warnings"]
    assert any(w["field"] == "SalesRepID" for w in warnings)
