"""Run a parsed SOQL query over the records and shape the rows like the REST API does:
records with their parents nested under each relationship name (each with its own
`attributes`), child subqueries as `{totalSize, done, records}`, and aggregate queries as
`AggregateResult` rows keyed by alias, unaliased aggregates as expr0, expr1…"""

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cmp_to_key
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.records import Record, Records
from sandbox.salesforce.soql_model import (
    Aggregate,
    Comparison,
    Condition,
    ParentCache,
    Path,
    Query,
    SubQuery,
)

Group = list[Record]  # the records an aggregate row stands for


def attributes(obj_name: str, record_id: str, version: str) -> dict:
    return {"type": obj_name, "url": f"/services/data/v{version}/sobjects/{obj_name}/{record_id}"}


def run(
    query: Query, records: Records, version: str, include_deleted: bool = False
) -> tuple[int, list[dict]]:
    """The total count and the shaped rows (none for COUNT())."""
    parents = ParentCache(records)
    candidates = records.all(query.obj, include_deleted)
    found = [r for r in candidates if query.where is None or holds(query.where, r, parents)]
    if query.aggregate:
        groups = paged(query, grouped(query, found, parents), group_value(parents))
        if query.count_only:
            return len(groups), []
        return len(groups), [aggregate_row(query, group, parents) for group in groups]
    rows = paged(query, found, record_value(parents))
    if query.count_only:
        return len(rows), []
    shaped = [shape(query, row, records, parents, version) for row in rows]
    return len(shaped), shaped


def matching(query: Query, candidates: list[Record], parents: ParentCache) -> list[Record]:
    rows = [r for r in candidates if query.where is None or holds(query.where, r, parents)]
    return paged(query, rows, record_value(parents))


def paged(query: Query, rows: list[Any], value: Callable[[Any, Any], Any]) -> list[Any]:
    """The rows in ORDER BY order, after OFFSET, up to LIMIT."""
    if query.order:
        rows = sorted(rows, key=cmp_to_key(lambda a, b: compare_rows(query, a, b, value)))
    rows = rows[query.offset :]
    return rows if query.limit is None else rows[: query.limit]


def record_value(parents: ParentCache) -> Callable[[Path, Record], Any]:
    return lambda path, row: path.value(row, parents)


def group_value(parents: ParentCache) -> Callable[[Any, Group], Any]:
    """An ORDER BY item's value for a group: a grouped field's, or the aggregate's."""

    def value(item: Any, group: Group) -> Any:
        if isinstance(item, Aggregate):
            return aggregated(item, group, parents)
        return item.value(group[0], parents) if group else None

    return value


# ---------------------------------------------------------------- plain queries


def shape(query: Query, row: Record, records: Records, parents: ParentCache, version: str) -> dict:
    out: dict[str, Any] = {"attributes": attributes(query.obj.name, row["Id"], version)}
    for item in query.fields:
        if isinstance(item, SubQuery):
            out[item.relationship_name] = child_rows(item, row, records, parents, version)
        else:
            put_path(out, item, row, parents, version)
    return out


def put_path(out: dict, path: Path, row: Record, parents: ParentCache, version: str) -> None:
    """The path's value in `out`, under its relationships: each parent a nested record with
    its own attributes, a missing parent null (what lies beyond it is not there)."""
    node, record = out, row
    for hop in path.hops:
        parent = parents.get(hop, record.get(hop.name))
        name = str(hop.relationship_name)
        if parent is None:
            node.setdefault(name, None)
            return
        if not isinstance(node.get(name), dict):
            node[name] = {"attributes": attributes(str(hop.reference_to), parent["Id"], version)}
        node, record = node[name], parent
    node[path.field.name] = record.get(path.field.name)


def child_rows(
    sub: SubQuery, row: Record, records: Records, parents: ParentCache, version: str
) -> dict | None:
    children = [c for c in records.all(sub.query.obj) if c.get(sub.link_field) == row["Id"]]
    found = matching(sub.query, children, parents)
    if not found:
        return None
    shaped = [shape(sub.query, child, records, parents, version) for child in found]
    return {"totalSize": len(shaped), "done": True, "records": shaped}


