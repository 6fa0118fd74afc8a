"""The mappings API on a Streak → Sage 100 pair against the live sandboxes: every endpoint, who
may call it, and the shape of its errors. The API schema is checked in tests/unit/mappings."""

import pytest
from django.urls import include, path
from rest_framework.routers import DefaultRouter
from rest_framework.test import APIClient

from connectors.models import IntegrationPair
from mappings.api import register
from mappings.models import LookupEntry, LookupTable, Mapping
from tests.won_deals import sage100_connection, streak_connection

router = DefaultRouter()
register(router)
urlpatterns = [path("api/v1/", include(router.urls)), path("", include("clarity.urls"))]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

BOX_TO_CUSTOMER = "Streak deal → customer"
DEAL = {"key": "box-1", "organization": {"name": "Harbor Point Logistics",
        "phoneNumbers": ["+1 510-555-0142"], "addresses": ["12 Mill St, Northampton, MA 01060"]},
        "contact": {"emailAddresses": ["Maria@Harbor.example"]},
        "fieldsByName": {"Currency": "usd", "Payment Terms": "Net 30"}}  # fmt: skip


@pytest.fixture
def pair(streak_sandbox, sage100_sandbox) -> IntegrationPair:
    crm, erp = streak_connection(streak_sandbox), sage100_connection(sage100_sandbox)
    made = IntegrationPair(name="Acme deals", crm=crm, erp=erp)
    made.rotate_webhook_token()
    made.save()  # the pair's default mappings come with it
    return made


@pytest.fixture
def mapping(pair) -> Mapping:
    return pair.mappings.get(name=BOX_TO_CUSTOMER)


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def admin(users) -> APIClient:
    return client_for(users["admin"])


def url(mapping: Mapping, action: str = "") -> str:
    return f"/api/v1/mappings/{mapping.pk}/{action + '/' if action else ''}"


# ---------------------------------------------------------------- reading


def test_mappings_are_listed_by_pair_and_direction_with_their_active_rules(admin, pair):
    other = IntegrationPair(name="Other", crm=pair.crm, erp=pair.erp)
    other.rotate_webhook_token()
    other.save()
    everything = admin.get("/api/v1/mappings/?limit=200").json()
    inbound = admin.get("/api/v1/mappings/?pair=acme-deals&direction=in&limit=200").json()
    assert everything["count"] == 2 * pair.mappings.count()
    assert inbound["count"] == pair.mappings.filter(direction="in").count()
    first = next(item for item in inbound["results"] if item["name"] == BOX_TO_CUSTOMER)
    assert first["pair"] == "acme-deals" and first["active_version"] == 1
    name_rule = {"target": "name", "source": "organization.name",
                 "transforms": [{"name": "trim"}], "required": True}  # fmt: skip
    assert first["spec"]["rules"][0] == name_rule
    wrong = admin.get("/api/v1/mappings/?direction=sideways")
    assert wrong.status_code == 400 and wrong.json() == {"direction": ["Use in or out."]}


def test_a_new_version_is_saved_listed_read_compared_and_restored(admin, mapping):
    rules = mapping.active_version.spec["rules"]
    changed = [*rules[:1], {"target": "tax_number", "constant": "DE123"}]
    saved = admin.post(url(mapping, "versions"), {"spec": {"rules": changed}, "note": "Tax"},
                       format="json")  # fmt: skip
    assert saved.status_code == 201
    assert saved.json()["number"] == 2 and saved.json()["author"] == "admin"
    assert saved.json()["warnings"] == []

    listed = admin.get(url(mapping, "versions")).json()
    assert [v["number"] for v in listed["results"]] == [2, 1]
    assert admin.get(url(mapping, "versions/1")).json()["note"] == "Shipped default"
    assert admin.get(url(mapping, "versions/9")).status_code == 404

    diff = admin.get(url(mapping, "diff") + "?a=1&b=2").json()
    kinds = {change["target"]: change["change"] for change in diff["changes"]}
    assert kinds["tax_number"] == "added" and kinds["email"] == "removed"

    restored = admin.post(url(mapping, "restore"), {"version": 1}, format="json")
    assert restored.status_code == 201 and restored.json()["number"] == 3
    assert restored.json()["spec"] == {"rules": rules}
    assert admin.get(url(mapping)).json()["active_version"] == 3


