"""A flow's business rules (issue 19 item 7): what they may say, how they are checked, and
whether a deal meets them.

A rule is a plain record, edited in the rules editor or the API, never typed as text:

    {"name": "Big deals", "match": "all",
     "conditions": [{"field": "total", "name": "", "op": "gt", "value": "5000"}],
     "action": {"kind": "require_approval", "text": "Over 5,000", "field": "",
                "value": "", "flow": ""}}

Conditions read the mapped document (amount, currency, customer, each line's item and
quantity, any of its fields) or the deal as the CRM gave it; `match` says whether all or
any must hold. Every rule whose conditions hold acts, in order, until one skips the deal or
routes it to another flow. `clean_rules` checks a list and answers in sentences naming the
rule, the field and why; `rules_met` is a pure function, so the preview runs it on recent
deals exactly as the run's step does.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

FIELDS = {
    "total": "Amount",
    "total_base": "Amount in the base currency",
    "currency": "Currency",
    "customer_name": "Customer name",
    "customer_ref": "Customer number in the ERP",
    "item": "Item code on any line",
    "quantity": "Quantity on any line",
    "document": "Field of the mapped document",
    "deal": "Field of the deal",
}
NUMERIC_FIELDS = {"total", "total_base", "quantity"}
NAMED_FIELDS = {"document", "deal"}  # the condition names the field to read
OPERATORS = {
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "ge": "≥",
    "lt": "<",
    "le": "≤",
    "contains": "contains",
    "empty": "is empty",
}
ORDERING = {"gt", "ge", "lt", "le"}
MATCHES = {"all": "all conditions hold", "any": "any condition holds"}
REQUIRE_APPROVAL, HOLD, SKIP, ROUTE, SET_FIELD, TASK = (
    "require_approval", "hold", "skip", "route", "set_field", "task",
)  # fmt: skip
ACTIONS = {
    REQUIRE_APPROVAL: "Require approval",
    HOLD: "Hold for review",
    SKIP: "Skip the deal",
    ROUTE: "Route to another flow",
    SET_FIELD: "Set a field",
    TASK: "Make a task for the deal's owner",
}
STOPPING = {SKIP, ROUTE}  # the run ends; later rules are not looked at
# The mapped document's text fields a rule may set; the amount, currency, lines and the
# deal's ID come from the mapping, which the approvals and the duplicate guard rely on.
SETTABLE = {
    "notes": "Notes (the order's comment)",
    "po_number": "Customer PO number",
    "terms": "Terms",
    "gl_account": "GL account",
}
MAX_RULES, MAX_CONDITIONS, MAX_TEXT = 50, 10, 200
CONDITION_KEYS = ("field", "name", "op", "value")
ACTION_KEYS = ("kind", "text", "field", "value", "flow")


class RulesInvalid(Exception):
    """The rules cannot be saved; `problems` says, one sentence each, what to fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Facts:
    """What a rule looks at for one deal."""

    document: dict[str, Any]
    deal: dict[str, Any] = field(default_factory=dict)
    customer_ref: str = ""


@dataclass(frozen=True)
class Hit:
    """A rule whose conditions hold: its number (from 1) and the rule."""

    number: int
    rule: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.rule["action"]["kind"]

    @property
    def title(self) -> str:
        name = self.rule.get("name") or ""
        return f"rule {self.number}" + (f" “{name}”" if name else "")


def blank_rule() -> dict[str, Any]:
    return {
        "name": "",
        "match": "all",
        "conditions": [blank_condition()],
        "action": dict.fromkeys(ACTION_KEYS, "") | {"kind": REQUIRE_APPROVAL},
    }


def blank_condition() -> dict[str, str]:
    return {"field": "total", "name": "", "op": "gt", "value": ""}


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()[:MAX_TEXT]


def number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None


def clean_rules(data: Any, route_targets: Iterable[str]) -> list[dict[str, Any]]:
    """The rules as stored, each key in place and each value text; RulesInvalid naming every
    problem. `route_targets` are the flows a rule may route to."""
    if not isinstance(data, list):
        raise RulesInvalid(["The rules must be a list."])
    if len(data) > MAX_RULES:
        raise RulesInvalid([f"At most {MAX_RULES} rules: remove {len(data) - MAX_RULES}."])
    targets = set(route_targets)
    rules, problems = [], []
    for number_, item in enumerate(data, start=1):
        rule = clean_rule(item)
        problems += rule_problems(rule, number_, targets)
        rules.append(rule)
    if problems:
        raise RulesInvalid(problems)
    return rules


def clean_rule(item: Any) -> dict[str, Any]:
    item = item if isinstance(item, dict) else {}
    conditions = item.get("conditions") if isinstance(item.get("conditions"), list) else []
    action = item.get("action") if isinstance(item.get("action"), dict) else {}
    return {
        "name": text(item.get("name")),
        "match": text(item.get("match")) or "all",
        "conditions": [
            {key: text(c.get(key)) for key in CONDITION_KEYS} if isinstance(c, dict) else {}
            for c in conditions
        ],
        "action": {key: text(action.get(key)) for key in ACTION_KEYS},
    }


