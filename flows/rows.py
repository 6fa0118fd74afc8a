"""One INSERT of a model's row, without the ORM's per-call compiling: the hot paths.

`Model.objects.create()` spent about 0.3 ms of CPU a row on compiling its statement and
adapting every field, three rows a delivery; the statement here is built once per model and
database, the defaults adapted once, and only the values given are adapted per row (through
the field, as the ORM would: JSON, times). No signals are sent: the models written this way
(events, runs, queue rows, step results, links) have no receivers, and `auto_now` and
`auto_now_add` fields are set here as `save()` would set them. Inside
`transaction.atomic()` a row commits with the rest.
"""

import json
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, JSONField, Model
from django.utils import timezone


class EncodedJSON(str):
    """A JSON field's value encoded already, written as it is: a step's input is put together
    from the text of the earlier outputs it read, each encoded once (flows/runner.input_of),
    instead of encoding the same outputs again in every later step's row."""

    @classmethod
    def of(cls, value: Any) -> "EncodedJSON":
        return cls(json.dumps(value))

    @classmethod
    def joined(cls, parts: dict[str, "EncodedJSON"]) -> "EncodedJSON":
        """The object whose members are `parts`."""
        members = ", ".join(f"{json.dumps(name)}: {text}" for name, text in parts.items())
        return cls(f"{{{members}}}")


class Verbatim(json.JSONEncoder):
    """Encodes an EncodedJSON as the text it is (for the database's own JSON adapter)."""

    def encode(self, o: Any) -> str:
        return str(o) if isinstance(o, EncodedJSON) else super().encode(o)


Prepared = tuple[str, tuple[Field, ...], tuple[Any, ...], tuple[bool, ...], tuple[bool, ...]]
PLAIN = (str, int, type(None))  # passed to the driver as they are, except into JSON


def stamped(field: Field) -> bool:
    """Whether `save()` sets the field to now (auto_now / auto_now_add)."""
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


@cache
def prepared(model: type[Model], alias: str) -> Prepared:
    """The INSERT for every column but the key, the fields in order, their adapted defaults
    (what `save()` would write for a field not given; None for a stamped one, replaced per
    row), which are stamped and which hold JSON. `alias` keys the cache: the adapted values
    differ between databases."""
    database = connections[alias]
    fields = tuple(field for field in model._meta.concrete_fields if not field.primary_key)
    quote = database.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    if database.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    stamps = tuple(stamped(field) for field in fields)
    defaults = tuple(
        None if stamp else field.get_db_prep_save(field.get_default(), database)
        for field, stamp in zip(fields, stamps, strict=True)
    )
    json_fields = tuple(isinstance(field, JSONField) for field in fields)
    return sql, fields, defaults, stamps, json_fields


def insert_row(model: type[Model], **values: Any) -> int:
    """Insert one row of `model` (foreign keys by `<name>_id`) on the default database; its
    primary key."""
    database = connections[DEFAULT_DB_ALIAS]
    sql = prepared(model, DEFAULT_DB_ALIAS)[0]
    with database.cursor() as cursor:
        cursor.execute(sql, row_params(model, values))
        if database.features.can_return_columns_from_insert:
            return cursor.fetchone()[0]
        return cursor.lastrowid


def insert_row_if_new(model: type[Model], unique: tuple[str, ...], **values: Any) -> bool:
    """Insert one row of `model` unless a row with the same `unique` columns (a unique
    constraint's) is there; whether it was inserted. Only that constraint gives way: a row
    breaking another still raises IntegrityError, as `get_or_create` would."""
    database = connections[DEFAULT_DB_ALIAS]
    quote = database.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in unique)
    sql = prepared(model, DEFAULT_DB_ALIAS)[0].partition(" RETURNING ")[0]
    with database.cursor() as cursor:
        cursor.execute(f"{sql} ON CONFLICT ({columns}) DO NOTHING", row_params(model, values))
        return cursor.rowcount == 1


def insert_rows(model: type[Model], rows: list[dict[str, Any]]) -> None:
    """Insert rows of `model` in one statement sent once with every row's values (the
    runner's step results, several at a time)."""
    if not rows:
        return
    sql = prepared(model, DEFAULT_DB_ALIAS)[0].partition(" RETURNING ")[0]
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.executemany(sql, [row_params(model, values) for values in rows])


def row_params(model: type[Model], values: dict[str, Any]) -> list[Any]:
    """The INSERT's parameters for a row given by `values`: adapted through their fields,
    defaults for the fields not given, now for the stamped ones."""
    database = connections[DEFAULT_DB_ALIAS]
    _, fields, defaults, stamps, json_fields = prepared(model, DEFAULT_DB_ALIAS)
    now = timezone.now()
    now_as: dict[type[Field], Any] = {}  # adapted once a row for each kind of stamped field
    params = []
    for field, default, stamp, is_json in zip(fields, defaults, stamps, json_fields, strict=True):
        name = field.attname
        if name in values:
            value = values[name]
            if is_json and isinstance(value, EncodedJSON):
                params.append(database.ops.adapt_json_value(value, Verbatim))
                continue
            plain = isinstance(value, PLAIN) and not is_json
            params.append(value if plain else field.get_db_prep_save(value, database))
        elif stamp:
            kind = type(field)
            if kind not in now_as:
                now_as[kind] = field.get_db_prep_save(now, database)
            params.append(now_as[kind])
        else:
            params.append(default)
    return params