def test_a_broken_spec_is_refused_with_the_problem_under_its_target(admin, mapping):
    spec = {"rules": [{"target": "name", "source": "organization.name"},
                      {"target": "email", "source": "contact.emailAddresses[0]",
                       "transforms": [{"name": "shout"}]},
                      {"source": "x"},
                      {"target": "terms", "source": "a", "constant": "b"}]}  # fmt: skip
    response = admin.post(url(mapping, "versions"), {"spec": spec}, format="json")
    assert response.status_code == 400
    assert response.json() == {"spec": {
        "email": ["there is no transform “shout”"],
        "rules[2]": ["A rule has no target field."],
        "terms": ["use one of source, constant or template, not source and constant"],
    }}  # fmt: skip
    assert mapping.versions.count() == 1
    not_rules = admin.post(url(mapping, "versions"), {"spec": {"rules": "x"}}, format="json")
    assert not_rules.json() == {"spec": {"spec": ['Send an object with a "rules" list.']}}


def test_diff_and_restore_say_which_version_is_missing(admin, mapping):
    assert admin.get(url(mapping, "diff") + "?a=1&b=7").json() == {
        "b": ["There is no version 7 of this mapping."]}  # fmt: skip
    assert admin.get(url(mapping, "diff") + "?a=x").json() == {
        "a": ["A valid integer is required."], "b": ["This field is required."]}  # fmt: skip
    response = admin.post(url(mapping, "restore"), {"version": 4}, format="json")
    assert response.status_code == 400
    assert response.json() == {"version": ["There is no version 4 of this mapping."]}


def test_preview_maps_a_record_with_saved_or_draft_rules_and_writes_nothing(admin, mapping):
    table = LookupTable.objects.create(pair=mapping.pair, name="Terms", on_miss="create")
    response = admin.post(url(mapping, "preview"), {"record": DEAL}, format="json").json()
    assert response["output"]["name"] == "Harbor Point Logistics"
    assert response["output"]["email"] == "maria@harbor.example"
    assert response["output"]["billing_address"]["city"] == "Northampton"
    assert response["ok"] is True and response["needs_review"] is False

    lookup = {"name": "lookup", "params": {"table": "Terms"}}
    draft = {"rules": [{"target": "terms", "source": "fieldsByName.Payment Terms",
                        "transforms": [lookup]}]}  # fmt: skip
    response = admin.post(url(mapping, "preview"), {"record": DEAL, "spec": draft},
                          format="json").json()  # fmt: skip
    assert response["output"] == {"terms": "Net 30"}
    assert response["issues"] == [
        {"level": "warning", "field": "terms", "code": "lookup_created",
         "message": "Lookup table: “Net 30” was not in lookup table “Terms”; added it (as "
                    "itself) and passed it through. Check the new row."},
        {"level": "error", "field": "name", "code": "required",
         "message": "name is required and no rule fills it: add a rule or a default."},
    ]  # fmt: skip
    assert not table.entries.exists()  # a preview never adds the row
    assert admin.post(url(mapping, "preview"), {}, format="json").json() == {
        "record": ["This field is required."]}  # fmt: skip


def test_suggest_proposes_rules_for_unmapped_targets_of_the_live_schemas(admin, pair):
    mapping = pair.mappings.get(name="Customer → Sage 100 customer")
    spec = {"rules": [{"target": "ARDivisionNo", "constant": "00"}]}
    response = admin.post(url(mapping, "suggest"), {"spec": spec}, format="json")
    assert response.status_code == 200
    suggestions = {s["target"]: s for s in response.json()["suggestions"]}
    assert "ARDivisionNo" not in suggestions
    assert suggestions["CustomerName"]["rule"]["source"] == "name"
    assert suggestions["ZipCode"]["rule"]["source"] == "billing_address.zip"
    assert 0 < suggestions["ZipCode"]["confidence"] <= 1 and suggestions["ZipCode"]["reason"]


