"""A flow's business rules against the live sandboxes (Streak → Sage 100): a rule holds a
won deal for approval, skips it, sets a field the Sage order carries, makes a task for the
deal's owner, or routes the deal to the invoice flow; each run names the rules version it
used."""

import pytest
import requests

from flows.approvals import approve
from flows.models import Approval, FlowConfig, SyncRun
from flows.rules import RulesInvalid
from flows.rules_versions import save_rules
from flows.runner import execute_run
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

ORDERS = "deal_won_to_sales_order"


def rule(looks_at: str, op: str, compared: str, kind: str, **action) -> dict:
    return {
        "name": f"{looks_at} {op} {compared}",
        "match": "all",
        "conditions": [{"field": looks_at, "name": "", "op": op, "value": compared}],
        "action": {"kind": kind, **action},
    }


@pytest.fixture
def orders(sage100_pair, users) -> FlowConfig:
    """The order flow, its fixed threshold out of the way so only the rules hold deals."""
    pair, _ = sage100_pair
    config = FlowConfig.objects.get(pair=pair, flow=ORDERS)
    config.options = {**config.options, "approval_threshold": 1_000_000}
    config.save(update_fields=["options"])
    return config


def win(client, streak_sandbox, sage100_pair, deal_id: str) -> SyncRun:
    """The seeded deal won in Streak and delivered; the order flow's run."""
    pair, token = sage100_pair
    key = shared.seeded_box_key(deal_id)
    shared.move_box(streak_sandbox, key, "5001")
    box = shared.move_box(streak_sandbox, key, shared.CLOSED_WON)
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    return SyncRun.objects.get(pair=pair, entity_key=key, flow_config__flow=ORDERS)


def test_a_rule_over_5000_holds_the_deal_until_an_approver_approves(
    client, streak_sandbox, sage100_pair, sage, orders, users
):
    save_rules(orders, [rule("total", "gt", "5000", "require_approval", text="Big deal")],
               users["admin"], "Big deals need a yes")  # fmt: skip
    run = win(client, streak_sandbox, sage100_pair, "SAL-1006")
    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    assert run.approval.kind == Approval.Kind.RULE
    assert "needs approval by rule 1" in run.approval.reason and "Big deal" in run.approval.reason
    assert not shared.orders_for(sage, "SAL-1006")
    approve(run.approval, users["approver"], "Fine.")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert len(shared.orders_for(sage, "SAL-1006")) == 1
    output = run.steps.filter(name="rules", status="succeeded").last().output
    assert output["version"] == 1 and output["approval"]["approved_by"]


def test_a_rule_not_met_lets_the_deal_through(
    client, streak_sandbox, sage100_pair, sage, orders, users
):
    save_rules(orders, [rule("total", "gt", "50000", "hold", text="Huge")], users["admin"], "")
    run = win(client, streak_sandbox, sage100_pair, "SAL-1006")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.steps.get(name="rules").output == {"version": 1, "met": []}


def test_a_skip_rule_ends_the_run_writing_nothing_and_says_why(
    client, streak_sandbox, sage100_pair, sage, orders, users
):
    save_rules(orders, [rule("currency", "eq", "usd", "skip", text="Handled by hand")],
               users["admin"], "")  # fmt: skip
    run = win(client, streak_sandbox, sage100_pair, "SAL-1006")
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.summary == "Skipped by rule 1 “currency eq usd”: Handled by hand"
    assert not shared.orders_for(sage, "SAL-1006")


def test_a_skip_still_holds_when_the_run_resumes_after_a_crash(
    client, streak_sandbox, sage100_pair, sage, orders, users
):
    save_rules(orders, [rule("currency", "eq", "usd", "skip", text="Handled by hand")],
               users["admin"], "")  # fmt: skip
    run = win(client, streak_sandbox, sage100_pair, "SAL-1006")
    # The worker died right after recording the rules step: a new attempt resumes from there.
    rules_step = run.steps.get(name="rules")
    run.steps.filter(order__gt=rules_step.order).delete()
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.RETRY_SCHEDULED)
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert not shared.orders_for(sage, "SAL-1006")
    assert run.steps.filter(name="sales_order", attempt=2).get().output == {
        "skipped": "Skipped by rule 1 “currency eq usd”: Handled by hand"
    }


def test_a_set_field_rule_shows_in_the_sage_order(
    client, streak_sandbox, sage100_pair, sage, orders, users
):
    set_po = rule("document", "empty", "", "set_field", field="po_number", value="RULE-PO-7")
    set_po["conditions"][0]["name"] = "po_number"
    save_rules(orders, [set_po], users["admin"], "")
    run = win(client, streak_sandbox, sage100_pair, "SAL-1006")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "SAL-1006")
    assert order["CustomerPONo"] == "RULE-PO-7"
    assert run.steps.get(name="rules").output["set"] == {"po_number": "RULE-PO-7"}


