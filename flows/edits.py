"""An operator's edits of a run's mapped document, laid over the deal as it is mapped again.

A retry maps the deal afresh (the customer, the label and any field nobody edited come from
the CRM as it is now), then each edit of the run is applied in order, a field at a time. An
edit names the value it replaced: when the deal now says something else in that field, the
CRM changed it after the edit and wins (the edit of that field is skipped and the mapping
step's output says so). Changing a line's quantity or unit price recomputes the line's amount
and moves the total (and its base-currency total) by the same difference, so the lines still
come to the total. Only the run that was edited uses its edits: a later run of the same deal
maps afresh.

Recording and checking edits is in flows/run_edits.py; this module is what the mapping step
needs, with nothing that reads mappings or schemas.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flows.models import SyncRun
from flows.operator_models import RunEdit
from flows.steps.money import CENT, decimal

LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
MONEY_FIELDS = ("quantity", "unit_price")  # an approver decides these
LINE_FIELDS = ("sku", "description", "quantity", "unit_price")
FIELD_WORDS = {"quantity": "Quantity", "unit_price": "Unit price", "sku": "Item",
               "description": "Description", "po_number": "PO number", "notes": "Notes",
               "order_date": "Order date", "ship_date": "Ship date", "terms": "Terms",
               "invoice_date": "Invoice date", "due_date": "Due date"}  # fmt: skip


@dataclass
class Applied:
    """The document with the run's edits, and what happened to each of them."""

    document: dict[str, Any]
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    approval_reasons: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What the mapping step's output says about the edits ({} when there were none)."""
        if not self.applied and not self.skipped:
            return {}
        return {
            "used": bool(self.applied),
            "applied": self.applied,
            "skipped": self.skipped,
            "needs_approval": bool(self.approval_reasons),
            "reason": " ".join(self.approval_reasons),
        }


def value_at(document: dict[str, Any], path: str) -> Any:
    """The value at `po_number` or `lines[2].quantity`; None when there is none."""
    found = LINE_FIELD.match(path)
    if not found:
        return document.get(path)
    lines = document.get("lines") or []
    index = int(found.group(1))
    return lines[index].get(found.group(2)) if index < len(lines) else None


def same(left: Any, right: Any) -> bool:
    """Equal as an operator reads them: 10 and "10.00" are the same quantity."""
    if left in (None, "") or right in (None, ""):
        return left in (None, "") and right in (None, "")
    try:
        return Decimal(str(left)) == Decimal(str(right))
    except InvalidOperation:
        return str(left) == str(right)


def describe_field(document: dict[str, Any], path: str) -> str:
    """`lines[0].quantity` in words: "Quantity of WIDGET-9"."""
    found = LINE_FIELD.match(path)
    if not found:
        return FIELD_WORDS.get(path, path.replace("_", " ").capitalize())
    lines = document.get("lines") or []
    index = int(found.group(1))
    sku = lines[index].get("sku") if index < len(lines) else ""
    name = found.group(2)
    where = f"line {index + 1}" if name == "sku" or not sku else sku
    return f"{FIELD_WORDS.get(name, name)} of {where}"


def set_value(document: dict[str, Any], path: str, value: Any, rate: Decimal | None) -> None:
    """Put `value` at `path`; a quantity or unit price also moves the line's amount, the
    subtotal and the total (and the base total at the deal's rate) by the same difference."""
    found = LINE_FIELD.match(path)
    if not found:
        document[path] = value
        return
    line = document["lines"][int(found.group(1))]
    name = found.group(2)
    line[name] = value
    if name not in MONEY_FIELDS:
        return
    before = decimal(line.get("amount"))
    after = (decimal(line.get("quantity")) * decimal(line.get("unit_price"))).quantize(CENT)
    line["amount"] = str(after)
    difference = after - before
    for total in ("subtotal", "total"):
        if document.get(total) not in (None, ""):
            document[total] = str(decimal(document[total]) + difference)
    total = decimal(document.get("total"))
    document["total_base"] = str((total * rate).quantize(CENT) if rate else total)


def apply_change(
    document: dict[str, Any], change: dict[str, Any], rate: Decimal | None
) -> dict[str, Any]:
    """The document with one change, without touching the one it was given."""
    edited = {**document, "lines": [dict(line) for line in document.get("lines") or []]}
    set_value(edited, change["field"], change["after"], rate)
    return edited


def with_edits(run: SyncRun, document: dict[str, Any], rate: Decimal | None) -> Applied:
    """The freshly mapped `document` with every edit of the run laid over it, oldest first.
    An edit always restarts its run from the start (`edit_and_retry`), which moves the run's
    `fresh_from_attempt` past 1: a run never restarted has none to look for."""
    result = Applied(document)
    if run.fresh_from_attempt <= 1:
        return result
    edits = RunEdit.objects.filter(run_id=run.pk).select_related("edited_by")
    for edit in edits.order_by("edited_at", "pk"):
        who = str(edit.edited_by or "someone")
        for change in edit.changes:
            path = change["field"]
            now = value_at(result.document, path)
            what = describe_field(result.document, path)
            if not same(now, change["before"]):
                result.skipped.append(
                    f"{what}: the deal now says {now!r}, not {change['before']!r} as when "
                    f"{who} edited it; the deal's value is used."
                )
                continue
            result.document = apply_change(result.document, change, rate)
            line = f"{what} changed from {change['before']} to {change['after']} by {who}"
            result.applied.append(f"{line}.")
            if path.rsplit(".", 1)[-1] in MONEY_FIELDS and not same(now, change["after"]):
                result.approval_reasons.append(f"{line}.")
    return result
