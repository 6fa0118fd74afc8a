"""A SOQL subset: parse a query and run it over the sandbox's records.

Supported: SELECT fields, one-level parent fields (`Account.Name`), one child subquery
(`(SELECT Id FROM OpportunityLineItems)`), COUNT(); WHERE with = != <> < > <= >= IN, NOT IN,
LIKE, AND, OR, NOT, parentheses; string, number, boolean, null, date and datetime literals and
the date literals TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n, THIS_MONTH,
THIS_YEAR; ORDER BY (ASC/DESC, NULLS FIRST/LAST), LIMIT, OFFSET. Errors are Salesforce's:
MALFORMED_QUERY, INVALID_TYPE, INVALID_FIELD.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.records import Record, Records
from sandbox.salesforce.schema import Field, SObject, sobject

TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:\\.|[^'\\])*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<dateliteral>[A-Za-z_]+:\d+)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),])
    )""",
    re.VERBOSE,
)
KEYWORDS = set(
    [
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "like",
        "order",
        "by",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "offset",
        "null",
        "true",
        "false",
    ]
)
TEMPORAL = {"date", "datetime"}


@dataclass
class Token:
    kind: str
    text: str
    position: int


@dataclass
class Path:
    """A selected or filtered field: on the queried object, or one parent hop away."""

    field: Field
    relationship: Field | None = None  # the lookup field, e.g. AccountId for Account.Name

    def value(self, record: Record, parents: "ParentCache") -> Any:
        if self.relationship is None:
            return record.get(self.field.name)
        parent = parents.get(self.relationship, record.get(self.relationship.name))
        return parent.get(self.field.name) if parent else None


@dataclass
class Comparison:
    path: Path
    op: str  # = != < > <= >= in notin like
    value: Any


@dataclass
class Condition:
    kind: str  # and, or, not
    parts: list[Any]


@dataclass
class Query:
    obj: SObject
    fields: list[Any] = field(default_factory=list)  # Path or SubQuery, in select order
    where: Any = None
    order: list[tuple[Path, bool, bool]] = field(default_factory=list)  # path, desc, nulls last
    limit: int | None = None
    offset: int = 0
    count_only: bool = False


@dataclass
class SubQuery:
    relationship_name: str
    link_field: str  # on the child, e.g. OpportunityId
    query: Query


class ParentCache:
    """Parent records looked up once per query run."""

    def __init__(self, records: Records) -> None:
        self.records, self.cache = records, {}

    def get(self, lookup: Field, record_id: str | None) -> Record | None:
        if not record_id:
            return None
        key = (lookup.reference_to, record_id)
        if key not in self.cache:
            self.cache[key] = self.records.get(sobject(lookup.reference_to), record_id)
        return self.cache[key]


class Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = self.tokenize(soql)
        self.pos = 0

    def tokenize(self, soql: str) -> list[Token]:
        tokens, index = [], 0
        while index < len(soql):
            if soql[index:].strip() == "":
                break
            match = TOKEN.match(soql, index)
            if not match or match.end() == index:
                stripped = len(soql) - len(soql[index:].lstrip())
                self.fail(f"unexpected token: '{soql[stripped]}'", stripped)
            kind = match.lastgroup
            tokens.append(Token(kind, match.group(kind), match.start(kind)))
            index = match.end()
        return tokens

    def fail(self, message: str, position: int | None = None, code: str = "MALFORMED_QUERY"):
        if position is None:
            token = self.peek()
            position = token.position if token else len(self.soql)
        column = position + 1
        pointer = " " * position + "^"
        raise ApiError(
            400, code, f"\n{self.soql}\n{pointer}\nERROR at Row:1:Column:{column}\n{message}"
        )

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def at(self, *words: str) -> bool:
        token = self.peek()
        return bool(token and token.text.lower() in words)

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            self.fail("unexpected end of query")
        self.pos += 1
        return token

    def expect(self, word: str) -> Token:
        token = self.peek()
        if token is None or token.text.lower() != word:
            shown = token.text if token else "<EOF>"
            self.fail(f"unexpected token: '{shown}'")
        return self.take()

    # ------------------------------------------------------------ grammar

    def parse(self) -> Query:
        query = self.select()
        if self.peek() is not None:
            self.fail(f"unexpected token: '{self.peek().text}'")
        return query

    def select(self, parent: SObject | None = None) -> Query | SubQuery:
        self.expect("select")
        items: list[tuple[str, Any]] = []
        while True:
            token = self.take()
            if token.text == "(":
                items.append(("sub", self.pos))
                self.skip_to_closing_parenthesis()
            elif token.text.lower() == "count" and self.at("("):
                self.take()
                self.expect(")")
                items.append(("count", token))
            elif token.kind == "name" and token.text.lower() not in KEYWORDS:
                items.append(("field", token))
            else:
                self.fail(f"unexpected token: '{token.text}'", token.position)
            if not self.at(","):
                break
            self.take()
        self.expect("from")
        from_token = self.take()
        if parent is not None:
            child = parent.child(from_token.text)
            if child is None:
                self.fail(
                    f"Didn't understand relationship '{from_token.text}' in FROM part of query "
                    "call. If you are attempting to use a custom relationship, be sure to append "
                    "the '__r' after the custom relationship name. Please reference your WSDL or "
                    "the describe call for the appropriate names.",
                    from_token.position, "INVALID_TYPE",
                )  # fmt: skip
            obj = sobject(child.child)
        else:
            obj = sobject(from_token.text)
            if obj is None:
                self.fail(
                    f"sObject type '{from_token.text}' is not supported. If you are attempting to "
                    "use a custom object, be sure to append the '__c' after the entity name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                    from_token.position, "INVALID_TYPE",
                )  # fmt: skip
        query = Query(obj)
        for kind, item in items:
            if kind == "field":
                query.fields.append(self.path(obj, item))
            elif kind == "count":
                query.count_only = True
            elif parent is not None:
                self.fail("nested subqueries are not supported", self.tokens[item].position)
            else:
                saved, self.pos = self.pos, item
                query.fields.append(self.select(obj))
                self.expect(")")
                self.pos = saved
        self.clauses(query)
        if parent is not None:
            return SubQuery(from_token.text, child.field, query)
        return query

    def skip_to_closing_parenthesis(self) -> None:
        """Step over a child subquery; it is parsed once FROM names its parent object."""
        depth = 1
        while depth:
            token = self.take()
            depth += {"(": 1, ")": -1}.get(token.text, 0)

    def clauses(self, query: Query) -> None:
        if self.at("where"):
            self.take()
            query.where = self.disjunction(query.obj)
        if self.at("order"):
            self.take()
            self.expect("by")
            while True:
                path = self.path(query.obj, self.take())
                descending = bool(self.at("asc", "desc") and self.take().text.lower() == "desc")
                nulls_last = descending
                if self.at("nulls"):
                    self.take()
                    nulls_last = self.take().text.lower() == "last"
                query.order.append((path, descending, nulls_last))
                if not self.at(","):
                    break
                self.take()
        if self.at("limit"):
            self.take()
            query.limit = self.integer()
        if self.at("offset"):
            self.take()
            query.offset = self.integer()

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            self.fail(f"unexpected token: '{token.text}'", token.position)
        return int(token.text)

    def path(self, obj: SObject, token: Token) -> Path:
        if token.kind != "name":
            self.fail(f"unexpected token: '{token.text}'", token.position)
        parts = token.text.split(".")
        if len(parts) == 1:
            return Path(self.field(obj, parts[0], token))
        if len(parts) > 2:
            self.fail("only one level of parent relationship is supported", token.position)
        lookup = obj.by_relationship.get(parts[0].lower())
        if lookup is None:
            self.fail(
                f"Didn't understand relationship '{parts[0]}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the "
                "custom relationship name. Please reference your WSDL or the describe call for "
                "the appropriate names.",
                token.position, "INVALID_FIELD",
            )  # fmt: skip
        return Path(self.field(sobject(lookup.reference_to), parts[1], token), lookup)

    def field(self, obj: SObject, name: str, token: Token) -> Field:
        found = obj.field(name)
        if found is None:
            self.fail(
                f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                token.position, "INVALID_FIELD",
            )  # fmt: skip
        return found

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


def parse(soql: str) -> Query:
    if not soql or not soql.strip():
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    return Parser(soql).parse()
