"""Edit and retry: an operator corrects a failed won-deal run's mapped document and retries it.

The document offered is the one the run's last mapping made. Each changed value is checked
as the flow and the ERP would take it (a number where a number goes, a date as YYYY-MM-DD, no
longer than the ERP's column it is written to, through the pair's outgoing mapping), so an
error names the field before anything is retried. The edit is kept on the run (`RunEdit`:
who, when, each field before and after, the document as edited) and the run is retried from
the start; the mapping step lays the edits over the deal (flows/edits.py). A changed quantity
or unit price waits for an approver first (flows/steps/approval.py, kind "edit").
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from clarity.audit import record_action
from connectors.errors import ConnectorError
from flows.base import StepContext
from flows.edits import (
    FIELD_WORDS,
    LINE_FIELD,
    LINE_FIELDS,
    MONEY_FIELDS,
    apply_change,
    describe_field,
    same,
    value_at,
)
from flows.models import RunStep, SyncRun
from flows.operator_models import RunEdit
from flows.registry import FLOWS
from flows.services import FROM_START, RunActionRefused, retry_run
from flows.steps import MAP_DEAL
from flows.steps.mapping import active_mapping, erp_schema
from mappings.canonical import schema

EDITABLE_STATUSES = (SyncRun.Status.FAILED, SyncRun.Status.DEAD)
DOCUMENTS = {"deal_won_to_sales_order": "SalesOrder", "deal_won_to_invoice": "Invoice"}
HEADER_FIELDS = ("po_number", "order_date", "ship_date", "invoice_date", "due_date", "terms",
                 "notes")  # fmt: skip
DATE_FIELDS = ("order_date", "ship_date", "invoice_date", "due_date")
NOTE_LENGTH = 2000


class EditRefused(Exception):
    """The edit cannot be taken: `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in errors.items()))
        self.errors = errors


@dataclass
class EditableDocument:
    """What the edit form and the API show: the header fields and the lines."""

    entity: str
    document: dict[str, Any]
    header: list[dict[str, Any]]
    lines: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "header": self.header, "lines": self.lines,
                "document": self.document}  # fmt: skip


def mapped_output(run: SyncRun) -> dict[str, Any]:
    """The output of the run's last successful mapping ({} when it has none)."""
    step = (
        run.steps.filter(name=MAP_DEAL, status=RunStep.Status.SUCCEEDED)
        .order_by("attempt", "pk")
        .last()
    )
    return (step.output or {}) if step else {}


def mapped_document(run: SyncRun) -> dict[str, Any] | None:
    """The document the run's last successful mapping made (with any edits it used)."""
    return mapped_output(run).get("document")


def why_not_editable(run: SyncRun) -> str:
    """Why the run's document cannot be edited now, in words; "" when it can."""
    if run.flow_config.flow not in DOCUMENTS:
        return "Only the runs of won deals have a document to edit."
    if run.status not in EDITABLE_STATUSES:
        return (
            f"Run {run.pk} is {run.get_status_display().lower()}: only a failed or dead run's "
            "document can be edited."
        )
    if not mapped_document(run):
        return (
            "The deal was never mapped, so there is no document to edit: fix the deal in the "
            "CRM, then retry."
        )
    return ""


def editable_document(run: SyncRun) -> EditableDocument:
    """The run's mapped document as the fields an operator may change."""
    refused = why_not_editable(run)
    if refused:
        raise RunActionRefused(refused)
    entity = DOCUMENTS[run.flow_config.flow]
    document = mapped_document(run) or {}
    known = {info.name for info in schema(entity)}
    header = [
        {"field": name, "label": FIELD_WORDS[name], "value": document.get(name) or ""}
        for name in HEADER_FIELDS
        if name in known
    ]
    lines = [
        {name: {"field": f"lines[{index}].{name}", "value": line.get(name) or ""}
         for name in LINE_FIELDS}
        for index, line in enumerate(document.get("lines") or [])
    ]  # fmt: skip
    return EditableDocument(entity, document, header, lines)


def checked_value(name: str, value: Any) -> tuple[Any, str]:
    """The value as the document keeps it, or what is wrong with it."""
    text = "" if value is None else str(value).strip()
    if name in MONEY_FIELDS:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None, f"{FIELD_WORDS[name]} must be a number, like 12 or 9.50; got “{text}”."
        if not number.is_finite() or number < 0 or (name == "quantity" and number == 0):
            low = "more than 0" if name == "quantity" else "0 or more"
            return None, f"{FIELD_WORDS[name]} must be {low}; got {text}."
        return format(number.normalize(), "f"), ""
    if name in DATE_FIELDS and text:
        try:
            return date.fromisoformat(text).isoformat(), ""
        except ValueError:
            return None, f"{FIELD_WORDS[name]} must be a date as YYYY-MM-DD; got “{text}”."
    if name == "sku" and not text:
        return None, "Item is required: enter the item code as the ERP knows it."
    return text, ""


def erp_columns(run: SyncRun, entity: str) -> tuple[dict[str, tuple[str, int]], str]:
    """Each document field the pair's outgoing mapping writes to an ERP column with a
    length, as {field: (column, length)} (`lines[].x` for lines), and the ERP's name."""
    ctx = StepContext(run=run, flow=FLOWS[run.flow_config.flow])
    names = ctx.erp.names(entity)
    lengths = {info.name: info.length for info in erp_schema(ctx, names) if info.length}
    rules = active_mapping(ctx, "out", entity, names.mapping).spec.get("rules") or []
    columns: dict[str, tuple[str, int]] = {}
    for rule in rules:
        target, source = str(rule.get("target")), str(rule.get("source") or "")
        if source == "lines":
            for line_rule in rule.get("rules") or []:
                column = f"{names.lines_field}[].{line_rule.get('target')}"
                if column in lengths:
                    columns[f"lines[].{line_rule.get('source')}"] = (
                        str(line_rule.get("target")),
                        lengths[column],
                    )
        elif source and target in lengths:
            columns[source] = (target, lengths[target])
    return columns, ctx.erp.label


def checked_changes(run: SyncRun, wanted: dict[str, Any]) -> list[dict[str, Any]]:
    """The changes an operator asked for, each {field, before, after}; raises EditRefused
    naming every field that is unknown or whose value the flow or the ERP would refuse."""
    editable = editable_document(run)
    document = editable.document
    allowed = {row["field"] for row in editable.header} | {
        cell["field"] for line in editable.lines for cell in line.values()
    }
    try:
        columns, erp = erp_columns(run, editable.entity)
    except ConnectorError:
        columns, erp = {}, "the ERP"  # lengths unknown now: the write itself will say
    errors: dict[str, str] = {}
    changes = []
    for path, value in wanted.items():
        if path not in allowed:
            errors[path] = "This field cannot be edited here (or the line does not exist)."
            continue
        before = value_at(document, path)
        if same(before, value):
            continue  # unchanged: the flow already takes it as it is
        found = LINE_FIELD.match(path)
        name = found.group(2) if found else path
        after, problem = checked_value(name, value)
        column = columns.get(f"lines[].{name}" if found else name)
        if not problem and column and len(str(after)) > column[1]:
            problem = (
                f"{describe_field(document, path)} holds at most {column[1]} characters in "
                f"{erp} ({column[0]}); this has {len(str(after))}."
            )
        if problem:
            errors[path] = problem
            continue
        if not same(before, after):
            label = describe_field(document, path)  # as people read it: "Quantity of WIDGET-9"
            changes.append({"field": path, "label": label, "before": before, "after": after})
    if errors:
        raise EditRefused(errors)
    if not changes:
        raise EditRefused({"changes": "Nothing changed: change a value, then save."})
    return changes


def edit_and_retry(run: SyncRun, user: Any, wanted: dict[str, Any], note: str = "") -> RunEdit:
    """Keep the checked edit on the run and retry it from the start (the mapping step lays
    the edit over the deal); a changed quantity or price then waits for an approver."""
    if len(note) > NOTE_LENGTH:
        raise EditRefused({"note": f"The note holds at most {NOTE_LENGTH} characters."})
    changes = checked_changes(run, wanted)
    mapped = mapped_output(run)
    document, rate = mapped.get("document") or {}, mapped.get("rate")
    for change in changes:
        document = apply_change(document, change, Decimal(rate) if rate else None)
    money = any(change["field"].rsplit(".", 1)[-1] in MONEY_FIELDS for change in changes)
    with transaction.atomic():
        edit = RunEdit.objects.create(
            run=run, edited_by=user if getattr(user, "is_authenticated", False) else None,
            changes=changes, document=document, note=note.strip(), needs_approval=money,
        )  # fmt: skip
        record_action(user, run, "edited", "; ".join(change_lines(edit)))
        retry_run(run, FROM_START)
    return edit


def change_lines(edit: RunEdit) -> list[str]:
    """Each change of the edit as "field: before → after"."""
    return [
        f"{change.get('label') or change['field']}: {change['before'] or '—'} → "
        f"{change['after'] or '—'}"
        for change in edit.changes
    ]
