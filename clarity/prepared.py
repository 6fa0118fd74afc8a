"""ORM queries built and compiled once, then run with new values: the runs' hot path.

Building a QuerySet and compiling it took the ORM longer than the database took to answer
the run's own look-ups (py-spy of the workers, bench/flows_latency.py). A `PreparedQuery`
is written the ORM's way, with `Param("name")` where a value goes; its SQL, the converters
of its columns and how rows become model instances are worked out once per thread's
database connection (the converters belong to it), and each call only adapts the values,
executes, converts and builds rows, as the QuerySet would.

    RUN = PreparedQuery(lambda: SyncRun.objects.select_related("pair").filter(pk=Param("pk")))
    run = RUN.first(pk=7)

Arguments given to `build` positionally shape the query (a tuple of kinds for `__in`):
each shape is compiled once. A queryset of model instances gives instances (their
`select_related` ones filled in), one of `values_list` gives tuples (or values, `flat`).
`PreparedChange` is the same for an UPDATE or DELETE of the rows a queryset selects.
"""

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Expression, Field, Model, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.sql import DeleteQuery, UpdateQuery


class Param(Expression):
    """A value given when the prepared query runs: one placeholder in its SQL. With a field
    (`output_field`, or the field an UPDATE assigns it to) the value goes to the database
    as that field sends it (JSON encoded, say)."""

    def __init__(self, name: str, output_field: Field | None = None) -> None:
        super().__init__(output_field=output_field)
        self.name = name

    def value(self, values: dict[str, Any]) -> Any:
        value = values[self.name]
        field = self._output_field_or_none
        return adapted(value) if field is None else field.get_db_prep_save(value, connection)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [self]


@dataclass(frozen=True)
class Compiled:
    sql: str
    params: tuple[Any, ...]  # a Param where a value goes, else the query's own constant
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    kind: type  # the queryset's iterable class
    model: type[Model] | None = None  # instances: their class, fields, related populators
    fields: tuple[str, ...] = ()
    span: tuple[int, int] = (0, 0)
    populators: tuple[Any, ...] = ()


def compile_queryset(queryset: QuerySet) -> Compiled:
    database = connection
    compiler = queryset.query.get_compiler(connection=database)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a shape that finds nothing (`kind__in=()`): no statement
        return Compiled("", (), (), queryset._iterable_class)
    columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
    converters = tuple(
        (index, tuple(functions), expression)
        for index, (functions, expression) in compiler.get_converters(columns).items()
    )
    kind = queryset._iterable_class
    if kind not in (ModelIterable, ValuesListIterable, FlatValuesListIterable):
        raise TypeError(f"a prepared query gives instances or values_list rows, not {kind}")
    compiled = Compiled(sql, tuple(params), converters, kind)
    if kind is not ModelIterable:
        return compiled
    info = compiler.klass_info
    start, end = info["select_fields"][0], info["select_fields"][-1] + 1
    return Compiled(
        sql, tuple(params), converters, kind, model=info["model"],
        fields=tuple(selected[0].target.attname for selected in compiler.select[start:end]),
        span=(start, end),
        populators=tuple(get_related_populators(info, compiler.select, database.alias)),
    )  # fmt: skip


def adapted(value: Any) -> Any:
    """A value as a field of its Python type would send it to the database."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


class Prepared:
    """What the prepared statements share: compiled once per thread and shape, run with the
    call's values in place of the `Param`s."""

    def __init__(self, build: Callable[..., QuerySet]) -> None:
        self.build = build
        self.local = threading.local()

    def compile(self, queryset: QuerySet) -> Compiled:
        raise NotImplementedError

    def compiled(self, shape: tuple[Hashable, ...]) -> Compiled:
        kept: dict[Any, Compiled] = self.local.__dict__.setdefault("compiled", {})
        key = (connection.alias, shape)
        if key not in kept:
            kept[key] = self.compile(self.build(*shape))
        return kept[key]

    @staticmethod
    def params(compiled: Compiled, values: dict[str, Any]) -> list[Any]:
        return [
            param.value(values) if isinstance(param, Param) else param for param in compiled.params
        ]


class PreparedQuery(Prepared):
    def compile(self, queryset: QuerySet) -> Compiled:
        return compile_queryset(queryset)

    def execute(self, shape: tuple[Hashable, ...], values: dict[str, Any]) -> list[Any]:
        """The rows as the queryset would give them."""
        compiled = self.compiled(shape)
        if not compiled.sql:
            return []
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, self.params(compiled, values))
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [self.converted(compiled, row) for row in rows]
        if compiled.kind is FlatValuesListIterable:
            return [row[0] for row in rows]
        if compiled.kind is ValuesListIterable:
            return [tuple(row) for row in rows]
        return [self.instance(compiled, row) for row in rows]

    @staticmethod
    def converted(compiled: Compiled, row: tuple[Any, ...]) -> list[Any]:
        values = list(row)
        for index, functions, expression in compiled.converters:
            value = values[index]
            for function in functions:
                value = function(value, expression, connection)
            values[index] = value
        return values

    @staticmethod
    def instance(compiled: Compiled, row: list[Any]) -> Model:
        start, end = compiled.span
        instance = compiled.model.from_db(connection.alias, compiled.fields, row[start:end])
        for populator in compiled.populators:
            populator.populate(row, instance)
        return instance

    def all(self, *shape: Hashable, **values: Any) -> list[Any]:
        return self.execute(shape, values)

    def first(self, *shape: Hashable, **values: Any) -> Any:
        """The first row, None when there is none (the query says its order and limit)."""
        found = self.execute(shape, values)
        return found[0] if found else None


class PreparedChange(Prepared):
    """An UPDATE of the rows `build()` selects (`assignments`: field → value or `Param`), or
    with none a DELETE of them, as `QuerySet.update()` and a delete of rows that nothing
    refers to would write it. `run` gives the number of rows changed."""

    def __init__(self, build: Callable[..., QuerySet], **assignments: Any) -> None:
        super().__init__(build)
        self.assignments = assignments

    def compile(self, queryset: QuerySet) -> Compiled:
        if self.assignments:
            for name, value in self.assignments.items():
                if isinstance(value, Param) and "output_field" not in vars(value):
                    value.output_field = queryset.model._meta.get_field(name)
            query = queryset.query.chain(UpdateQuery)
            query.add_update_values(self.assignments)
        else:
            query = queryset.query.chain(DeleteQuery)
        sql, params = query.get_compiler(connection=connection).as_sql()
        return Compiled(sql, tuple(params), (), type(query))

    def run(self, *shape: Hashable, **values: Any) -> int:
        compiled = self.compiled(shape)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, self.params(compiled, values))
            return cursor.rowcount
