"""A SOQL subset: parse a query into `soql_model` terms (`query` runs it over the records).

Supported: SELECT fields; parent fields up to five lookups away (`Account.Name`,
`PricebookEntry.Product2.ProductCode`, `Account.Owner.Name`); child subqueries
(`(SELECT Id FROM OpportunityLineItems)`, nested from API version 58.0 on); COUNT() and the
aggregate functions COUNT, COUNT_DISTINCT, SUM, AVG, MIN, MAX with aliases (unaliased ones
come back as expr0, expr1…) and GROUP BY; WHERE with = != <> < > <= >= IN, NOT IN, LIKE, AND,
OR, NOT, parentheses; string, number, boolean, null, date and datetime literals and the date
literals TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n, THIS_MONTH, THIS_YEAR;
ORDER BY (ASC/DESC, NULLS FIRST/LAST, aggregates too), LIMIT, OFFSET. Anything else (HAVING,
TYPEOF, date functions, polymorphic parents) is answered as Salesforce answers what it cannot
parse: MALFORMED_QUERY naming the token, with the row and column. Other errors are
Salesforce's too, in its words: INVALID_TYPE, INVALID_FIELD.
"""

import re
from typing import Any

from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.schema import Field, SObject, sobject
from sandbox.salesforce.soql_model import AGGREGATE_TYPES, Aggregate, Path, Query, SubQuery, Token
from sandbox.salesforce.soql_where import ConditionParser

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
KEYWORDS = {
    "select", "from", "where", "and", "or", "not", "in", "like", "group", "order", "by", "asc",
    "desc", "nulls", "first", "last", "limit", "offset", "null", "true", "false",
}  # fmt: skip
PARENT_HOPS = 5  # Salesforce follows at most five lookups from the queried object
NESTED_CHILDREN_SINCE = 58  # API version from which child subqueries nest (four levels)


