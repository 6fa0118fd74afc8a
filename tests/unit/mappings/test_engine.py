"""The engine: paths, line groups, target checks, issues instead of exceptions, speed."""

import time
from decimal import Decimal

import pytest

from connectors.base import FieldInfo
from mappings.engine import MappingSpecError, compile_spec
from mappings.lookups import StaticEnvironment
from mappings.paths import compile_getter

DEAL = {
    "key": "box-1",
    "name": "Harbor Point - Widget restock",
    "fieldsByName": {"Amount": "720.00", "Currency": "EUR", "GL Account Code": "4000",
                     "Products": "WIDGET-100 x 5 @ 120.00\nGADGET-201 x 1 @ 120.00"},
    "organization": {"name": "Harbor Point Logistics"},
    "contacts": [{"email": "maria@harbor.example"}, {"email": "li@harbor.example"}],
}  # fmt: skip
SAGE_FIELDS = [
    FieldInfo("CustomerName", "Customer name", "string", length=12, required=True),
    FieldInfo("CreditLimit", "Credit limit", "number"),
    FieldInfo("CustomerStatus", "Status", "string", choices=("A", "I")),
    FieldInfo("lines", "Lines", "list"),
    FieldInfo("lines[].ItemCode", "Item", "string", length=30, required=True),
    FieldInfo("lines[].QuantityOrdered", "Quantity", "number", required=True),
]


def test_paths_read_nested_keys_indices_and_every_item():
    assert compile_getter("fieldsByName.GL Account Code")(DEAL, DEAL) == "4000"
    assert compile_getter("contacts[1].email")(DEAL, DEAL) == "li@harbor.example"
    assert compile_getter("contacts[*].email")(DEAL, DEAL) == [
        "maria@harbor.example", "li@harbor.example"]  # fmt: skip
    assert compile_getter("contacts[5].email")(DEAL, DEAL) is None
    assert compile_getter("name.first")(DEAL, DEAL) is None


def test_a_streak_deal_becomes_a_canonical_sales_order_with_lines():
    spec = {"target_entity": "SalesOrder", "rules": [
        {"target": "customer_name", "source": "organization.name"},
        {"target": "currency", "source": "fieldsByName.Currency"},
        {"target": "total_base", "source": "fieldsByName.Amount", "transforms": [
            {"name": "convert_currency", "params": {"currency": "fieldsByName.Currency"}}]},
        {"target": "notes", "template": "Deal {key}: {name}"},
        {"target": "status", "constant": "open"},
        {"target": "lines", "source": "fieldsByName.Products", "transforms": ["parse_lines"],
         "rules": [{"target": "sku", "source": "sku"},
                   {"target": "quantity", "source": "quantity"},
                   {"target": "gl_account", "source": "$.fieldsByName.GL Account Code"}]},
    ]}  # fmt: skip
    env = StaticEnvironment("USD", rates={("EUR", "USD"): Decimal("1.10")})
    result = compile_spec(spec).apply(DEAL, env)
    assert result.ok, result.issues
    assert result.output["total_base"] == Decimal("792.00")
    assert result.output["notes"] == "Deal box-1: Harbor Point - Widget restock"
    assert result.output["lines"] == [
        {"sku": "WIDGET-100", "quantity": Decimal("5"), "gl_account": "4000"},
        {"sku": "GADGET-201", "quantity": Decimal("1"), "gl_account": "4000"},
    ]


def test_target_checks_name_the_field_and_say_what_to_do():
    spec = {"rules": [
        {"target": "CustomerName", "source": "organization.name"},
        {"target": "CreditLimit", "source": "fieldsByName.Amount"},
        {"target": "CustomerStatus", "constant": "active"},
        {"target": "lines", "source": "lines", "rules": [
            {"target": "ItemCode", "source": "sku"}]},
    ]}  # fmt: skip
    record = {**DEAL, "lines": [{"sku": "WIDGET-100"}]}
    result = compile_spec(spec, SAGE_FIELDS, "Sage 100").apply(record)
    problems = {issue.field: issue for issue in result.issues}
    assert problems["CustomerName"].code == "too_long"
    assert "at most 12 characters in Sage 100" in problems["CustomerName"].message
    assert problems["CreditLimit"].code == "type"
    assert "Add a Number transform" in problems["CreditLimit"].message
    assert problems["CustomerStatus"].code == "choice"
    assert problems["lines[0].QuantityOrdered"].code == "required"
    assert not result.ok


