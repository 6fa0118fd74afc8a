"""The Flows page's settings forms without sandboxes: which options and ways to start fit
which systems, what is stored, and a CRM that does not answer (nothing listens on port 9)
leaving its stage pickers as text boxes that say so; which flows a pair's systems cannot
run and why; and that a pair runs the order flow or the invoice flow, never both."""

import pytest
from django.urls import reverse

from flows.models import FlowConfig, SyncRun
from flows.registry import FLOWS
from monitoring.forms import FlowConfigForm
from monitoring.pair_systems import PairSystems
from tests.factories import ConnectionFactory, IntegrationPairFactory

pytestmark = pytest.mark.django_db
UNREACHABLE = {"base_url": "http://127.0.0.1:9", "pipeline_key": "p1"}


@pytest.fixture
def streak_pair():
    return IntegrationPairFactory(name="Streak → Sage 100", crm__settings=UNREACHABLE)


@pytest.fixture
def salesforce_pair():
    crm = ConnectionFactory(
        system="salesforce", name="Salesforce",
        settings={"login_url": "https://127.0.0.1:9", "auth_flow": "client_credentials",
                  "client_id": "c", "api_version": "59.0"},
        secrets={"client_secret": "s"},
    )  # fmt: skip
    return IntegrationPairFactory(name="Salesforce → Sage 100", crm=crm)


@pytest.fixture
def accounting_pair():
    erp = ConnectionFactory(
        system="sage50", name="Sage Accounting",
        settings={"api_url": "http://127.0.0.1:9/v3.1", "auth_url": "http://127.0.0.1:9/a",
                  "token_url": "http://127.0.0.1:9/t", "client_id": "c"},
        secrets={"client_secret": "s"},
    )  # fmt: skip
    return IntegrationPairFactory(name="Streak → Sage Accounting", crm__settings=UNREACHABLE,
                                  erp=erp)  # fmt: skip


def form_for(pair, flow: str, data: dict | None = None) -> FlowConfigForm:
    config = FlowConfig.objects.get(pair=pair, flow=flow)
    if data is not None:
        data = {"config": config.pk, **{f"flow-{config.pk}-{k}": v for k, v in data.items()}}
    return FlowConfigForm(config, data, systems=PairSystems(pair))


def option_names(form: FlowConfigForm) -> list[str]:
    return [option.name for option in form.options]


def test_a_crm_that_does_not_answer_leaves_a_text_box_saying_why(streak_pair):
    form = form_for(streak_pair, "deal_won_to_sales_order")

    stage = form.fields["option_trigger_stage"]
    assert stage.widget.input_type == "text"
    assert "Streak did not list its deal stages" in stage.help_text
    assert "Type the stage's name" in stage.help_text


def test_each_pair_gets_the_ways_to_start_its_systems_offer(streak_pair, salesforce_pair):
    streak_orders = form_for(streak_pair, "deal_won_to_sales_order").fields["trigger"]
    salesforce_orders = form_for(salesforce_pair, "deal_won_to_sales_order").fields["trigger"]
    order_status = form_for(streak_pair, "order_status_to_crm").fields["trigger"]

    assert [label for _, label in streak_orders.choices] == [
        "When Streak tells us of a change",
        "By checking for changes (polling)",
    ]
    assert [value for value, _ in salesforce_orders.choices] == ["webhook", "poll"]
    assert [value for value, _ in order_status.choices] == ["poll"]
    # Streak's feed of stage changes makes polling possible, and catches up lost webhooks.


def test_only_the_options_that_fit_the_pairs_systems_are_shown(
    streak_pair, salesforce_pair, accounting_pair
):
    assert "closed_stages" in option_names(form_for(streak_pair, "inventory_to_crm"))
    assert "closed_stages" not in option_names(form_for(salesforce_pair, "inventory_to_crm"))
    assert "crm_fields" not in option_names(form_for(streak_pair, "customer_sync"))
    assert "crm_fields" in option_names(form_for(salesforce_pair, "customer_sync"))
    sage100_policy = form_for(streak_pair, "deal_won_to_sales_order").fields
    accounting_policy = form_for(accounting_pair, "deal_won_to_invoice").fields
    assert "create" not in dict(sage100_policy["option_unknown_item_policy"].choices)
    assert "create" in dict(accounting_policy["option_unknown_item_policy"].choices)
    owners = form_for(streak_pair, "customer_sync").fields
    assert [value for value, _ in owners["option_owners__balance"].choices] == ["sage"]


