"""The designer's pages and endpoints, on a Streak → Sage 100 pair against the live sandboxes:
what each role may do, and what an admin sees and changes."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from connectors.models import IntegrationPair
from mappings.defaults.base import TERMS_TO_SAGE100
from mappings.models import LookupEntry, LookupTable, Mapping
from tests.won_deals import sage100_connection, streak_connection

pytestmark = pytest.mark.django_db

SALES_PIPELINE = "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDE6c2FuZGJveA"
CUSTOMER_OUT = "Customer → Sage 100 customer"
DEAL_IN = "Streak deal → customer"
CUSTOMER = {"name": "Harbor Point Marine", "terms": "Net 60", "email": "ap@harborpoint.example"}


@pytest.fixture
def pair(streak_sandbox, sage100_sandbox) -> IntegrationPair:
    crm, erp = streak_connection(streak_sandbox), sage100_connection(sage100_sandbox)
    made = IntegrationPair(name="Acme deals", crm=crm, erp=erp)
    made.rotate_webhook_token()
    made.save()  # the pair's default mappings come with it
    return made


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def mapping(pair: IntegrationPair, name: str) -> Mapping:
    return Mapping.objects.get(pair=pair, name=name)


def sample_records(page: str) -> list[dict]:
    return json.loads(page.split('id="sample-records" type="application/json">')[1].split("<")[0])


def rules_without(spec: dict, target: str) -> dict:
    return {**spec, "rules": [r for r in spec["rules"] if r["target"] != target]}


# ---------------------------------------------------------------- who may do what


@pytest.mark.parametrize("role", ["admin", "operator", "approver", "viewer"])
def test_every_role_can_read_the_pages(users, pair, role):
    client = client_for(users[role])
    customer = mapping(pair, CUSTOMER_OUT)
    table = LookupTable.objects.get(pair=pair, name=TERMS_TO_SAGE100)
    for url in [
        reverse("mapping-list"),
        reverse("mapping-designer", args=[customer.pk]),
        reverse("mapping-history", args=[customer.pk]),
        reverse("mapping-lineage", args=[pair.slug]),
        reverse("lookup-list"),
        reverse("lookup-detail", args=[table.pk]),
        reverse("lookup-export", args=[table.pk]),
    ]:
        assert client.get(url).status_code == 200, url


def test_operators_fix_lookup_rows_but_not_tables_or_mappings(users, pair):
    client = client_for(users["operator"])
    table = LookupTable.objects.get(pair=pair, name=TERMS_TO_SAGE100)
    added = client.post(
        reverse("lookup-row-add", args=[table.pk]), {"key": "Net 90", "value": "06"}
    )
    assert added.status_code == 200 and table.entries.filter(key="Net 90", value="06").exists()
    renamed = {"name": "Renamed", "on_miss": "error"}
    assert client.post(reverse("lookup-detail", args=[table.pk]), renamed).status_code == 403
    assert client.post(reverse("lookup-create"), {"name": "New"}).status_code == 403
    customer = mapping(pair, CUSTOMER_OUT)
    spec = json.dumps(rules_without(customer.active_version.spec, "TermsCode"))
    saved = client.post(reverse("mapping-save", args=[customer.pk]), {"spec": spec})
    assert saved.status_code == 403 and customer.versions.count() == 1


@pytest.mark.parametrize("role", ["approver", "viewer"])
def test_only_integration_admins_change_anything(users, pair, role):
    client = client_for(users[role])
    customer = mapping(pair, CUSTOMER_OUT)
    table = LookupTable.objects.get(pair=pair, name=TERMS_TO_SAGE100)
    entry = table.entries.first()
    spec = json.dumps(rules_without(customer.active_version.spec, "TermsCode"))
    posts = [
        (reverse("mapping-save", args=[customer.pk]), {"spec": spec}),
        (reverse("mapping-suggest", args=[customer.pk]), {"spec": spec}),
        (reverse("mapping-restore", args=[customer.pk, 1]), {}),
        (reverse("lookup-create"), {"name": "New"}),
        (reverse("lookup-detail", args=[table.pk]), {"name": "Renamed", "on_miss": "error"}),
        (reverse("lookup-row-add", args=[table.pk]), {"key": "Net 90", "value": "06"}),
        (reverse("lookup-row", args=[table.pk, entry.pk]), {"key": entry.key, "value": "99"}),
        (reverse("lookup-row-delete", args=[table.pk, entry.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert customer.versions.count() == 1
    assert table.entries.filter(value="99").count() == 0 and table.entries.count() == 6

    page = client.get(reverse("mapping-designer", args=[customer.pk])).content.decode()
    assert "Save version" not in page and "Suggest" not in page
    assert '<fieldset class="targets" disabled>' in page


def test_anonymous_visitors_are_sent_to_sign_in(pair):
    response = Client().get(reverse("mapping-list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# ---------------------------------------------------------------- list and designer


def test_the_list_groups_mappings_by_pair_with_their_active_version(users, pair):
    page = client_for(users["viewer"]).get(reverse("mapping-list")).content.decode()
    assert "Acme deals" in page and CUSTOMER_OUT in page and DEAL_IN in page
    assert "<code>Customer</code>" in page and "<code>AR_Customer</code>" in page
    assert ">v1</a>" in page and "Shipped default" in page


def test_the_designer_shows_live_fields_on_both_sides(users, pair):
    client = client_for(users["admin"])
    deal = client.get(reverse("mapping-designer", args=[mapping(pair, DEAL_IN).pk]))
    page = deal.content.decode()
    # Streak's pipeline fields, read live, with the path the engine reads them by.
    assert 'data-path="fieldsByName.Payment Terms"' in page
    assert 'Payment Terms <span class="badge badge-custom">custom</span>' in page

    customer = client.get(reverse("mapping-designer", args=[mapping(pair, CUSTOMER_OUT).pk]))
    page = customer.content.decode()
    assert 'data-target="TermsCode"' in page and "max 2" in page  # Sage 100's length
    assert 'data-target="CustomerNo"' in page  # unmapped, required by Sage
    assert "from Streak: Payment Terms" in page  # where the canonical terms come from


def test_samples_of_a_canonical_source_are_made_by_the_pairs_in_mapping(users, pair):
    client = client_for(users["viewer"])
    response = client.get(reverse("mapping-samples", args=[mapping(pair, CUSTOMER_OUT).pk]))
    page = response.content.decode()
    assert "Made from Streak Box records by “Streak deal → customer”" in page
    records = sample_records(page)
    assert records and all(record.get("name") for record in records)
    assert {record["terms"] for record in records} & {
        "Net 30",
        "Net 15",
        "Net 60",
        "Due on receipt",
    }


def test_samples_of_a_streak_box_come_with_organization_and_contact(users, pair):
    client = client_for(users["admin"])
    page = client.get(reverse("mapping-samples", args=[mapping(pair, DEAL_IN).pk])).content.decode()
    assert 'data-path="organization.name"' in page  # offered as a source beyond the schema
    records = sample_records(page)
    assert records[0]["fieldsByName"] and records[0]["organization"]["name"]


def preview(client, mapping_, spec, record) -> str:
    url = reverse("mapping-preview", args=[mapping_.pk])
    data = {"spec": json.dumps(spec), "record": json.dumps(record)}
    return client.post(url, data).content.decode()


def test_preview_runs_the_draft_and_reports_every_issue(users, pair):
    client = client_for(users["admin"])
    customer = mapping(pair, CUSTOMER_OUT)
    saved = customer.active_version.spec

    page = preview(client, customer, saved, CUSTOMER)
    assert '"TermsCode": "04"' in page  # Net 60 through the lookup table
    assert "is required" not in page  # Sage numbers the customer: the default mapping is whole

    draft = rules_without(saved, "TermsCode")
    draft["rules"].append({"target": "TermsCode", "source": "terms"})
    page = preview(client, customer, draft, CUSTOMER)
    assert "TermsCode holds at most 2 characters in Sage 100" in page
    assert customer.versions.count() == 1  # a preview saves nothing


def test_preview_never_adds_lookup_rows(users, pair):
    table = LookupTable.objects.get(pair=pair, name=TERMS_TO_SAGE100)
    table.on_miss = LookupTable.OnMiss.CREATE
    table.save()
    client = client_for(users["admin"])
    customer = mapping(pair, CUSTOMER_OUT)
    page = preview(client, customer, customer.active_version.spec, CUSTOMER | {"terms": "Net 9"})
    assert "added it (as itself)" in page
    assert not table.entries.filter(key="Net 9").exists()


def test_preview_explains_a_broken_draft_or_sample(users, pair):
    client = client_for(users["viewer"])
    customer = mapping(pair, CUSTOMER_OUT)
    broken = {"rules": [{"target": "TermsCode", "source": "terms", "transforms": ["nope"]}]}
    assert "there is no transform “nope”" in preview(client, customer, broken, CUSTOMER)
    url = reverse("mapping-preview", args=[customer.pk])
    page = client.post(url, {"spec": "{}", "record": "{not json"}).content.decode()
    assert "That is not valid JSON" in page


def test_save_makes_a_version_with_the_note_and_refuses_a_broken_spec(users, pair):
    client = client_for(users["admin"])
    customer = mapping(pair, CUSTOMER_OUT)
    url = reverse("mapping-save", args=[customer.pk])
    same = json.dumps(customer.active_version.spec)
    client.post(url, {"spec": same, "note": "nothing"})
    assert customer.versions.count() == 1  # nothing changed, nothing saved

    changed = rules_without(customer.active_version.spec, "EmailAddress")
    response = client.post(url, {"spec": json.dumps(changed), "note": "No email to Sage"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (
        customer.active_version.number == 2 and customer.active_version.note == "No email to Sage"
    )
    assert customer.active_version.author == users["admin"]

    broken = {"rules": [{"target": "X", "source": "a", "constant": "b"}]}
    response = client.post(url, {"spec": json.dumps(broken)}, follow=True)
    assert "Not saved: X: use one of source, constant or template" in response.content.decode()
    assert customer.versions.count() == 2


def test_suggest_proposes_rules_for_unmapped_targets(users, pair):
    client = client_for(users["admin"])
    customer = mapping(pair, CUSTOMER_OUT)
    draft = rules_without(customer.active_version.spec, "EmailAddress")
    url = reverse("mapping-suggest", args=[customer.pk])
    page = client.post(url, {"spec": json.dumps(draft), "record": json.dumps(CUSTOMER)})
    page = page.content.decode()
    assert 'class="suggestion" data-target="EmailAddress"' in page
    assert "Accept EmailAddress" in page and "%" in page


# ---------------------------------------------------------------- history and lineage


def test_history_diffs_any_two_versions_and_restores_one(users, pair):
    client = client_for(users["admin"])
    customer = mapping(pair, CUSTOMER_OUT)
    changed = rules_without(customer.active_version.spec, "TermsCode")
    client.post(reverse("mapping-save", args=[customer.pk]), {"spec": json.dumps(changed)})

    page = client.get(reverse("mapping-history", args=[customer.pk]) + "?from=1&to=2")
    page = page.content.decode()
    assert "diff-badge-removed" in page and "<code>TermsCode</code>" in page
    assert f"Lookup table ({TERMS_TO_SAGE100})" in page

    response = client.post(reverse("mapping-restore", args=[customer.pk, 1]), follow=True)
    assert "Restored version 1 as version 3" in response.content.decode()
    customer.refresh_from_db()
    assert customer.active_version.spec == customer.versions.get(number=1).spec


def test_lineage_follows_a_streak_field_through_canonical_to_sage(users, pair):
    page = client_for(users["viewer"]).get(reverse("mapping-lineage", args=[pair.slug]))
    rows = page.content.decode().split("<tr>")
    terms = next(row for row in rows if "<code>fieldsByName.Payment Terms</code>" in row
                 and "<code>TermsCode</code>" in row)  # fmt: skip
    assert "<code>terms</code>" in terms and f"Lookup table ({TERMS_TO_SAGE100})" in terms


# ---------------------------------------------------------------- lookup tables


def test_lookup_rows_are_added_edited_and_deleted_inline(users, pair):
    client = client_for(users["admin"])
    table = LookupTable.objects.get(pair=pair, name=TERMS_TO_SAGE100)
    htmx = {"HTTP_HX_REQUEST": "true"}
    added = client.post(
        reverse("lookup-row-add", args=[table.pk]), {"key": "Net 90", "value": "06"}, **htmx
    )
    assert "<code>Net 90</code>" in added.content.decode()

    twice = client.post(
        reverse("lookup-row-add", args=[table.pk]), {"key": "net 90", "value": "07"}, **htmx
    )
    assert twice["HX-Retarget"] == "#add-row-errors"
    assert "“net 90” already has a row" in twice.content.decode()

    entry = table.entries.get(key="Net 90")
    form = client.get(reverse("lookup-row-edit", args=[table.pk, entry.pk]), **htmx)
    assert 'value="06"' in form.content.decode()
    client.post(
        reverse("lookup-row", args=[table.pk, entry.pk]), {"key": "Net 90", "value": "09"}, **htmx
    )
    entry.refresh_from_db()
    assert entry.value == "09"

    gone = client.post(reverse("lookup-row-delete", args=[table.pk, entry.pk]), **htmx)
    assert gone.content == b"" and not LookupEntry.objects.filter(pk=entry.pk).exists()


def test_lookup_csv_round_trip_and_on_miss_setting(users, pair):
    client = client_for(users["admin"])
    table = LookupTable.objects.get(pair=pair, name=TERMS_TO_SAGE100)
    exported = client.get(reverse("lookup-export", args=[table.pk]))
    text = exported.content.decode()
    assert exported["Content-Type"].startswith("text/csv") and "Net 30,01" in text

    upload = SimpleUploadedFile("terms.csv", b"key,value\nNet 30,30\nNet 120,09\n")
    preview = client.post(
        reverse("lookup-import", args=[table.pk]), {"file": upload, "replace": "on"}
    )
    assert "Apply: change 7 rows" in preview.content.decode()
    assert table.entries.filter(key="Net 30", value="01").exists()  # nothing written yet
    checked = preview.context["checked"]
    response = client.post(reverse("lookup-import", args=[table.pk]), {"checked": checked},
                           follow=True)  # fmt: skip
    assert "Imported 2 rows: 1 added, 1 changed, 5 removed." in response.content.decode()
    assert dict(table.entries.values_list("key", "value")) == {"Net 30": "30", "Net 120": "09"}

    bad = SimpleUploadedFile("bad.csv", b"key,value\n,07\nA,1\na,2\n")
    response = client.post(reverse("lookup-import", args=[table.pk]), {"file": bad}, follow=True)
    assert (
        "Nothing imported: line 2 has no key; line 4 repeats the key “a”"
        in response.content.decode()
    )

    settings = {"name": table.name, "description": "", "on_miss": "default", "default_value": ""}
    response = client.post(reverse("lookup-detail", args=[table.pk]), settings)
    assert "Give the default value this choice uses." in response.content.decode()
    client.post(reverse("lookup-detail", args=[table.pk]), settings | {"on_miss": "pass_through"})
    table.refresh_from_db()
    assert table.on_miss == "pass_through"


def test_a_new_global_table_is_listed_for_every_pair(users, pair):
    client = client_for(users["admin"])
    response = client.post(
        reverse("lookup-create"), {"name": "Stage → status", "on_miss": "error"}, follow=True
    )
    assert "Lookup table “Stage → status” created" in response.content.decode()
    listing = client.get(reverse("lookup-list")).content.decode()
    assert listing.index("Stage → status") < listing.index("Acme deals")
