"""What a parsed SOQL query is made of: field paths (through parents), aggregate functions,
conditions, child subqueries, and the query itself; plus the parent records a run looks up."""

from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce.records import Record, Records
from sandbox.salesforce.schema import Field, SObject, sobject

# The field types each aggregate function takes (Salesforce's "Support for Field Types in
# Aggregate Functions"); None: every type the sandbox has but boolean.
NUMBERS = frozenset({"int", "double", "currency", "percent"})
AGGREGATE_TYPES: dict[str, frozenset[str] | None] = {
    "COUNT": None, "COUNT_DISTINCT": None, "MIN": None, "MAX": None, "SUM": NUMBERS,
    "AVG": NUMBERS,
}  # fmt: skip


@dataclass
class Token:
    kind: str
    text: str
    position: int


@dataclass
class Path:
    """A field of the queried object, or of a parent up to five lookups away: `hops` are the
    lookup fields followed (AccountId, then OwnerId, for `Account.Owner.Name`)."""

    field: Field
    hops: tuple[Field, ...] = ()
    alias: str = ""
    position: int = 0  # where the query names it, for errors

    @property
    def name(self) -> str:
        """The path as Salesforce spells it: relationship names, then the field's name."""
        return ".".join([*(str(hop.relationship_name) for hop in self.hops), self.field.name])

    def parent(self, record: Record, parents: "ParentCache") -> Record | None:
        """The record the field is on: `record`, or the last parent the hops reach."""
        current: Record | None = record
        for hop in self.hops:
            current = parents.get(hop, current.get(hop.name)) if current else None
        return current

    def value(self, record: Record, parents: "ParentCache") -> Any:
        holder = self.parent(record, parents)
        return holder.get(self.field.name) if holder else None


@dataclass
class Aggregate:
    """COUNT(), COUNT(path), COUNT_DISTINCT, SUM, AVG, MIN or MAX of a path."""

    function: str  # upper case
    path: Path | None = None  # None: COUNT()
    alias: str = ""
    position: int = 0

    @property
    def text(self) -> str:
        return f"{self.function}({self.path.name if self.path else ''})"


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
    fields: list[Any] = field(default_factory=list)  # Path, Aggregate or SubQuery, in order
    where: Any = None
    group_by: list[Path] = field(default_factory=list)
    order: list[tuple[Any, bool, bool]] = field(default_factory=list)  # item, desc, nulls last
    limit: int | None = None
    offset: int = 0
    count_only: bool = False  # SELECT COUNT(): the number of rows, no records

    @property
    def aggregate(self) -> bool:
        """Answered as AggregateResult rows: grouped, or an aggregate function selected or
        sorted by."""
        items = [*self.fields, *(item for item, _, _ in self.order)]
        return bool(self.group_by) or any(isinstance(item, Aggregate) for item in items)


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
