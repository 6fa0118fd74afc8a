"""Configuration import (Settings → Configuration, and `manage.py import_config`): the file's
shape is checked strictly, its mapping specs compile under the same bounds as a preview, and
flow settings are written only for a user who may change a pair's flows."""

import html
import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from clarity.roles import VIEWER
from connectors.models import IntegrationPair
from flows.models import FlowConfig
from mappings.config_transfer import export_config
from mappings.models import CurrencyRate, Mapping
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db

DEAL_CUSTOMER = "Streak deal → customer"
TAX_RULE = {"target": "tax_number", "constant": "DE1"}
MAPPING_RIGHTS = ("add_mappingversion", "change_lookuptable", "change_currencyrate")


@pytest.fixture
def pair() -> IntegrationPair:
    return IntegrationPairFactory(name="Acme deals")


@pytest.fixture
def mapping_editor(make_user):
    """May import mappings, tables and rates, but not change a pair's flows."""
    user = make_user("mapper", VIEWER)
    rights = Permission.objects.filter(
        content_type__app_label="mappings", codename__in=MAPPING_RIGHTS
    )
    user.user_permissions.add(*rights)
    return user


def client_for(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def upload(client: Client, document: dict[str, Any] | bytes) -> tuple[int, str]:
    """Show changes: (status, page after any redirect)."""
    content = document if isinstance(document, bytes) else json.dumps(document).encode()
    file = SimpleUploadedFile("config.json", content, content_type="application/json")
    response = client.post(reverse("config-import"), {"file": file}, follow=True)
    return response.status_code, html.unescape(response.content.decode())


def apply(client: Client, document: dict[str, Any]) -> tuple[int, str]:
    """Apply these changes, as the plan page's form posts it."""
    data = {"document": json.dumps(document), "filename": "config.json", "apply": "1"}
    response = client.post(reverse("config-import"), data, follow=True)
    return response.status_code, html.unescape(response.content.decode())


def production_file(pair: IntegrationPair) -> dict[str, Any]:
    """An export whose flows are all on and whose customer mapping has one more rule."""
    document = export_config([pair])
    exported = document["pairs"][0]
    for item in exported["flow_settings"]:
        item["enabled"] = True
    mapping = next(m for m in exported["mappings"] if m["name"] == DEAL_CUSTOMER)
    mapping["spec"]["rules"].append(TAX_RULE)
    return document


def flows_on(pair: IntegrationPair) -> int:
    return FlowConfig.objects.filter(pair=pair, enabled=True).count()


def test_flow_settings_are_skipped_for_a_user_who_may_not_change_flows(pair, mapping_editor, users):
    document = production_file(pair)
    editor = client_for(mapping_editor)
    status, page = upload(editor, document)
    assert status == 200
    assert "Flow settings of acme-deals are not imported" in page
    assert "changing a pair's flows needs the Integration admin role" in page
    status, page = apply(editor, document)
    assert status == 200 and "Imported: 1 mapping(s) saved as new versions" in page
    assert "flow settings of 1 pair(s) skipped" in page
    assert flows_on(pair) == 0  # nothing switched on …
    spec = Mapping.objects.get(pair=pair, name=DEAL_CUSTOMER).active_version.spec
    assert TAX_RULE in spec["rules"]  # … while the mappings were imported

    admin = client_for(users["admin"])
    status, page = upload(admin, document)
    assert "deal_won_to_sales_order: on/off changed" in page
    apply(admin, document)
    assert flows_on(pair) == FlowConfig.objects.filter(pair=pair).count() > 0


def set_in(document: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    node = document
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return document


def set_option(document: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """One option of the won-deal flow's settings (the flow that has it)."""
    items = document["pairs"][0]["flow_settings"]
    item = next(item for item in items if item["flow"] == "deal_won_to_sales_order")
    item["options"] = {name: value}
    return document


MAPPING = ("pairs", 0, "mappings", 0)
SPEC_RULES = (*MAPPING, "spec", "rules")
BROKEN_FILES: list[tuple[str, Callable[[dict], dict], str]] = [
    ("pair not an object", lambda d: set_in(d, ("pairs",), [1]), "pairs[0] must be an object"),
    ("unknown key", lambda d: set_in(d, ("surprise",), 1), "unknown key “surprise”"),
    ("pairs not a list", lambda d: set_in(d, ("pairs",), {"a": 1}), "“pairs” must be a list"),
    (
        "rate unreadable",
        lambda d: set_in(
            d,
            ("global", "currency_rates"),
            [{"from": "EUR", "to": "USD", "rate": "1e999", "as_of": "2025-01-01"}],
        ),
        "“rate” must be a number above 0 and below 10000000000",
    ),
    (
        "rows not a map",
        lambda d: set_in(d, ("pairs", 0, "lookup_tables", 0, "entries"), [1, 2]),
        "“entries” must be an object",
    ),
    (
        "row too long",
        lambda d: set_in(d, ("pairs", 0, "lookup_tables", 0, "entries"), {"k": "v" * 5000}),
        "values of at most 200 characters",
    ),
    (
        "bad on-miss",
        lambda d: set_in(d, ("pairs", 0, "lookup_tables", 0, "on_miss"), "explode"),
        "“on_miss” must be one of",
    ),
    (
        "bad direction",
        lambda d: set_in(d, (*MAPPING, "direction"), "sideways"),
        "“direction” must be one of in, out",
    ),
    (
        "long name",
        lambda d: set_in(d, (*MAPPING, "name"), "n" * 5000),
        "“name” must be text of at most 100 characters",
    ),
    (
        "flow option type",
        lambda d: set_option(d, "approval_threshold", "lots"),
        "option “approval_threshold” must be a number",
    ),
    (
        "flow switch type",
        lambda d: set_in(d, ("pairs", 0, "flow_settings", 0, "enabled"), "yes"),
        "“enabled” must be true or false",
    ),
    (  # Python's json writes and reads it; no database column stores it
        "infinity",
        lambda d: set_in(d, (*SPEC_RULES, 0, "surprise"), float("inf")),
        "That is not valid JSON: Infinity is not a JSON value",
    ),
]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [(breakage, message) for _, breakage, message in BROKEN_FILES],
    ids=[name for name, _, _ in BROKEN_FILES],
)
def test_a_file_of_the_wrong_shape_is_refused_with_a_message(pair, users, breakage, message):
    document = breakage(export_config([pair]))
    admin = client_for(users["admin"])
    status, page = upload(admin, document)
    assert status == 200 and message in page
    assert "Apply these changes" not in page
    status, page = apply(admin, document)
    assert status == 200 and message in page
    assert not CurrencyRate.objects.exists()


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"target": "name", "source": "x", "transforms": [{"name": "text",
          "params": {"places": 10**9}}]}, "“places” must be a whole number from 0 to 10"),
        ({"target": "name", "source": "x", "transforms": [{"name": "regex_extract",
          "params": {"pattern": r"(\d)\1"}}]}, "the “pattern” cannot be used"),
    ],
)  # fmt: skip
def test_imported_specs_compile_under_the_preview_bounds(pair, users, rule, problem):
    document = set_in(export_config([pair]), SPEC_RULES, [rule])
    admin = client_for(users["admin"])
    status, page = upload(admin, document)
    assert status == 200 and problem in page
    assert "Some mappings in the file cannot compile" in page
    status, page = apply(admin, document)
    assert "Nothing was imported: these mappings cannot compile" in page


def test_the_command_refuses_a_file_of_the_wrong_shape_in_words(pair, tmp_path):
    file = tmp_path / "config.json"
    file.write_text(json.dumps(set_in(export_config([pair]), ("pairs",), [1])))
    with pytest.raises(CommandError, match=r"pairs\[0\] must be an object"):
        call_command("import_config", str(file), stdout=StringIO())
    file.write_text("[" * 100_000)
    with pytest.raises(CommandError, match="nested deeper than"):
        call_command("import_config", str(file), stdout=StringIO())
