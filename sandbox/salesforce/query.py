"""Run a parsed SOQL query over the records and shape the rows like the REST API does."""

import re
from datetime import date, datetime
from functools import cmp_to_key
from typing import Any

from sandbox.salesforce import ids
from sandbox.salesforce.records import Record, Records
from sandbox.salesforce.soql import Comparison, Condition, ParentCache, Path, Query, SubQuery


def attributes(obj_name: str, record_id: str, version: str) -> dict:
    return {"type": obj_name, "url": f"/services/data/v{version}/sobjects/{obj_name}/{record_id}"}


def run(
    query: Query, records: Records, version: str, include_deleted: bool = False
) -> tuple[int, list[dict]]:
    """The total count and the shaped rows (none for COUNT())."""
    parents = ParentCache(records)
    rows = matching(query, records.all(query.obj, include_deleted), parents)
    if query.count_only:
        return len(rows), []
    shaped = [shape(query, row, records, parents, version) for row in rows]
    return len(shaped), shaped


def matching(query: Query, candidates: list[Record], parents: ParentCache) -> list[Record]:
    rows = [r for r in candidates if query.where is None or holds(query.where, r, parents)]
    if query.order:
        rows.sort(key=cmp_to_key(lambda a, b: compare_rows(query, a, b, parents)))
    rows = rows[query.offset :]
    return rows if query.limit is None else rows[: query.limit]


def shape(query: Query, row: Record, records: Records, parents: ParentCache, version: str) -> dict:
    out: dict[str, Any] = {"attributes": attributes(query.obj.name, row["Id"], version)}
    for item in query.fields:
        if isinstance(item, SubQuery):
            out[item.relationship_name] = child_rows(item, row, records, parents, version)
        elif item.relationship is None:
            out[item.field.name] = row.get(item.field.name)
        else:
            name = item.relationship.relationship_name
            parent = parents.get(item.relationship, row.get(item.relationship.name))
            if parent is None:
                out[name] = None
                continue
            nested = out.get(name) or {
                "attributes": attributes(item.relationship.reference_to, parent["Id"], version)
            }
            nested[item.field.name] = parent.get(item.field.name)
            out[name] = nested
    return out


def child_rows(
    sub: SubQuery, row: Record, records: Records, parents: ParentCache, version: str
) -> dict | None:
    children = [c for c in records.all(sub.query.obj) if c.get(sub.link_field) == row["Id"]]
    found = matching(sub.query, children, parents)
    if not found:
        return None
    shaped = [shape(sub.query, child, records, parents, version) for child in found]
    return {"totalSize": len(shaped), "done": True, "records": shaped}


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


def compare_rows(query: Query, a: Record, b: Record, parents: ParentCache) -> int:
    for path, descending, nulls_last in query.order:
        left, right = path.value(a, parents), path.value(b, parents)
        if left == right:
            continue
        if left is None or right is None:
            return (1 if left is None else -1) * (1 if nulls_last else -1)
        result = -1 if sortable(left) < sortable(right) else 1
        return -result if descending else result
    return 0