def test_suggest_says_when_the_system_cannot_be_reached(admin, pair, streak_sandbox):
    pair.crm.settings = {**pair.crm.settings, "base_url": "http://127.0.0.1:9"}
    pair.crm.save()
    mapping = pair.mappings.get(name=BOX_TO_CUSTOMER)
    response = admin.post(url(mapping, "suggest"), {"sample": DEAL}, format="json")
    assert response.status_code == 502 and response.json()["detail"]


def test_lookup_tables_and_rows_are_edited_through_the_api(admin, pair):
    made = admin.post("/api/v1/lookup-tables/", {"pair": "acme-deals", "name": "Regions",
                      "on_miss": "default", "default_value": "W"}, format="json")  # fmt: skip
    assert made.status_code == 201
    table = made.json()["id"]
    row = admin.post("/api/v1/lookup-entries/", {"table": table, "key": "CA", "value": "W"},
                     format="json")  # fmt: skip
    assert row.status_code == 201
    again = admin.post("/api/v1/lookup-entries/", {"table": table, "key": "CA", "value": "X"},
                       format="json")  # fmt: skip
    assert again.status_code == 400 and "non_field_errors" in again.json()
    admin.patch(f"/api/v1/lookup-entries/{row.json()['id']}/", {"value": "West"}, format="json")
    assert LookupEntry.objects.get(table_id=table, key="CA").value == "West"
    listed = admin.get(f"/api/v1/lookup-entries/?table={table}").json()
    assert [(e["key"], e["value"]) for e in listed["results"]] == [("CA", "West")]
    tables = admin.get("/api/v1/lookup-tables/?pair=acme-deals").json()["results"]
    assert {t["name"]: t["entry_count"] for t in tables}["Regions"] == 1

    clash = admin.post("/api/v1/lookup-tables/", {"pair": "acme-deals", "name": "Regions"},
                       format="json")  # fmt: skip
    assert clash.status_code == 400
    assert clash.json() == {"name": ["Pair acme-deals already has a table “Regions”."]}
    assert (
        admin.post("/api/v1/lookup-tables/", {"name": "Regions"}, format="json").status_code == 201
    )
    assert admin.delete(f"/api/v1/lookup-tables/{table}/").status_code == 204
    assert not LookupEntry.objects.filter(table_id=table).exists()


# ---------------------------------------------------------------- who may do what

READS = [("get", "/api/v1/mappings/"), ("get", "{m}"), ("get", "{m}versions/"),
         ("get", "{m}versions/1/"), ("get", "{m}diff/?a=1&b=1"), ("post", "{m}preview/"),
         ("get", "/api/v1/lookup-tables/"), ("get", "/api/v1/lookup-entries/")]  # fmt: skip
WRITES = [("post", "{m}versions/"), ("post", "{m}restore/"), ("post", "/api/v1/lookup-tables/"),
          ("post", "/api/v1/lookup-entries/")]  # fmt: skip
BODIES = {"{m}preview/": {"record": DEAL}, "{m}versions/": {"spec": {"rules": []}},
          "{m}restore/": {"version": 1},
          "/api/v1/lookup-tables/": {"name": "Global terms"}}  # fmt: skip


def call(client: APIClient, method: str, template: str, mapping: Mapping, table_id: int):
    body = BODIES.get(template, {"table": table_id, "key": "k", "value": "v"})
    target = template.replace("{m}", url(mapping))
    return getattr(client, method)(target, body if method == "post" else None, format="json")


@pytest.mark.parametrize("role", ["admin", "operator", "viewer", None])
def test_permissions_admins_write_every_role_reads_anonymous_is_asked_to_log_in(
    role, users, mapping
):
    client = client_for(users[role] if role else None)
    table = LookupTable.objects.create(name="Codes")
    for method, template in READS:
        status = call(client, method, template, mapping, table.pk).status_code
        assert status == (401 if role is None else 200), (method, template)
    for method, template in WRITES:
        status = call(client, method, template, mapping, table.pk).status_code
        expected = {"admin": 201, None: 401}.get(role, 403)
        if role == "operator" and template == "/api/v1/lookup-entries/":
            expected = 201  # operators fix lookup rows while clearing the error queue
        assert status == expected, (method, template)
