"""A lookup table's CSV export and import: the file's columns checked, what it would change
worked out for a preview, and applied only once someone saw that preview and pressed Apply.

A row is a key and its value. The file names its columns in a header row (`key,value`,
other columns left out and said so), or has exactly two columns on every line. A file with
one column, or a line with one, is refused with the line named: imported, its keys would map
to nothing. Commas, semicolons (Excel in much of Europe) and tabs all separate columns.

The export is opened in spreadsheets, so a cell a spreadsheet would run as a formula (it
starts with =, +, -, @, a tab or a carriage return: OWASP's CSV injection list) is written
after an apostrophe, which makes it text; so is a cell that starts with an apostrophe, so
the import can take exactly one off again and a table exported and imported is unchanged.
A plain number (`-5`, `+12.5`) is written as it is: it cannot run anything, and a key like
`-5` stays the same text for every other program that reads the file.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django import forms
from django.db import transaction

from mappings.models import LookupEntry, LookupTable

MAX_LENGTH = LookupEntry._meta.get_field("key").max_length
SHOWN_PROBLEMS = 5
Row = tuple[str, str]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"  # a spreadsheet shows the rest of the cell as text, never as a formula
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


@dataclass
class CsvRows:
    """The (key, value) rows of a file that passed the checks."""

    rows: list[Row]
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def empty_values(self) -> list[str]:
        return [key for key, value in self.rows if not value]


@dataclass
class Changes:
    """What importing rows into a table does."""

    added: list[Row]
    changed: list[tuple[str, str, str]]  # key, value now, value from the file
    removed: list[Row]
    unchanged: int

    @property
    def count(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


class Writable(Protocol):
    """Where the export goes: a file, an HttpResponse."""

    def write(self, text: str, /) -> Any: ...


def export_cell(text: str) -> str:
    """The cell as written to the export: marked as text when a spreadsheet would run it."""
    formula = text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text)
    return TEXT_MARK + text if formula or text.startswith(TEXT_MARK) else text


def import_cell(text: str) -> str:
    """The cell as the export had it before `export_cell` marked it."""
    unmarked = text.removeprefix(TEXT_MARK)
    return unmarked if unmarked.startswith((*FORMULA_START, TEXT_MARK)) else text


def write_csv(out: Writable, rows: Iterable[Row]) -> None:
    """The export: a header row `key,value`, then the rows, no cell run as a formula."""
    writer = csv.writer(out)
    writer.writerow(["key", "value"])
    writer.writerows((export_cell(key), export_cell(value)) for key, value in rows)


def cells_of(text: str) -> list[tuple[int, list[str]]]:
    """Each non-blank line's number and stripped cells, in the separator the file uses;
    empty cells past the second are dropped (spreadsheets leave them)."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel
    lines = []
    for number, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        cells = [cell.strip() for cell in cells]
        while len(cells) > 2 and not cells[-1]:
            cells.pop()
        if any(cells):
            lines.append((number, cells))
    return lines


def read_csv(text: str) -> CsvRows:
    """The rows of the file, or a ValidationError naming its problems (the first few)."""
    lines = cells_of(text)
    if not lines:
        raise forms.ValidationError("The file has no rows.")
    header = [cell.casefold() for cell in lines[0][1]]
    named = "key" in header and "value" in header
    if named:
        key_at, value_at = header.index("key"), header.index("value")
        ignored = [name for name in lines[0][1] if name.casefold() not in ("key", "value")]
        lines = lines[1:]
    elif all(len(cells) == 1 for _, cells in lines):
        raise forms.ValidationError(
            "Nothing imported: the file has one column, and a lookup row needs two, the key "
            "and its value (e.g. WIDGET-1,ITM-0001). Add the values as a second column, or a "
            "header row key,value naming the columns."
        )
    else:
        key_at, value_at, ignored = 0, 1, []
    rows, problems, seen = [], [], set()
    for number, cells in lines:
        if not named and len(cells) != 2:
            what = "one column" if len(cells) == 1 else f"{len(cells)} columns"
            problems.append(f"line {number} has {what}, not two (key, value)")
            continue
        if len(cells) <= max(key_at, value_at):
            problems.append(f"line {number} has fewer columns than the header row")
            continue
        key, value = import_cell(cells[key_at]), import_cell(cells[value_at])
        if not key:
            problems.append(f"line {number} has no key")
        elif max(len(key), len(value)) > MAX_LENGTH:
            problems.append(f"line {number} is longer than {MAX_LENGTH} characters")
        elif key.casefold() in seen:
            problems.append(f"line {number} repeats the key “{key}”")
        else:
            seen.add(key.casefold())
            rows.append((key, value))
    if problems:
        shown = "; ".join(problems[:SHOWN_PROBLEMS])
        if len(problems) > SHOWN_PROBLEMS:
            shown += f" (and {len(problems) - SHOWN_PROBLEMS} more)"
        raise forms.ValidationError(f"Nothing imported: {shown}.")
    if not rows:
        raise forms.ValidationError("The file has a header row but no rows under it.")
    return CsvRows(rows, ignored)


def changes(table: LookupTable, rows: list[Row], replace: bool) -> Changes:
    """What importing `rows` changes; keys match as lookups do, whatever their case."""
    existing = {entry.key.casefold(): entry for entry in table.entries.all()}
    added, changed, unchanged = [], [], 0
    for key, value in rows:
        entry = existing.pop(key.casefold(), None)
        if entry is None:
            added.append((key, value))
        elif entry.value != value or entry.key != key:
            changed.append((key, entry.value, value))
        else:
            unchanged += 1
    removed = [(e.key, e.value) for e in existing.values()] if replace else []
    return Changes(added, changed, removed, unchanged)


@transaction.atomic
def apply(table: LookupTable, rows: list[Row], replace: bool) -> Changes:
    """Write the changes row by row (not in bulk), so the audit log has every row added,
    changed or removed, with who imported it."""
    done = changes(table, rows, replace)
    existing = {entry.key.casefold(): entry for entry in table.entries.all()}
    for key, value in done.added:
        LookupEntry.objects.create(table=table, key=key, value=value)
    for key, _, value in done.changed:
        entry = existing[key.casefold()]
        entry.key, entry.value = key, value
        entry.save(update_fields=["key", "value"])
    if done.removed:
        gone = [existing[key.casefold()].pk for key, _ in done.removed]
        LookupEntry.objects.filter(pk__in=gone).delete()
    table.save(update_fields=["updated_at"])
    return done
