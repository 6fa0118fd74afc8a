"""WHERE clauses of the SOQL subset: AND, OR, NOT, parentheses, the comparisons and their
literals, date literals as ranges of time. Mixed into the parser (`soql.Parser`), whose token
methods and field paths it uses."""

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, NoReturn

from sandbox.salesforce import ids
from sandbox.salesforce.schema import SObject
from sandbox.salesforce.soql_model import Comparison, Condition, Path, Token

TEMPORAL = {"date", "datetime"}


class ConditionParser:
    take: Callable[[], Token]
    at: Callable[..., bool]
    expect: Callable[[str], Token]
    fail: Callable[..., NoReturn]
    path: Callable[..., Path]

    def disjunction(self, obj: SObject) -> Any:
        parts = [self.conjunction(obj)]
        while self.at("or"):
            self.take()
            parts.append(self.conjunction(obj))
        return parts[0] if len(parts) == 1 else Condition("or", parts)

    def conjunction(self, obj: SObject) -> Any:
        parts = [self.negation(obj)]
        while self.at("and"):
            self.take()
            parts.append(self.negation(obj))
        return parts[0] if len(parts) == 1 else Condition("and", parts)

    def negation(self, obj: SObject) -> Any:
        if self.at("not"):
            self.take()
            return Condition("not", [self.negation(obj)])
        if self.at("("):
            self.take()
            inner = self.disjunction(obj)
            self.expect(")")
            return inner
        return self.comparison(obj)

    def comparison(self, obj: SObject) -> Comparison:
        path = self.path(obj, self.take())
        token = self.take()
        word = token.text.lower()
        if word == "not":
            self.expect("in")
            return Comparison(path, "notin", self.value_list(path))
        if word == "in":
            return Comparison(path, "in", self.value_list(path))
        if word == "like":
            return Comparison(path, "like", self.value(path))
        if token.kind != "op":
            self.fail(f"unexpected token: '{token.text}'", token.position)
        op = "!=" if token.text == "<>" else token.text
        return Comparison(path, op, self.value(path))

    def value_list(self, path: Path) -> list[Any]:
        self.expect("(")
        values = [self.value(path)]
        while self.at(","):
            self.take()
            values.append(self.value(path))
        self.expect(")")
        return values

    def value(self, path: Path) -> Any:
        token = self.take()
        kind, text, field_type = token.kind, token.text, path.field.type
        temporal_field = field_type in TEMPORAL
        if text.lower() == "null":
            return None
        if kind in ("date", "datetime", "dateliteral") or (
            kind == "name" and text.upper() in DATE_LITERALS
        ):
            if not temporal_field:
                self.fail(
                    f"value of filter criterion for field '{path.field.name}' must be of type "
                    f"{field_type} and should be enclosed in quotes", token.position,
                    "INVALID_FIELD",
                )  # fmt: skip
            if kind == "date" and field_type == "datetime":
                self.fail(
                    f"value of filter criterion for field '{path.field.name}' must be of type "
                    "dateTime and should not be enclosed in quotes", token.position,
                    "INVALID_FIELD",
                )  # fmt: skip
            return self.temporal_range(token)
        if temporal_field:
            self.fail(
                f"value of filter criterion for field '{path.field.name}' must be of type "
                f"{field_type} and should not be enclosed in quotes", token.position,
                "INVALID_FIELD",
            )  # fmt: skip
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return float(text)
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return self.fail(f"unexpected token: '{text}'", token.position)

    def temporal_range(self, token: Token) -> tuple[datetime, datetime]:
        """Every date/datetime literal is a half-open range [start, end) of UTC datetimes."""
        if token.kind == "datetime":
            moment = ids.parse_datetime(token.text)
            return moment, moment + timedelta(microseconds=1)
        if token.kind == "date":
            day = date.fromisoformat(token.text)
            return midnight(day), midnight(day + timedelta(days=1))
        name, _, number = token.text.upper().partition(":")
        if name not in DATE_LITERALS:
            self.fail(f"unexpected token: '{token.text}'", token.position)
        today = ids.now().date()
        start, end = DATE_LITERALS[name](today, int(number or 0))
        return midnight(start), midnight(end)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=ids.now().tzinfo)


DATE_LITERALS = {  # name -> (first day, day after the last) for today and n
    "TODAY": lambda t, n: (t, t + timedelta(days=1)),
    "YESTERDAY": lambda t, n: (t - timedelta(days=1), t),
    "TOMORROW": lambda t, n: (t + timedelta(days=1), t + timedelta(days=2)),
    "LAST_N_DAYS": lambda t, n: (t - timedelta(days=n), t + timedelta(days=1)),
    "NEXT_N_DAYS": lambda t, n: (t, t + timedelta(days=n + 1)),
    "THIS_MONTH": lambda t, n: (
        t.replace(day=1),
        (t.replace(day=28) + timedelta(days=4)).replace(day=1),
    ),
    "THIS_YEAR": lambda t, n: (
        t.replace(month=1, day=1),
        t.replace(year=t.year + 1, month=1, day=1),
    ),
}
