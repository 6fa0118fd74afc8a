"""The designer's target rows: every target field with the rule that fills it (if any).

The page is rendered from these, and `designer.js` reads the page back into a spec, so each
value keeps enough of its original form (JSON or text, short or long transform) for an
unedited page to give back exactly the spec it was rendered from.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from connectors.base import FieldInfo
from mappings.transforms import ENV, TRANSFORMS, Param
from mappings.versions import RULE_PARTS

MODES = ("source", "constant", "template")


@dataclass
class ParamView:
    name: str
    type: str
    help: str
    required: bool
    default: Any
    choices: tuple[str, ...]
    text: str = ""
    checked: bool = False
    given: bool = False
    is_json: bool = False

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    @property
    def placeholder(self) -> str:
        if self.default in (None, ""):
            return (
                "from the target field" if self.type == "integer" and self.name == "length" else ""
            )
        return f"default: {self.default}"


@dataclass
class StepView:
    name: str
    label: str
    description: str
    params: list[ParamView]
    short: bool = False  # written as "trim" rather than {"name": "trim"}


@dataclass
class RuleRow:
    target: str
    info: FieldInfo | None
    mapped: bool = False
    mode: str = "source"
    value: str = ""
    value_json: bool = False
    default: str = ""
    default_json: bool = False
    has_default: bool = False
    required: bool = False
    steps: list[StepView] = field(default_factory=list)
    extra: str = "{}"
    children: list["RuleRow"] | None = None
    had_rules: bool = False

    @property
    def required_by_target(self) -> bool:
        return bool(self.info and self.info.required)


def as_text(value: Any, kind: str = "string") -> tuple[str, bool]:
    """A value for a text box, and whether the box holds JSON (a non-text constant)."""
    if value is None:
        return "", False
    if kind == "mapping" and isinstance(value, dict):
        return "\n".join(f"{key} = {item}" for key, item in value.items()), False
    if kind == "paths" and isinstance(value, list):
        return ", ".join(str(item) for item in value), False
    if kind in ("integer", "number") and isinstance(value, int | float):
        return str(value), False
    if isinstance(value, str):
        return value, False
    return json.dumps(value), True


def param_view(param: Param, given: dict[str, Any]) -> ParamView:
    view = ParamView(
        param.name, param.type, param.help, param.required, param.default, param.choices
    )
    view.given = param.name in given
    value = given.get(param.name, param.default)
    if param.type == "boolean":
        view.checked = bool(value)
    else:
        view.text, view.is_json = as_text(given.get(param.name), param.type)
        if param.type == "choice" and not view.given:
            view.text = str(param.default or "")
    return view


def step_view(step: Any) -> StepView:
    short = isinstance(step, str)
    spec = {"name": step} if short else dict(step)
    transform = TRANSFORMS.get(spec.get("name", ""))
    if transform is None:
        name = str(spec.get("name"))
        return StepView(name, name, "Unknown transform: remove it or pick another.", [])
    given = dict(spec.get("params") or {})
    params = [param_view(p, given) for p in transform.params if p.source != ENV]
    return StepView(transform.name, transform.label, transform.description, params, short)


def blank_steps() -> list[StepView]:
    """One empty form per transform: the templates `designer.js` clones on "Add"."""
    return [step_view({"name": name}) for name in TRANSFORMS]


def rule_row(target: str, info: FieldInfo | None, rule: dict[str, Any] | None) -> RuleRow:
    row = RuleRow(target=target, info=info)
    if rule is None:
        return row
    row.mapped = True
    for mode in MODES:
        if mode in rule:
            row.mode = mode
            row.value, row.value_json = as_text(rule[mode])
            break
    row.has_default = "default" in rule
    row.default, row.default_json = as_text(rule.get("default"))
    row.required = bool(rule.get("required"))
    row.steps = [step_view(step) for step in rule.get("transforms") or []]
    extra = {key: value for key, value in rule.items() if key not in (*RULE_PARTS, "target")}
    row.extra = json.dumps(extra)
    row.had_rules = "rules" in rule
    return row


def build_rows(
    rules: list[dict[str, Any]], fields: dict[str, FieldInfo], prefix: str = ""
) -> list[RuleRow]:
    """Mapped targets in the spec's order, then the target's unmapped fields."""
    rows = []
    for rule in rules:
        target = str(rule.get("target") or "")
        rows.append(rule_row(target, fields.get(prefix + target), rule))
    mapped = {row.target for row in rows}
    for name, info in fields.items():
        local = name[len(prefix) :]
        if not name.startswith(prefix) or "[]" in local or local in mapped:
            continue
        if "." in local and any(local.startswith(f"{target}.") for target in mapped):
            continue  # its parent object is mapped as a whole
        rows.append(rule_row(local, info, None))
    by_target = {str(rule.get("target")): rule for rule in rules}
    for row in rows:
        child_prefix = f"{prefix}{row.target}[]."
        has_children = any(name.startswith(child_prefix) for name in fields)
        if row.had_rules or has_children:
            sub_rules = (by_target.get(row.target) or {}).get("rules") or []
            row.children = build_rows(sub_rules, fields, child_prefix)
    return rows


def count_mapped(rows: list[RuleRow]) -> tuple[int, int]:
    """(mapped, all) targets, for the page's progress line."""
    return sum(row.mapped for row in rows), len(rows)


def step_summary(step: Any) -> str:
    """“Lookup table (Payment terms)”: a transform and its main parameter, for tables."""
    spec = {"name": step} if isinstance(step, str) else step
    transform = TRANSFORMS.get(spec.get("name", ""))
    label = transform.label if transform else str(spec.get("name"))
    params = spec.get("params") or {}
    shown = [str(value) for value in params.values() if isinstance(value, str | int | float)]
    return f"{label} ({', '.join(shown)})" if shown else label


def value_summary(rule: dict[str, Any]) -> str:
    if "constant" in rule:
        return f"constant {json.dumps(rule['constant'])}"
    if rule.get("template"):
        return f"template “{rule['template']}”"
    return str(rule.get("source") or "—")