def test_truncate_takes_the_target_length_and_warns():
    spec = {"rules": [{"target": "CustomerName", "source": "organization.name",
                       "transforms": ["truncate"]}]}  # fmt: skip
    result = compile_spec(spec, SAGE_FIELDS).apply(DEAL)
    assert result.output["CustomerName"] == "Harbor Point"
    assert result.ok
    assert [issue.level for issue in result.issues] == ["warning"]


def test_defaults_fill_empty_values_and_required_ones_are_reported():
    spec = {"rules": [
        {"target": "currency", "source": "fieldsByName.Missing", "default": "USD"},
        {"target": "terms", "source": "fieldsByName.Missing", "required": True},
    ]}  # fmt: skip
    result = compile_spec(spec).apply(DEAL)
    assert result.output == {"currency": "USD"}
    assert [(i.field, i.code) for i in result.issues] == [("terms", "required")]


def test_a_required_target_no_rule_fills_is_an_issue_on_every_record():
    result = compile_spec({"target_entity": "Customer", "rules": []}).apply(DEAL)
    assert [(i.field, i.code) for i in result.issues] == [("name", "required")]


def test_problems_inside_transforms_become_issues_never_exceptions():
    spec = {"rules": [
        {"target": "total", "source": "name", "transforms": ["number"]},
        {"target": "when", "source": "organization", "transforms": ["date"]},
        {"target": "terms", "source": "name", "transforms": [
            {"name": "lookup", "params": {"table": "Terms"}}]},
        {"target": "ok", "source": "key"},
    ]}  # fmt: skip
    result = compile_spec(spec).apply(DEAL)
    assert result.output == {"ok": "box-1"}
    assert [i.field for i in result.issues] == ["total", "when", "terms"]
    assert all(i.level == "error" for i in result.issues)
    assert "“Harbor Point - Widget restock” is not a number" in result.issues[0].message


def test_a_missing_rate_flags_the_record_for_review():
    spec = {
        "rules": [
            {
                "target": "total_base",
                "source": "fieldsByName.Amount",
                "transforms": [
                    {"name": "convert_currency", "params": {"currency": "fieldsByName.Currency"}}
                ],
            }
        ]
    }
    result = compile_spec(spec).apply(DEAL, StaticEnvironment("USD"))
    assert result.needs_review
    assert "total_base" not in result.output  # never converted at 1.0


def test_a_broken_spec_is_refused_at_compile_time_with_every_problem():
    with pytest.raises(MappingSpecError) as raised:
        compile_spec({"rules": [
            {"target": "a", "source": "x", "transforms": ["no_such_thing"]},
            {"target": "b", "source": "x", "transforms": ["lookup"]},
            {"target": "c", "source": "x", "constant": 1},
            {"source": "x"},
        ]})  # fmt: skip
    assert len(raised.value.problems) == 4
    assert any("no transform “no_such_thing”" in p for p in raised.value.problems)


def test_unknown_targets_are_design_time_warnings():
    compiled = compile_spec({"rules": [{"target": "Nope", "constant": 1}]}, SAGE_FIELDS, "Sage")
    assert [i.message for i in compiled.spec_issues] == ["Sage has no field Nope."]


def test_a_twenty_field_mapping_costs_microseconds():
    rules = [
        {"target": f"field{n}", "source": "organization.name" if n % 2 else "name",
         "transforms": ["trim", "upper", {"name": "truncate", "params": {"length": 40}}]}
        for n in range(20)
    ]  # fmt: skip
    compiled = compile_spec({"rules": rules})
    started = time.perf_counter()
    for _ in range(1000):
        compiled.apply(DEAL)
    per_record = (time.perf_counter() - started) / 1000
    assert per_record < 0.001, f"{per_record * 1e6:.0f} µs a record"


def test_a_condition_on_the_value_itself_and_a_clashing_target_are_issues_not_crashes():
    when_empty = {"name": "conditional", "params": {"operator": "is_empty", "then": "none"}}
    compiled = compile_spec({"rules": [
        {"target": "status", "source": "missing", "transforms": [when_empty]},
        {"target": "custom", "source": "name"},
        {"target": "custom.note", "source": "key"},
    ]})  # fmt: skip
    result = compiled.apply(DEAL)
    assert result.output == {"status": "none", "custom": DEAL["name"]}
    assert [issue.field for issue in result.errors] == ["custom.note"]
