"""What importing a configuration file would change (`mappings.config_transfer` plans it):
mapping by mapping, table by table, rate by rate and section by section. Plain data the plan
page and the command line show, and `apply_plan` writes."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class MappingPlan:
    pair: str
    name: str
    status: str  # new, changed, unchanged, invalid
    changes: list[dict[str, Any]] = field(default_factory=list)  # versions.diff_specs
    problems: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    def count(self, kind: str) -> int:
        return sum(1 for change in self.changes if change["change"] == kind)

    @property
    def rules_added(self) -> int:
        return self.count("added")

    @property
    def rules_removed(self) -> int:
        return self.count("removed")

    @property
    def rules_changed(self) -> int:
        return self.count("changed")


@dataclass
class TablePlan:
    pair: str | None  # None: a global table
    name: str
    status: str  # new, changed, unchanged
    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # key: (before, after)
    settings: dict[str, tuple[str, str]] = field(default_factory=dict)  # on_miss, default…
    data: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class RatePlan:
    pair: str | None
    label: str  # "1 EUR = 1.08 USD from 2025-01-01"
    status: str  # new, changed
    before: str = ""
    data: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class SectionPlan:
    pair: str
    name: str
    changes: list[str]
    data: list[dict[str, Any]] = field(default_factory=list, repr=False)
    skipped: str = ""  # why the importing user may not write it: then it is not applied

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").capitalize()


@dataclass
class ImportPlan:
    origin: str
    pairs: list[str] = field(default_factory=list)
    unknown_pairs: list[str] = field(default_factory=list)
    mappings: list[MappingPlan] = field(default_factory=list)
    tables: list[TablePlan] = field(default_factory=list)
    rates: list[RatePlan] = field(default_factory=list)
    sections: list[SectionPlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, not blocking

    @property
    def skipped(self) -> list[SectionPlan]:
        return [section for section in self.sections if section.skipped]

    @property
    def invalid(self) -> list[MappingPlan]:
        return [plan for plan in self.mappings if plan.status == "invalid"]

    @property
    def has_changes(self) -> bool:
        return bool(
            [m for m in self.mappings if m.status in ("new", "changed")]
            or [t for t in self.tables if t.status != "unchanged"]
            or self.rates
            or [s for s in self.sections if s.changes]
        )
