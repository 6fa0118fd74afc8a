"""Issue 15, low finding: LookupEntry and CurrencyRate changes were not audited. A lookup row
edited on its page or through the API, rows imported from a CSV (added, changed and
removed) and a currency rate changed in the admin each show on the audit log page with who
did it and what changed."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from clarity.models import ApiToken
from mappings.models import CurrencyRate, LookupEntry, LookupTable

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def audit_rows(viewer, **filters: str) -> list[str]:
    """The audit page's rows (who, what, object, changes) as text, newest first."""
    page = signed_in(viewer).get(reverse("audit-log"), filters)
    assert page.status_code == 200
    html = page.content.decode()
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [" ".join(row.split()) for row in body.split("<tr>")[1:]]


@pytest.fixture
def table() -> LookupTable:
    table = LookupTable.objects.create(name="Terms to Sage")
    table.entries.create(key="Net 30", value="01")
    table.entries.create(key="Net 60", value="02")
    return table


def test_a_row_edited_on_its_page_shows_who_and_what(users, table):
    entry = table.entries.get(key="Net 30")
    signed_in(users["operator"]).post(
        reverse("lookup-row", args=[table.pk, entry.pk]), {"key": "Net 30", "value": "07"}, **HTMX
    )
    assert LookupEntry.objects.get(pk=entry.pk).value == "07"
    newest = audit_rows(users["viewer"])[0]
    assert "operator" in newest and "Changed" in newest and "Lookup entry" in newest
    assert "Net 30 → 07" in newest and "01</span> → 07" in newest


def test_rows_imported_from_a_csv_each_show_who_and_what(users, table):
    operator = signed_in(users["operator"])
    upload = SimpleUploadedFile("terms.csv", b"key,value\nNet 30,01\nNet 60,09\nNet 90,03\n")
    preview = operator.post(reverse("lookup-import", args=[table.pk]), {"file": upload})
    changes = operator.post(
        reverse("lookup-import", args=[table.pk]), {"checked": preview.context["checked"]}
    )
    assert changes.status_code == 302
    rows = [row for row in audit_rows(users["viewer"], user="operator") if "Lookup entry" in row]
    assert any("Created" in row and "Net 90 → 03" in row for row in rows), rows
    assert any("Changed" in row and "02</span> → 09" in row for row in rows), rows
    assert len(rows) == 2  # Net 30 did not change


def test_a_row_removed_by_a_replacing_import_shows_who(users, table):
    operator = signed_in(users["operator"])
    upload = SimpleUploadedFile("terms.csv", b"key,value\nNet 30,01\n")
    preview = operator.post(
        reverse("lookup-import", args=[table.pk]), {"file": upload, "replace": "on"}
    )
    operator.post(
        reverse("lookup-import", args=[table.pk]), {"checked": preview.context["checked"]}
    )
    rows = audit_rows(users["viewer"], user="operator")
    assert any("Deleted" in row and "Net 60 → 02" in row for row in rows), rows


def test_a_row_changed_through_the_api_shows_who_and_what(users, table):
    entry = table.entries.get(key="Net 60")
    api = APIClient()
    api.force_login(users["operator"])
    reply = api.patch(f"/api/v1/lookup-entries/{entry.pk}/", {"value": "08"}, format="json")
    assert reply.status_code == 200
    newest = audit_rows(users["viewer"])[0]
    assert "operator" in newest and "Net 60 → 08" in newest and "02</span> → 08" in newest


def test_a_row_changed_with_an_api_token_shows_whose_token(users, table):
    entry = table.entries.get(key="Net 60")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(users['operator'])}")
    assert api.patch(f"/api/v1/lookup-entries/{entry.pk}/", {"value": "08"}).status_code == 200
    newest = audit_rows(users["viewer"])[0]
    assert "Net 60 → 08" in newest and "operator" in newest


def test_a_currency_rate_changed_in_the_admin_shows_who_and_what(users):
    rate = CurrencyRate.objects.create(
        from_currency="EUR", to_currency="USD", rate=Decimal("1.08"), as_of=date(2026, 1, 1)
    )
    changed = signed_in(users["admin"]).post(
        reverse("admin:mappings_currencyrate_change", args=[rate.pk]),
        {"pair": "", "from_currency": "EUR", "to_currency": "USD", "rate": "1.11",
         "as_of": "2026-01-01"},
    )  # fmt: skip
    assert changed.status_code == 302, changed.content.decode()[:2000]
    newest = audit_rows(users["viewer"])[0]
    assert "admin" in newest and "Changed" in newest and "Currency rate" in newest
    assert "1.08" in newest and "1.11" in newest
