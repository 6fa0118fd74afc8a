"""Management commands an operator runs, and the test command's own guard."""

import subprocess
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from clarity.roles import role_of
from connectors.models import Connection, IntegrationPair
from flows.models import FlowConfig
from flows.rules_versions import current_version, save_rules

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo_mode(settings) -> None:
    """As `make run` starts: seed_demo makes its users only in demo mode."""
    settings.CLARITY_DEMO = True


def test_seed_demo_creates_role_users_connections_and_pairs_and_can_run_again(settings, demo_mode):
    settings.CLARITY_DEMO_PASSWORD = "demo-pass-42"
    output = run("seed_demo")
    assert "demo-pass-42" in output
    roles = {u.username: role_of(u) for u in get_user_model().objects.all()}
    assert roles == {"admin": "Integration admin", "operator": "Operator",
                     "approver": "Approver", "viewer": "Viewer"}  # fmt: skip
    assert get_user_model().objects.get(username="admin").check_password("demo-pass-42")
    assert Connection.objects.count() == 7
    assert set(IntegrationPair.objects.values_list("slug", flat=True)) == {
        "streak-sage100",
        "streak-sage50",
        "streak-sage50-desktop",
        "salesforce-sage100",
    }
    on = FlowConfig.objects.filter(enabled=True).values_list("pair__slug", "flow")
    assert ("streak-sage100", "deal_won_to_sales_order") in on
    assert ("streak-sage50", "deal_won_to_invoice") in on
    assert ("streak-sage50-desktop", "deal_won_to_invoice") in on
    assert ("streak-sage50-desktop", "deal_won_to_sales_order") not in on
    assert {(slug, "customer_sync") for slug in ("streak-sage100", "streak-sage50")} <= set(on)

    run("seed_demo")
    assert Connection.objects.count() == 7 and IntegrationPair.objects.count() == 4


def test_seed_demo_again_fills_settings_an_older_demo_lacks_and_keeps_the_rest(demo_mode):
    run("seed_demo")
    streak = Connection.objects.get(name="Demo Streak")
    pipeline = streak.settings.pop("pipeline_key")
    streak.settings["base_url"] = "http://127.0.0.1:9101"  # changed by its admin
    streak.save()

    run("seed_demo")
    streak.refresh_from_db()
    assert streak.settings["pipeline_key"] == pipeline
    assert streak.settings["base_url"] == "http://127.0.0.1:9101"


def test_seed_demo_turns_on_every_new_feature_for_the_demo(demo_mode):
    run("seed_demo")
    on = set(FlowConfig.objects.filter(enabled=True).values_list("pair__slug", "flow"))
    assert {("streak-sage100", "contact_sync"), ("salesforce-sage100", "contact_sync"),
            ("streak-sage100", "deal_stage_to_order_status")} <= on  # fmt: skip
    assert ("streak-sage50", "sage_order_to_deal") not in on
    for slug in ("streak-sage100", "salesforce-sage100"):  # one of the alternatives only
        assert (slug, "deal_won_to_sales_order") in on and (slug, "deal_won_to_invoice") not in on
    streak_orders = options_of("streak-sage100", "deal_won_to_sales_order")
    assert streak_orders["back_to_back_purchase_orders"] is True
    assert streak_orders["invoice_after_order"] is False
    assert streak_orders["approval_threshold"] == 10000  # the template's, kept
    assert options_of("salesforce-sage100", "deal_won_to_sales_order")["invoice_after_order"]
    assert options_of("streak-sage50", "deal_won_to_invoice")["task_events"] == [
        "approval_rejected", "credit_limit_exceeded"
    ]  # fmt: skip
    assert options_of("streak-sage100", "deal_stage_to_order_status")["stage_statuses"] == {
        "Closed-Lost": "deleted"
    }
    version = current_version(config_of("streak-sage100", "deal_won_to_sales_order"))
    assert version.number == 1 and "held for review" in version.comment
    [rule] = version.rules
    assert rule["action"]["kind"] == "hold" and rule["conditions"][0]["value"] == "25000"


def test_seed_demo_again_brings_an_older_demo_the_new_features_and_keeps_an_admin_s_changes(
    demo_mode,
):
    run("seed_demo")
    # A demo seeded before contact sync shipped, whose flows' options were never touched …
    config_of("streak-sage100", "contact_sync").delete()
    config_of("salesforce-sage100", "contact_sync").delete()
    FlowConfig.objects.filter(pair__slug="streak-sage50").update(options={})
    # … but whose admin changed these.
    salesforce_orders = config_of("salesforce-sage100", "deal_won_to_sales_order")
    salesforce_orders.options = {**salesforce_orders.options, "invoice_after_order": False}
    salesforce_orders.save()
    FlowConfig.objects.filter(
        pair__slug="streak-sage100", flow="deal_stage_to_order_status"
    ).update(enabled=False)
    FlowConfig.objects.filter(pair__slug="salesforce-sage100", flow="deal_won_to_invoice").update(
        enabled=True
    )  # an earlier seed turned both alternatives on
    streak_orders = config_of("streak-sage100", "deal_won_to_sales_order")
    save_rules(streak_orders, [], None, "No rules for us")

    output = run("seed_demo")
    assert "Streak → Sage 100: flow Contact sync added, on." in output
    assert "Salesforce → Sage 100: flow Contact sync added, on." in output
    assert config_of("streak-sage100", "contact_sync").enabled
    assert options_of("streak-sage50", "deal_won_to_invoice")["task_events"] == [
        "approval_rejected", "credit_limit_exceeded"
    ]  # fmt: skip
    assert (
        options_of("salesforce-sage100", "deal_won_to_sales_order")["invoice_after_order"] is False
    )
    assert not config_of("streak-sage100", "deal_stage_to_order_status").enabled
    assert not config_of("salesforce-sage100", "deal_won_to_invoice").enabled
    assert config_of("salesforce-sage100", "deal_won_to_sales_order").enabled
    version = current_version(streak_orders)
    assert (version.number, version.rules, version.comment) == (2, [], "No rules for us")

    assert run("seed_demo").splitlines()[-1].startswith("Demo users:")  # nothing more to do


def config_of(slug: str, flow: str) -> FlowConfig:
    return FlowConfig.objects.get(pair__slug=slug, flow=flow)


def options_of(slug: str, flow: str) -> dict:
    return config_of(slug, flow).options


def test_create_api_token_prints_a_working_token_once(users):
    token = run("create_api_token", "operator").strip()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/connections/").status_code == 200
    with pytest.raises(CommandError, match=f"already has an API token \\(starting {token[:8]}"):
        run("create_api_token", "operator")
    new = run("create_api_token", "operator", "--regenerate").strip()
    assert new != token
    assert api.get("/api/v1/connections/").status_code == 401


def test_create_api_token_for_an_unknown_user_fails_clearly():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("create_api_token", "nobody")


def test_pytest_finding_no_tests_fails_the_test_command(tmp_path):
    """pytest exits 5 when it collects nothing; `make test` must not pass then."""
    result = subprocess.run(
        ["make", "-s", "pytest", f"PYTEST_ARGS={tmp_path} -p no:cacheprovider"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "no tests ran" in result.stdout