# ---------------------------------------------------------------- aggregate queries


def grouped(query: Query, rows: list[Record], parents: ParentCache) -> list[Group]:
    """The rows by their GROUP BY values (text without case, as Salesforce groups it); one
    group of every row without GROUP BY, even of none."""
    if not query.group_by:
        return [rows]
    groups: dict[tuple, Group] = {}
    for row in rows:
        key = tuple(sortable(path.value(row, parents)) for path in query.group_by)
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def aggregate_row(query: Query, group: Group, parents: ParentCache) -> dict:
    out: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
    unnamed = 0
    for item in query.fields:
        if isinstance(item, Aggregate):
            name = item.alias or f"expr{unnamed}"
            unnamed += 0 if item.alias else 1
            out[name] = aggregated(item, group, parents)
        else:
            out[item.alias or item.field.name] = item.value(group[0], parents) if group else None
    return out


def aggregated(aggregate: Aggregate, group: Group, parents: ParentCache) -> Any:
    """The function over the group's non-null values: counts are whole numbers; a SUM, AVG,
    MIN or MAX of nothing is null."""
    if aggregate.path is None:
        return len(group)
    path = aggregate.path
    values = [v for v in (path.value(row, parents) for row in group) if v is not None]
    function = aggregate.function
    if function == "COUNT":
        return len(values)
    if function == "COUNT_DISTINCT":
        return len({sortable(value) for value in values})
    if not values:
        return None
    if function == "SUM":
        return round(sum(values), path.field.scale or 2)
    if function == "AVG":
        return sum(values) / len(values)
    pick = min if function == "MIN" else max
    return pick(values, key=sortable)


# ---------------------------------------------------------------- conditions and order


def holds(condition: Any, row: Record, parents: ParentCache) -> bool:
    if isinstance(condition, Condition):
        if condition.kind == "and":
            return all(holds(part, row, parents) for part in condition.parts)
        if condition.kind == "or":
            return any(holds(part, row, parents) for part in condition.parts)
        return not holds(condition.parts[0], row, parents)
    return compare(condition, condition.path.value(row, parents))


def compare(comparison: Comparison, actual: Any) -> bool:
    op, expected = comparison.op, comparison.value
    if op in ("in", "notin"):
        found = any(equal(actual, value, comparison.path) for value in expected)
        return found if op == "in" else not found
    if op == "like":
        return actual is not None and like(str(actual), str(expected))
    if expected is None or actual is None:
        same = expected is None and actual is None
        return same if op == "=" else (not same if op == "!=" else False)
    if op == "=":
        return equal(actual, expected, comparison.path)
    if op == "!=":
        return not equal(actual, expected, comparison.path)
    if isinstance(expected, tuple):
        moment, (start, end) = as_moment(actual, comparison.path), expected
        return {"<": moment < start, "<=": moment < end, ">": moment >= end, ">=": moment >= start}[
            op
        ]
    left, right = sortable(actual), sortable(expected)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def equal(actual: Any, expected: Any, path: Path) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, tuple):
        start, end = expected
        return start <= as_moment(actual, path) < end
    if isinstance(expected, str) and path.field.type in ("id", "reference"):
        return (ids.normalise(expected) or expected) == actual
    return sortable(actual) == sortable(expected)


def as_moment(value: Any, path: Path) -> datetime:
    if path.field.type == "date":
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), ids.now().tzinfo)
    return ids.parse_datetime(value)


def sortable(value: Any) -> Any:
    """SOQL compares text case-insensitively; numbers as numbers."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return int(value)
    return value


def like(text: str, pattern: str) -> bool:
    regex = "".join(
        ".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL) is not None


def compare_rows(query: Query, a: Any, b: Any, value: Callable[[Any, Any], Any]) -> int:
    for item, descending, nulls_last in query.order:
        left, right = value(item, a), value(item, b)
        if left == right:
            continue
        if left is None or right is None:
            return (1 if left is None else -1) * (1 if nulls_last else -1)
        result = -1 if sortable(left) < sortable(right) else 1
        return -result if descending else result
    return 0
