"""SOQL from what is not ours: every value put into a query is quoted, escaped or checked to
be what it claims, and every field path a mapping names is checked against the org's
describe, so neither can change the query. A name missing from a describe kept from an
earlier run reads it again (`found_in`) before the name is left out."""

import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any, Protocol

from connectors.errors import ValidationError
from connectors.salesforce.oauth import SYSTEM
from connectors.salesforce.record_ids import record_id

NUMERIC = {"int", "double", "currency", "percent"}


def soql_literal(value: Any, field_type: str) -> str:
    """A value as a SOQL literal: text quoted and escaped; numbers, dates and datetimes bare
    and checked to be what they claim, so no value can change the query."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if field_type == "id":
        return f"'{record_id(value)}'"
    try:
        if field_type == "datetime":
            moment = value if isinstance(value, datetime) else parse_datetime(str(value))
            return soql_datetime(moment)
        if field_type == "date":
            return date.fromisoformat(str(value)).isoformat()
        if field_type in NUMERIC:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError("not a finite number")
            return str(int(number)) if number.is_integer() else repr(number)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{value!r} is not a {field_type} value", fields={"value": str(exc)}, system=SYSTEM
        ) from exc
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def soql_datetime(moment: datetime) -> str:
    """UTC with milliseconds, as SystemModstamp is stored; naive datetimes are taken as UTC."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------- field paths

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
PARENT_HOPS = 5  # SOQL follows at most five parent relationships from the queried object
UNSELECTABLE = {"base64", "address", "location"}  # compound or binary: not in these queries
Field = dict[str, Any]  # one field of a describe
Fields = dict[str, Field]  # an object's fields by lower-case name


class Describe(Protocol):
    """An object's fields by lower-case name; `fresh`: a name was missing from them, so
    fields kept from an earlier run are read again."""

    def __call__(self, entity: str, fresh: bool = False) -> dict[str, dict[str, Any]]: ...


def found_in(
    fields_of: Describe, entity: str, find: Callable[[Fields, str], Field | None], name: str
) -> Field | None:
    """What `find` finds of `name` in the object's fields, else in its fields read again (a
    field added since they were kept is never missed)."""
    return find(fields_of(entity), name) or find(fields_of(entity, fresh=True), name)


def field_named(fields: Fields, name: str) -> Field | None:
    return fields.get(name.lower())


def field_path(fields_of: Describe, entity: str, path: str) -> str:
    """`path` (`Field`, `Parent.Field`, `Account.Owner.Name`…) from `entity` as Salesforce
    spells it, each step found in the describe: a parent relationship by its relationship
    name, the last step a selectable field; "" when a step is missing (a typo, a field
    deleted since) or the path is not plain names. So nothing a mapping says is put into a
    query unless the org has it."""
    steps = path.split(".")
    if len(steps) > PARENT_HOPS + 1 or not all(FIELD_NAME.match(step) for step in steps):
        return ""
    spelt, current = [], entity
    for step in steps[:-1]:
        relation = found_in(fields_of, current, parent_relationship, step)
        if relation is None:
            return ""
        spelt.append(relation["relationshipName"])
        current = relation["referenceTo"][0]
    field = found_in(fields_of, current, field_named, steps[-1])
    if field is None or field["type"] in UNSELECTABLE:
        return ""
    return ".".join([*spelt, field["name"]])


def parent_relationship(fields: Fields, name: str) -> Field | None:
    """The lookup field whose relationship is `name`, pointing at one object (a polymorphic
    one, such as a task's What, has no single object whose fields could be checked)."""
    return next(
        (
            field
            for field in fields.values()
            if field["type"] == "reference"
            and (field.get("relationshipName") or "").lower() == name.lower()
            and len(field.get("referenceTo") or []) == 1
        ),
        None,
    )


def select_list(
    fields_of: Describe,
    entity: str,
    standard: Iterable[str],
    paths: Iterable[str],
    absent: Iterable[str] = (),
) -> list[str]:
    """The `standard` columns, then each of `paths` the org has on `entity` (through its
    parents), each once. Standard names and names `entity` never has (`absent`: another
    deal object's fields) cost no describe; the others are checked by `field_path`."""
    columns = list(standard)
    known = {column.lower() for column in columns} | {name.lower() for name in absent}
    for path in sorted(set(paths)):
        if path.lower() in known:
            continue
        spelt = field_path(fields_of, entity, path)
        if spelt and spelt.lower() not in known:
            columns.append(spelt)
        known.add(path.lower())
    return columns