def test_the_initial_load_has_no_switch_and_its_page_is_linked(client, users, streak_pair):
    load = form_for(streak_pair, "initial_load")
    assert "enabled" not in load.fields and "trigger" not in load.fields
    client.force_login(users["admin"])

    page = client.get(reverse("pair-flows", args=[streak_pair.slug])).content.decode()

    card = page.split('id="flow-initial_load"')[1].split("</section>")[0]
    assert reverse("initial-load", args=[streak_pair.slug]) in card
    assert 'type="checkbox"' not in card and ">Off<" not in card


def test_money_is_stored_exactly_and_maps_come_from_their_tables(streak_pair):
    orders = form_for(streak_pair, "deal_won_to_sales_order", {
        "enabled": "on", "trigger": "webhook", "option_trigger_stage": "Proposal",
        "option_approval_threshold": "12500.50", "option_unknown_item_policy": "skip_line",
    })  # fmt: skip
    assert orders.is_valid(), orders.errors
    saved = orders.save()
    assert saved.options["approval_threshold"] == "12500.50"
    assert saved.options["trigger_stage"] == "Proposal"

    keepers = {"name": "crm", "billing_address": "crm", "email": "crm", "phone": "sage",
               "credit_limit": "sage", "terms": "sage", "balance": "sage"}  # fmt: skip
    data = {f"option_owners__{name}": keeper for name, keeper in keepers.items()}
    data |= {"trigger": "poll", "option_poll_interval": "120"}
    sync = form_for(streak_pair, "customer_sync", data)
    assert sync.is_valid(), sync.errors
    options = sync.save().options
    assert options["owners"]["phone"] == "sage" and options["owners"]["name"] == "crm"
    assert options["poll_interval"] == 120


def test_each_flow_shows_its_last_run_and_its_runs_in_the_error_queue(client, users, streak_pair):
    config = FlowConfig.objects.get(pair=streak_pair, flow="deal_won_to_sales_order")
    for status in (SyncRun.Status.FAILED, SyncRun.Status.RETRY_SCHEDULED, SyncRun.Status.DEAD):
        SyncRun.objects.create(flow_config=config, pair=streak_pair, entity_key=f"box-{status}",
                               status=status, error_class="TransientError")  # fmt: skip
    client.force_login(users["viewer"])

    page = client.get(reverse("pair-flows", args=[streak_pair.slug])).content.decode()

    card = page.split('id="flow-deal_won_to_sales_order"')[1].split("</section>")[0]
    assert "3 in the error queue" in card and "Dead" in card
    assert "<form" not in card


def test_the_flows_page_says_which_flows_the_pairs_systems_cannot_run_and_why(
    client, users, streak_pair
):
    client.force_login(users["viewer"])

    page = client.get(reverse("pair-flows", args=[streak_pair.slug])).content.decode()

    offered = page.split('id="flows-unavailable"')[0]
    unavailable = page.split('id="flows-unavailable"')[1]
    assert FLOWS["deal_won_to_sales_order"].label in offered
    assert FLOWS["prices_to_crm"].label in unavailable
    assert "Streak cannot keep product records" in unavailable
    assert FLOWS["deal_won_to_sales_order"].label not in unavailable


def test_a_pair_runs_either_the_order_or_the_invoice_flow_never_both(client, users):
    erp = ConnectionFactory(
        system="sage50desktop",
        name="Sage 50 desktop",
        settings={"odbc_connection_string": "DSN=Cedar Ridge", "odbc_dialect": "pervasive",
                  "agent_url": "https://sage-pc.example:8105"},
        secrets={"agent_key": "agent-key-for-tests"},
    )  # fmt: skip
    pair = IntegrationPairFactory(name="Streak → Sage 50 desktop", erp=erp)
    invoices = FlowConfig.objects.get(pair=pair, flow="deal_won_to_invoice")
    orders = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    invoices.enabled = True
    invoices.save()
    client.force_login(users["admin"])
    prefix = f"flow-{orders.pk}"
    turn_orders_on = {
        "config": orders.pk, f"{prefix}-enabled": "on", f"{prefix}-trigger": "webhook",
        f"{prefix}-option_approval_threshold": "10000",
        f"{prefix}-option_unknown_item_policy": "flag", f"{prefix}-option_trigger_stage": "",
    }  # fmt: skip

    reply = client.post(reverse("pair-flows", args=[pair.slug]), turn_orders_on)

    assert reply.status_code == 400
    page = reply.content.decode()
    assert f"Turn off “{FLOWS['deal_won_to_invoice'].label}” first" in page
    orders.refresh_from_db()
    assert not orders.enabled
    invoices.enabled = False
    invoices.save()
    reply = client.post(reverse("pair-flows", args=[pair.slug]), turn_orders_on)
    assert reply.status_code == 302
    orders.refresh_from_db()
    assert orders.enabled