def test_a_task_rule_gives_the_owner_a_task_once(
    client, streak_sandbox, sage100_pair, orders, users
):
    save_rules(orders, [rule("total", "ge", "1", "task", text="Send the welcome pack")],
               users["admin"], "")  # fmt: skip
    run = win(client, streak_sandbox, sage100_pair, "SAL-1006")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    reply = requests.get(
        f"{streak_sandbox.url}/api/v2/boxes/{run.entity_key}/tasks",
        auth=(shared.STREAK_KEY, ""),
        timeout=5,
    )
    texts = [task["text"] for task in reply.json()["results"]]
    assert sum("Send the welcome pack" in text for text in texts) == 1


def test_a_route_rule_hands_the_deal_to_the_invoice_flow_though_it_is_off(
    client, streak_sandbox, sage100_pair, sage, orders, users
):
    # The invoice flow is the order flow's alternative, off while orders are on (the Flows
    # page allows one): a run a rule routed to it starts all the same.
    invoices = FlowConfig.objects.get(pair=orders.pair, flow="deal_won_to_invoice")
    invoices.options = {**invoices.options, "approval_threshold": 1_000_000}
    invoices.save(update_fields=["options"])
    assert not invoices.enabled
    save_rules(orders, [rule("total", "gt", "0", "route", flow="deal_won_to_invoice")],
               users["admin"], "")  # fmt: skip
    run = win(client, streak_sandbox, sage100_pair, "SAL-1006")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.summary.startswith("Routed to deal_won_to_invoice by rule 1")
    assert not shared.orders_for(sage, "SAL-1006")
    routed = SyncRun.objects.get(pk=run.steps.get(name="rules").output["routed_run"])
    assert routed.flow_config == invoices and routed.event_id == run.event_id
    assert routed.status == SyncRun.Status.SUCCEEDED, routed.error_message
    assert sage.search("invoice", UDF_DEAL_ID="SAL-1006")
    invoices.refresh_from_db()
    assert not invoices.enabled


def test_a_field_a_rule_set_is_still_in_the_order_after_a_threshold_approval(
    client, streak_sandbox, sage100_pair, sage, orders, users
):
    orders.options = {**orders.options, "approval_threshold": 1}
    orders.save(update_fields=["options"])
    set_po = rule("total", "gt", "0", "set_field", field="po_number", value="RULE-PO-8")
    save_rules(orders, [set_po], users["admin"], "")
    run = win(client, streak_sandbox, sage100_pair, "SAL-1006")
    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    assert run.approval.kind == Approval.Kind.THRESHOLD
    approve(run.approval, users["approver"], "Fine.")  # a new attempt resumes the run
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "SAL-1006")
    assert order["CustomerPONo"] == "RULE-PO-8"


def test_a_deal_held_by_a_rule_and_over_the_threshold_is_approved_once(
    client, streak_sandbox, sage100_pair, sage, orders, users
):
    orders.options = {**orders.options, "approval_threshold": 1}
    orders.save(update_fields=["options"])
    save_rules(orders, [rule("total", "gt", "5000", "require_approval", text="Big deal")],
               users["admin"], "")  # fmt: skip
    run = win(client, streak_sandbox, sage100_pair, "SAL-1006")
    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    assert run.approval.kind == Approval.Kind.RULE
    approve(run.approval, users["approver"], "Fine.")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert len(shared.orders_for(sage, "SAL-1006")) == 1
    assert run.steps.filter(name="approval", status="succeeded").last().output["approved_by"]


def test_each_save_is_a_version_and_bad_rules_are_refused_in_words(orders, users):
    first = save_rules(orders, [rule("total", "gt", "5000", "hold", text="x")], users["admin"],
                       "first")  # fmt: skip
    second = save_rules(orders, [], users["admin"], "cleared")
    assert (first.number, second.number, second.rules) == (1, 2, [])
    bad = [
        rule("total", "gt", "lots", "hold", text="x"),
        rule("currency", "eq", "USD", "set_field", field="total", value="1"),
        rule("total", "gt", "1", "route", flow="nowhere"),
    ]
    with pytest.raises(RulesInvalid) as refused:
        save_rules(orders, bad, users["admin"], "")
    assert refused.value.problems == [
        "Rule 1 (“total gt lots”), condition 1: Amount > needs a number, e.g. 5000; "
        "“lots” is not one.",
        "Rule 2 (“currency eq USD”), action: Set a field: choose one of notes, po_number, "
        "terms, gl_account.",
        "Rule 3 (“total gt 1”), action: Route to another flow: choose one of deal_won_to_invoice.",
    ]
    assert orders.rule_versions.count() == 2
