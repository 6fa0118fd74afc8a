"""A flow's rules through its page, the API and the configuration export: admins save new
versions, viewers read, wrong rules are refused in words, and the rules travel with the
configuration to another installation's pair as a new version."""

import json

import pytest
from rest_framework.test import APIClient

from flows.models import FlowConfig
from flows.rules_versions import current_rules, save_rules
from mappings.config_transfer import apply_plan, dumps, export_config, load, plan_import
from tests import won_deals as shared

pytestmark = pytest.mark.django_db

HOLD_BIG = {
    "name": "Big",
    "match": "all",
    "conditions": [{"field": "total", "name": "", "op": "gt", "value": "5000"}],
    "action": {"kind": "hold", "text": "Look at it first", "field": "", "value": "", "flow": ""},
}


@pytest.fixture
def orders(streak_sandbox, sage100_sandbox) -> FlowConfig:
    crm = shared.streak_connection(streak_sandbox)
    erp = shared.sage100_connection(sage100_sandbox)
    pair, _ = shared.make_pair("Rules pair", crm, erp, "deal_won_to_sales_order")
    return FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(config: FlowConfig) -> str:
    return f"/api/v1/pairs/{config.pair.slug}/flows/{config.flow}/rules/"


def test_the_api_saves_a_version_and_refuses_wrong_rules_in_words(orders, users):
    saved = api(users["admin"]).put(
        url(orders), {"rules": [HOLD_BIG], "comment": "first"}, format="json"
    )
    assert saved.status_code == 200, saved.content
    assert (saved.json()["version"], saved.json()["author"]) == (1, "admin")
    wrong = dict(HOLD_BIG, action={"kind": "skip", "text": ""})
    refused = api(users["admin"]).put(url(orders), {"rules": [wrong]}, format="json")
    assert refused.status_code == 400
    assert refused.json()["problems"] == [
        "Rule 1 (“Big”), action: Skip the deal: say why, so people see the reason."
    ]
    read = api(users["viewer"]).get(url(orders))
    assert read.status_code == 200 and read.json()["rules"][0]["name"] == "Big"
    assert api(users["operator"]).put(url(orders), {"rules": []}, format="json").status_code == 403


def test_the_page_shows_the_rules_to_a_viewer_and_saves_only_for_an_admin(client, orders, users):
    save_rules(orders, [HOLD_BIG], users["admin"], "first")
    page = f"/pairs/{orders.pair.slug}/flows/{orders.flow}/rules/"
    client.force_login(users["viewer"])
    shown = client.get(page)
    assert shown.status_code == 200
    assert "Amount &gt; 5000 → Hold for review (Look at it first)" in shown.text
    assert "Save as a new version" not in shown.text
    assert client.post(page, {"do": "save", "rules": "0"}).status_code == 403
    client.force_login(users["admin"])
    posted = {"do": "save", "rules": "1", "r0-name": "Any", "r0-match": "all",
              "r0-conditions": "1", "r0-c0-field": "total", "r0-c0-op": "gt",
              "r0-c0-value": "", "r0-a-kind": "hold", "r0-a-text": "x"}  # fmt: skip
    refused = client.post(page, posted)
    assert refused.status_code == 400
    assert "Rule 1 (“Any”), condition 1: Amount &gt; what? Type a value" in refused.text
    saved = client.post(page, posted | {"r0-c0-value": "100", "comment": "lower"})
    assert saved.status_code == 302 and orders.rule_versions.count() == 2


def test_rules_travel_with_the_configuration_as_a_new_version(orders, users):
    save_rules(orders, [HOLD_BIG], users["admin"], "first")
    document = load(dumps(export_config([orders.pair])))
    [item] = [i for i in document["pairs"][0]["flow_settings"] if i["flow"] == orders.flow]
    assert item["rules"] == [HOLD_BIG]
    save_rules(orders, [], users["admin"], "cleared here")
    plan = plan_import(json.loads(dumps(document)), "test.json", users["admin"])
    [section] = [s for s in plan.sections if s.name == "flow_settings"]
    assert "deal_won_to_sales_order: rules changed (a new version)" in section.changes
    apply_plan(plan, users["admin"])
    assert current_rules(orders) == [HOLD_BIG]
    assert orders.rule_versions.first().comment == "Imported with the configuration"