def rule_problems(rule: dict[str, Any], number_: int, targets: set[str]) -> list[str]:
    where = f"Rule {number_}" + (f" (“{rule['name']}”)" if rule["name"] else "")
    problems = []
    if rule["match"] not in MATCHES:
        problems.append(f"{where}: say whether all or any of its conditions must hold.")
    if not rule["conditions"]:
        problems.append(f"{where}: add a condition, e.g. Amount > 5000.")
    if len(rule["conditions"]) > MAX_CONDITIONS:
        problems.append(f"{where}: at most {MAX_CONDITIONS} conditions.")
    for index, condition in enumerate(rule["conditions"], start=1):
        problem = condition_problem(condition)
        if problem:
            problems.append(f"{where}, condition {index}: {problem}")
    problem = action_problem(rule["action"], targets)
    if problem:
        problems.append(f"{where}, action: {problem}")
    return problems


def condition_problem(condition: dict[str, str]) -> str:
    name, op, value = condition.get("field"), condition.get("op"), condition.get("value", "")
    if name not in FIELDS:
        return "choose what the condition looks at (amount, customer, item, …)."
    label = FIELDS[name]
    if name in NAMED_FIELDS and not condition.get("name"):
        return f"{label}: type the field's name, e.g. po_number."
    if op not in OPERATORS:
        return f"{label}: choose how to compare (=, >, contains, …)."
    if op == "empty":
        return ""
    if not value:
        return f"{label} {OPERATORS[op]} what? Type a value to compare with."
    if (name in NUMERIC_FIELDS or op in ORDERING) and number(value) is None:
        return f"{label} {OPERATORS[op]} needs a number, e.g. 5000; “{value}” is not one."
    return ""


def action_problem(action: dict[str, str], targets: set[str]) -> str:
    kind = action.get("kind")
    if kind not in ACTIONS:
        return "choose what the rule does (require approval, skip, …)."
    if kind in (REQUIRE_APPROVAL, HOLD, SKIP) and not action.get("text"):
        return f"{ACTIONS[kind]}: say why, so people see the reason."
    if kind == TASK and not action.get("text"):
        return "Make a task: type what the task asks the owner to do."
    if kind == SET_FIELD:
        if action.get("field") not in SETTABLE:
            return f"Set a field: choose one of {', '.join(SETTABLE)}."
        if not action.get("value"):
            return "Set a field: type the value to set."
    if kind == ROUTE and action.get("flow") not in targets:
        if not targets:
            return "Route to another flow: this pair has no other flow for won deals."
        return f"Route to another flow: choose one of {', '.join(sorted(targets))}."
    return ""


def rules_met(rules: list[dict[str, Any]], facts: Facts) -> list[Hit]:
    """The rules whose conditions hold for `facts`, in order, up to the first that skips
    the deal or routes it."""
    hits = []
    for number_, rule in enumerate(rules, start=1):
        results = [holds(condition, facts) for condition in rule["conditions"]]
        met = any(results) if rule.get("match") == "any" else all(results)
        if met and results:
            hits.append(Hit(number_, rule))
            if rule["action"]["kind"] in STOPPING:
                break
    return hits


def values_of(condition: dict[str, str], facts: Facts) -> list[Any]:
    name, document = condition["field"], facts.document
    lines = [line for line in document.get("lines") or [] if isinstance(line, dict)]
    if name == "item":
        return [line.get("sku") for line in lines]
    if name == "quantity":
        return [line.get("quantity") for line in lines]
    if name == "customer_ref":
        return [facts.customer_ref]
    if name in NAMED_FIELDS:
        return [looked_up(document if name == "document" else facts.deal, condition["name"])]
    return [document.get(name)]


def looked_up(record: Any, path: str) -> Any:
    """A dotted path's value in a record ("fieldsByName.Lead Source"), None when absent."""
    for part in path.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(part)
    return record


def holds(condition: dict[str, str], facts: Facts) -> bool:
    values, op, wanted = values_of(condition, facts), condition["op"], condition["value"]
    if op == "empty":
        return not values or any(text(value) == "" for value in values)
    if op == "ne":
        return not any(compares("eq", value, wanted) for value in values)
    return any(compares(op, value, wanted) for value in values)


def compares(op: str, value: Any, wanted: str) -> bool:
    left, right = number(value), number(wanted)
    if op in ORDERING:
        if left is None or right is None:
            return False
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[
            op
        ]
    if op == "contains":
        return text(wanted).casefold() in text(value).casefold()
    if left is not None and right is not None:
        return left == right
    return text(value).casefold() == text(wanted).casefold()


def describe(rule: dict[str, Any], flow_labels: dict[str, str] | None = None) -> str:
    """The rule in one line: "Amount > 5000 → Require approval (Over 5,000)"."""
    joiner = " or " if rule.get("match") == "any" else " and "
    conditions = joiner.join(describe_condition(c) for c in rule["conditions"])
    action = rule["action"]
    kind = action["kind"]
    does = ACTIONS.get(kind, kind)
    if kind == SET_FIELD:
        does = f"Set {SETTABLE.get(action['field'], action['field'])} to “{action['value']}”"
    elif kind == ROUTE:
        does = f"Route to {(flow_labels or {}).get(action['flow'], action['flow'])}"
    elif action.get("text"):
        does = f"{does} ({action['text']})"
    return f"{conditions} → {does}"


def describe_condition(condition: dict[str, str]) -> str:
    label = FIELDS.get(condition.get("field", ""), condition.get("field", ""))
    if condition.get("field") in NAMED_FIELDS:
        label = f"{label} {condition.get('name', '')}"
    op = OPERATORS.get(condition.get("op", ""), condition.get("op", ""))
    return f"{label} {op}" + ("" if condition.get("op") == "empty" else f" {condition['value']}")