class Parser(ConditionParser):
    def __init__(self, soql: str, version: str = "59.0") -> None:
        self.soql = soql
        self.tokens = self.tokenize(soql)
        self.pos = 0
        major = int(float(version)) if re.fullmatch(r"\d+(\.\d+)?", version) else 59
        self.child_levels = 4 if major >= NESTED_CHILDREN_SINCE else 1

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
            self.fail("unexpected token: <EOF>")
        self.pos += 1
        return token

    def expect(self, word: str) -> Token:
        token = self.peek()
        if token is None or token.text.lower() != word:
            self.fail(f"unexpected token: '{token.text}'" if token else "unexpected token: <EOF>")
        return self.take()

    # ------------------------------------------------------------ grammar

    def parse(self) -> Query:
        query = self.select()
        if self.peek() is not None:
            self.fail(f"unexpected token: '{self.peek().text}'")
        return query

    def select(self, parent: SObject | None = None, level: int = 0) -> Query | SubQuery:
        """A query, or (with `parent`) a child subquery `level` children below the root."""
        self.expect("select")
        items = self.select_items()
        self.expect("from")
        from_token = self.take()
        obj = self.from_object(from_token, parent)
        query = Query(obj)
        for kind, token, argument, alias in items:
            if kind == "field":
                query.fields.append(self.path(obj, token, alias))
            elif kind == "aggregate":
                self.aggregate_item(query, token, argument, alias, parent)
            elif level + 1 > self.child_levels:
                self.fail(
                    "SOQL statements cannot query aggregate relationships more than "
                    f"{self.child_levels} level{'s' if self.child_levels > 1 else ''} away from "
                    "the root entity object.", self.tokens[token].position,
                )  # fmt: skip
            else:
                saved, self.pos = self.pos, token
                query.fields.append(self.select(obj, level + 1))
                self.expect(")")
                self.pos = saved
        self.clauses(query)
        self.check_grouping(query)
        if parent is not None:
            return SubQuery(from_token.text, parent.child(from_token.text).field, query)
        return query

    def select_items(self) -> list[tuple[str, Any, Token | None, Token | None]]:
        """(kind, token or subquery start, aggregate argument, alias) per selected item."""
        items: list[tuple[str, Any, Token | None, Token | None]] = []
        while True:
            token = self.take()
            if token.text == "(":
                items.append(("sub", self.pos, None, None))
                self.skip_to_closing_parenthesis()
            elif token.kind == "name" and self.at("(") and token.text.upper() in AGGREGATE_TYPES:
                argument = self.aggregate_argument(token)
                items.append(("aggregate", token, argument, self.alias()))
            elif token.kind == "name" and token.text.lower() not in KEYWORDS:
                items.append(("field", token, None, self.alias()))
            else:
                self.fail(f"unexpected token: '{token.text}'", token.position)
            if not self.at(","):
                return items
            self.take()

    def alias(self) -> Token | None:
        """The name after a selected item, when there is one (`COUNT(Id) total`)."""
        token = self.peek()
        if token and token.kind == "name" and token.text.lower() not in KEYWORDS:
            return self.take()
        return None

    def aggregate_argument(self, function: Token) -> Token | None:
        """The field in `FUNCTION(field)`; None for COUNT()."""
        self.expect("(")
        if self.at(")") and function.text.upper() == "COUNT":
            self.take()
            return None
        argument = self.take()
        if argument.kind != "name":
            self.fail(f"unexpected token: '{argument.text}'", argument.position)
        self.expect(")")
        return argument

    def aggregate_item(
        self, query: Query, function: Token, argument: Token | None, alias: Token | None,
        parent: SObject | None,
    ) -> None:  # fmt: skip
        if parent is not None:
            self.fail(f"unexpected token: '{function.text}'", function.position)
        if argument is None:
            query.count_only = True
            return
        query.fields.append(self.aggregate(query.obj, function, argument, alias))

    def aggregate(
        self, obj: SObject, function: Token, argument: Token, alias: Token | None = None
    ) -> Aggregate:
        name = function.text.upper()
        path = self.path(obj, argument)
        allowed = AGGREGATE_TYPES[name]
        if path.field.type == "boolean" or (allowed is not None and path.field.type not in allowed):
            self.fail(
                f"field {path.field.name} does not support aggregate operator {name}",
                argument.position, "INVALID_FIELD",
            )  # fmt: skip
        return Aggregate(name, path, alias.text if alias else "", function.position)

    def from_object(self, token: Token, parent: SObject | None) -> SObject:
        if parent is not None:
            child = parent.child(token.text)
            if child is None:
                self.fail(
                    f"Didn't understand relationship '{token.text}' in FROM part of query call. "
                    "If you are attempting to use a custom relationship, be sure to append the "
                    "'__r' after the custom relationship name. Please reference your WSDL or the "
                    "describe call for the appropriate names.", token.position, "INVALID_TYPE",
                )  # fmt: skip
            return sobject(child.child)
        obj = sobject(token.text)
        if obj is None:
            self.fail(
                f"sObject type '{token.text}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                token.position, "INVALID_TYPE",
            )  # fmt: skip
        return obj

    def check_grouping(self, query: Query) -> None:
        """An aggregate query selects and sorts only what it groups or aggregates; only its
        items take aliases."""
        grouped = {path.name.lower() for path in query.group_by}
        plain = [item for item in query.fields if isinstance(item, Path)]
        if not query.aggregate:
            for path in plain:
                if path.alias:
                    self.fail("Only aggregate expressions use field aliasing", path.position)
            return
        for path in plain:
            if path.name.lower() not in grouped:
                self.fail(f"Field must be grouped or aggregated: {path.field.name}", path.position)
        for sub in (item for item in query.fields if isinstance(item, SubQuery)):
            self.fail(f"Field must be grouped or aggregated: {sub.relationship_name}", 0)
        for item, _, _ in query.order:
            if isinstance(item, Path) and item.name.lower() not in grouped:
                self.fail(
                    f"Ordered field must be grouped or aggregated: {item.field.name}",
                    item.position,
                )

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
        if self.at("group"):
            self.take()
            self.expect("by")
            query.group_by.append(self.grouped(query.obj, self.take()))
            while self.at(","):
                self.take()
                query.group_by.append(self.grouped(query.obj, self.take()))
        if self.at("order"):
            self.take()
            self.expect("by")
            while True:
                item = self.ordered(query.obj, self.take())
                descending = bool(self.at("asc", "desc") and self.take().text.lower() == "desc")
                nulls_last = descending
                if self.at("nulls"):
                    self.take()
                    nulls_last = self.take().text.lower() == "last"
                query.order.append((item, descending, nulls_last))
                if not self.at(","):
                    break
                self.take()
        if self.at("limit"):
            self.take()
            query.limit = self.integer()
        if self.at("offset"):
            self.take()
            query.offset = self.integer()

    def grouped(self, obj: SObject, token: Token) -> Path:
        path = self.path(obj, token)
        if not path.field.groupable:
            self.fail(
                f"field '{path.field.name}' can not be grouped in a query call", token.position,
                "INVALID_FIELD",
            )  # fmt: skip
        return path

    def ordered(self, obj: SObject, token: Token) -> Path | Aggregate:
        if token.kind == "name" and self.at("(") and token.text.upper() in AGGREGATE_TYPES:
            argument = self.aggregate_argument(token)
            if argument is None:
                self.fail(f"unexpected token: '{token.text}'", token.position)
            return self.aggregate(obj, token, argument)
        return self.path(obj, token)

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            self.fail(f"unexpected token: '{token.text}'", token.position)
        return int(token.text)

    def path(self, obj: SObject, token: Token, alias: Token | None = None) -> Path:
        """A field of `obj`, or through up to five parent relationships (`A.B.Field`)."""
        if token.kind != "name" or token.text.lower() in KEYWORDS:
            self.fail(f"unexpected token: '{token.text}'", token.position)
        *relationships, name = token.text.split(".")
        if len(relationships) > PARENT_HOPS:
            self.fail(f"unexpected token: '{token.text}'", token.position)
        hops: list[Field] = []
        current = obj
        for relationship in relationships:
            lookup = current.by_relationship.get(relationship.lower())
            if lookup is None:
                self.fail(
                    f"Didn't understand relationship '{relationship}' in field path. If you "
                    "are attempting to use a custom relationship, be sure to append the '__r' "
                    "after the custom relationship name. Please reference your WSDL or the "
                    "describe call for the appropriate names.", token.position, "INVALID_FIELD",
                )  # fmt: skip
            hops.append(lookup)
            current = sobject(lookup.reference_to)
        field = self.field(current, name, token)
        return Path(field, tuple(hops), alias.text if alias else "", token.position)

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


def parse(soql: str, version: str = "59.0") -> Query:
    """The query as the API `version` reads it (child subqueries nest from 58.0 on)."""
    if not soql or not soql.strip():
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    return Parser(soql, version).parse()
