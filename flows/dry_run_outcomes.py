"""What a dry-run reports (flows/dry_run.py): per deal its class (would create, update,
duplicate, fail, or write nothing) and why, and the counts; kept apart from the checks that
decide them."""

from dataclasses import dataclass, field
from typing import Any

from flows.models import InboundEvent
from mappings.models import Mapping

CREATE, UPDATE, DUPLICATE, FAIL, NOTHING = (
    "would create",
    "would update",
    "would duplicate",
    "would fail",
    "would write nothing",
)
CLASSES = (FAIL, DUPLICATE, UPDATE, CREATE, NOTHING)


@dataclass(frozen=True)
class FieldChange:
    field: str
    sage: str
    mapped: str


@dataclass
class DealOutcome:
    """One deal: its class, and why (the field and reason, the ERP record, the diff)."""

    crm_id: str
    label: str
    verdict: str
    reason: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    changes: list[FieldChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    read_from: str = ""  # "run 12" (its recorded input) or "the CRM" (read now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "crm_id": self.crm_id,
            "label": self.label,
            "class": self.verdict,
            "reason": self.reason,
            "fields": self.fields,
            "notes": self.notes,
            "changes": [vars(change) for change in self.changes],
            "read_from": self.read_from,
        }


@dataclass
class DryRunResult:
    mapping: Mapping
    tried: str  # "version 3", "the draft"
    requested: int
    outcomes: list[DealOutcome] = field(default_factory=list)
    stopped: str = ""  # why it ended before the last deal
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return {name: sum(o.verdict == name for o in self.outcomes) for name in CLASSES}

    def by_class(self) -> list[tuple[str, list[DealOutcome]]]:
        return [(name, [o for o in self.outcomes if o.verdict == name]) for name in CLASSES]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping.pk,
            "tried": self.tried,
            "requested": self.requested,
            "deals": len(self.outcomes),
            "counts": self.counts,
            "stopped": self.stopped,
            "seconds": round(self.seconds, 2),
            "results": [o.to_dict() for o in self.outcomes],
        }


@dataclass
class Mapped:
    """A deal after the mapping and its checks: what the later checks need."""

    event: InboundEvent
    record: dict[str, Any]
    read_from: str
    customer: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)
    rate: str = ""
    outcome: DealOutcome | None = None  # decided already (failed, not won)
