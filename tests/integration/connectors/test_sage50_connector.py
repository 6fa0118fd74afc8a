"""The Sage 50 connector against the live Sage Accounting sandbox over HTTP: the Connect to
Sage flow, token refresh and rotation, every connector method, errors and idempotent writes."""

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection as db

from connectors.errors import AuthError, NotFound, RateLimited, TransientError, ValidationError
from connectors.models import Connection
from connectors.sage50.connector import SageAccountingConnector, idempotency_id
from connectors.sage50.oauth import authorization_url, complete_authorization
from connectors.services import check_connection, connector_for
from sandbox.sage_accounting import data
from sandbox.sage_accounting.shapes import seed_id

pytestmark = pytest.mark.django_db

REDIRECT_URI = "http://127.0.0.1:9/connections/sage/callback"
HARBOR_POINT = seed_id("contact", "Harbor Point Logistics")
BRIGHTWATER = seed_id("contact", "Brightwater Technik GmbH")  # an EUR customer
SALES = data.ledger_account_id(4000)


def control(sandbox, path: str, **body) -> dict:
    reply = requests.post(f"{sandbox.url}/_control/{path}", json=body, timeout=5)
    reply.raise_for_status()
    return reply.json()


def sage_connection(sandbox, tokens: dict | None = None, **settings) -> Connection:
    """A Sage 50 connection to the sandbox, holding `tokens` as Connect to Sage stores them."""
    secrets = {"client_secret": "sandbox-secret"}
    if tokens:
        expires = datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])
        secrets |= {
            "access_token": tokens["access_token"],
            "access_token_expires_at": expires.isoformat(),
            "refresh_token": tokens["refresh_token"],
        }
    return Connection.objects.create(
        name="Brightline Sage",
        system="sage50",
        settings={
            "api_url": f"{sandbox.url}/v3.1",
            "auth_url": f"{sandbox.url}/oauth/authorize",
            "token_url": f"{sandbox.url}/oauth/token",
            "client_id": "sandbox-client",
            **settings,
        },
        secrets=secrets,
    )


@pytest.fixture
def sandbox(sage_accounting_sandbox):
    return sage_accounting_sandbox


@pytest.fixture
def connection(sandbox) -> Connection:
    return sage_connection(sandbox, control(sandbox, "oauth/tokens"))


@pytest.fixture
def sage(connection) -> SageAccountingConnector:
    return connector_for(connection)


def invoice(contact_id: str = HARBOR_POINT, **extra) -> dict:
    line = {
        "description": "Steel Bracket",
        "ledger_account_id": SALES,
        "quantity": 3,
        "unit_price": "19.99",
        "tax_rate_id": data.tax_rate_id("no_tax"),
    }
    return {"contact_id": contact_id, "date": "2026-11-20", "invoice_lines": [line], **extra}


def invoices_referenced(sage: SageAccountingConnector, reference: str) -> list[dict]:
    return sage.search("sales_invoices", reference=reference)


# ---------------------------------------------------------------- connecting


def test_connect_to_sage_stores_tokens_encrypted_and_the_test_names_the_business(sandbox):
    connection = sage_connection(sandbox)
    assert check_connection(connection).message == (
        "Not connected to Sage yet: press Connect to Sage."
    )
    assert connection.status == Connection.Status.NEEDS_REAUTH

    url = authorization_url(connection, REDIRECT_URI, "state-123")
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == ["state-123"] and query["redirect_uri"] == [REDIRECT_URI]
    consent = requests.get(url, timeout=5)
    assert "Allow Clarity Connect" in consent.text
    allow = {key: values[0] for key, values in query.items()} | {"decision": "allow"}
    reply = requests.post(url.split("?")[0], data=allow, allow_redirects=False, timeout=5)
    callback = parse_qs(urlsplit(reply.headers["Location"]).query)
    assert callback["state"] == ["state-123"]

    complete_authorization(connection, callback["code"][0], REDIRECT_URI)
    connection.refresh_from_db()
    assert {"access_token", "access_token_expires_at", "refresh_token"} <= set(connection.secrets)
    with db.cursor() as cursor:
        cursor.execute("SELECT secrets FROM connectors_connection WHERE id = %s", [connection.pk])
        assert connection.secrets["refresh_token"] not in cursor.fetchone()[0]

    health = check_connection(connection)
    assert health.ok, health.message
    assert health.message == (
        "Connected to Brightline Industrial Supply Inc. in Sage; base currency USD."
    )
    assert connection.status == Connection.Status.OK

    with pytest.raises(AuthError, match=r"invalid_grant.*Connect to Sage"):
        complete_authorization(connection, callback["code"][0], REDIRECT_URI)  # used code


def test_bad_client_secret_gives_a_plain_sentence(sandbox):
    tokens = control(sandbox, "oauth/tokens")
    connection = sage_connection(sandbox, {**tokens, "expires_in": 0})
    connection.secrets = {**connection.secrets, "client_secret": "guess"}
    connection.save()
    health = check_connection(connection)
    assert not health.ok
    assert health.message == (
        "Sage refused the client ID or secret (invalid_client): check them on the connection."
    )
    assert connection.status == Connection.Status.NEEDS_REAUTH


def test_unknown_business_id_is_named_in_the_test(sandbox):
    tokens = control(sandbox, "oauth/tokens")
    connection = sage_connection(sandbox, tokens, business_id="0" * 32)
    health = check_connection(connection)
    assert not health.ok
    assert health.message.startswith(f"Sage has no business {'0' * 32} for this user")


# ---------------------------------------------------------------- tokens


def test_expired_access_token_is_refreshed_before_the_call(sandbox):
    control(sandbox, "oauth", access_token_lifetime=1)
    connection = sage_connection(sandbox, control(sandbox, "oauth/tokens"))
    control(sandbox, "oauth", access_token_lifetime=300)
    first = dict(connection.secrets)
    time.sleep(1.1)  # the stored access token is now dead at Sage too

    sage = SageAccountingConnector(connection)
    assert sage.get("contacts", HARBOR_POINT)["name"] == "Harbor Point Logistics"
    assert sage.client.http.calls == 1  # no failed call first
    connection.refresh_from_db()
    assert connection.secrets["access_token"] != first["access_token"]
    assert connection.secrets["refresh_token"] != first["refresh_token"]  # rotated and saved


def test_a_401_on_a_token_believed_valid_refreshes_and_retries_once(sandbox):
    tokens = control(sandbox, "oauth/tokens")
    connection = sage_connection(sandbox, {**tokens, "access_token": "revoked-elsewhere"})
    sage = SageAccountingConnector(connection)
    assert sage.get("contacts", HARBOR_POINT)["id"] == HARBOR_POINT
    assert sage.client.http.calls == 2
    connection.refresh_from_db()
    assert connection.secrets["access_token"] not in ("revoked-elsewhere", tokens["access_token"])


def test_a_second_worker_uses_the_token_the_first_one_refreshed(sandbox):
    tokens = control(sandbox, "oauth/tokens")
    sage_connection(sandbox, {**tokens, "expires_in": 0})
    first_worker = SageAccountingConnector(Connection.objects.get(name="Brightline Sage"))
    second_worker = SageAccountingConnector(Connection.objects.get(name="Brightline Sage"))
    assert first_worker.get("contacts", HARBOR_POINT)
    # The second worker still holds the spent refresh token in memory; re-reading under the
    # row lock finds the new pair instead of spending the dead token.
    assert second_worker.get("contacts", HARBOR_POINT)
    assert Connection.objects.get().status != Connection.Status.NEEDS_REAUTH


def test_a_used_refresh_token_marks_the_connection_needs_reauth(sandbox):
    tokens = control(sandbox, "oauth/tokens")
    spent = requests.post(
        f"{sandbox.url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        },
        timeout=5,
    )
    assert spent.status_code == 200  # someone else rotated it away
    connection = sage_connection(sandbox, {**tokens, "expires_in": 0})
    with pytest.raises(AuthError, match=r"invalid_grant.*press Connect to Sage") as refused:
        SageAccountingConnector(connection).get("contacts", HARBOR_POINT)
    assert refused.value.detail.startswith("invalid_grant")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert "invalid_grant" in connection.last_error


# ---------------------------------------------------------------- reads


def test_every_entity_samples_gets_and_describes(sage):
    assert set(sage.entities()) == {
        "contacts", "products", "ledger_accounts", "tax_rates", "currencies",
        "financial_settings", "sales_invoices", "contact_payments", "stock_items",
        "contact_persons",
    }  # fmt: skip
    for entity in sage.entities():
        records = sage.sample(entity, 2)
        assert 1 <= len(records) <= 2, entity
        key = records[0].get("id", "")
        assert sage.get(entity, key) == records[0], entity
        fields = {field.name: field for field in sage.schema(entity)}
        assert fields, entity
    contact = {field.name: field for field in sage.schema("contacts")}
    assert contact["name"].required and contact["contact_type_ids"].choices
    assert contact["currency"].type == "reference"  # read from the live record
    assert contact["main_contact_person.email"].type == "string"
    invoice_fields = {field.name: field for field in sage.schema("sales_invoices")}
    assert invoice_fields["invoice_lines[].quantity"].required
    assert invoice_fields["invoice_lines[].base_currency_net_amount"].type == "number"
    assert sage.base_currency() == "USD"


def test_a_field_added_in_sage_shows_up_in_the_schema(sage, sandbox):
    assert "udf_territory" not in {field.name for field in sage.schema("contacts")}
    first = sage.sample("contacts", 1)[0]
    store = sandbox.app.store
    store.put(
        "contacts", first["id"], {**store.get("contacts", first["id"]), "udf_territory": "NE"}
    )
    fields = {field.name: field for field in sage.schema("contacts")}
    assert fields["udf_territory"].type == "string"
    assert fields["udf_territory"].label == "Udf territory"


def test_get_of_a_missing_record_is_not_found(sage):
    with pytest.raises(NotFound, match="Sage has no contact with id nope"):
        sage.get("contacts", "nope")


def test_search_by_email_name_nested_field_and_link(sage):
    harbor = sage.get("contacts", HARBOR_POINT)
    email = harbor["main_contact_person"]["email"]
    assert [c["id"] for c in sage.search("contacts", email=email.upper())] == [HARBOR_POINT]
    assert [c["id"] for c in sage.search("contacts", name="harbor point logistics")] == [
        HARBOR_POINT
    ]
    boston = sage.search("contacts", **{"main_address.city": "Boston"})
    assert {c["name"] for c in boston} == {"Harbor Point Logistics", "Beacon Hill Architects"}
    eur_invoices = sage.search("sales_invoices", contact_id=BRIGHTWATER)
    assert len(eur_invoices) >= 2
    assert all(i["currency"]["id"] == "EUR" for i in eur_invoices)
    assert sage.search("sales_invoices", contact=BRIGHTWATER) == eur_invoices


def test_lists_page_through_next_lazily(sage):
    sage.page_size = 7
    everyone = sage.changes("contacts", datetime(2020, 1, 1))
    first = next(everyone)
    assert sage.client.http.calls == 1  # one page fetched, not all of them
    rest = list(everyone)
    assert len(rest) + 1 == 46 and sage.client.http.calls == 7
    stamps = [first["updated_at"], *(c["updated_at"] for c in rest)]
    assert stamps == sorted(stamps)  # oldest first


def test_changes_since_a_moment_and_deletions(sage):
    since = datetime.now(UTC) - timedelta(seconds=1)
    assert list(sage.changes("contacts", since)) == []
    created = sage.create(
        "contacts", {"name": "Quiet Creek Cabinets", "contact_type_ids": ["CUSTOMER"]}, "c-1"
    )
    assert [c["id"] for c in sage.changes("contacts", since)] == [created["id"]]
    paid = sage.changes("sales_invoices", datetime(2026, 11, 1, tzinfo=UTC))
    assert all(i["updated_at"] >= "2026-11-01" for i in paid)
    sage.client.delete(f"/contacts/{created['id']}")
    assert [d["id"] for d in sage.deletions("contacts", since)] == [created["id"]]


# ---------------------------------------------------------------- writes


def test_create_update_and_pay_an_invoice(sage):
    contact = sage.create(
        "contacts",
        {
            "name": "Quiet Creek Cabinets",
            "contact_type_ids": ["CUSTOMER"],
            "main_contact_person": {"email": "ap@quietcreek.example"},
        },
        "crm:box-77:contact",
    )
    moved = sage.update("contacts", contact["id"], {"main_address": {"city": "Erie"}}, "u-1")
    assert moved["main_address"]["city"] == "Erie" and moved["email"] == "ap@quietcreek.example"

    made = sage.create("sales_invoices", invoice(contact["id"], reference="DEAL-77"), "inv-77")
    assert made["total_amount"] == "59.97" and made["status"]["id"] == "UNPAID"
    payment = {
        "transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": contact["id"],
        "bank_account_id": data.bank_account_id(1000),
        "date": "2026-11-22",
        "total_amount": "59.97",
        "allocated_artefacts": [{"artefact_id": made["id"], "amount": "59.97"}],
    }
    assert sage.create("contact_payments", payment, "pay-77")["total_amount"] == "59.97"
    assert sage.get("sales_invoices", made["id"])["status"]["id"] == "PAID"
    assert [p["id"] for p in sage.search("contact_payments", contact_id=contact["id"])]


def test_the_same_idempotency_key_creates_once(sage):
    first = sage.create("sales_invoices", invoice(reference="DEAL-1"), "deal-1:invoice")
    again = sage.create("sales_invoices", invoice(reference="DEAL-1"), "deal-1:invoice")
    assert again["id"] == first["id"]
    assert len(invoices_referenced(sage, "DEAL-1")) == 1
    assert idempotency_id("deal-1:invoice") == idempotency_id("deal-1:invoice")
    assert len(idempotency_id("deal-1:invoice")) == 32


NO_QUANTITY = {"description": "X", "ledger_account_id": SALES, "unit_price": "5.00"}
TAXED_WITHOUT_TAX_AMOUNT = {**invoice()["invoice_lines"][0], "tax_rate_id": data.tax_rate_id("pa")}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (invoice(invoice_lines=[NO_QUANTITY]), {"invoice_lines.0.quantity": "can't be blank"}),
        (
            invoice(invoice_lines=[TAXED_WITHOUT_TAX_AMOUNT]),
            {"invoice_lines.0.tax_amount": "can't be blank when the tax rate is not zero"},
        ),
        (invoice(currency_id="EUR"), {"currency_id": "must match the contact's currency"}),
    ],
)
def test_refused_invoices_name_the_field_and_keep_sages_message(sage, body, fields):
    with pytest.raises(ValidationError) as refused:
        sage.create("sales_invoices", body, "refused")
    assert refused.value.fields == fields
    source, message = next(iter(fields.items()))
    assert refused.value.message == f"Sage refused the sales invoice: {source}: {message}."


# ---------------------------------------------------------------- faults


def test_429_is_rate_limited_with_sages_retry_after(sage, sandbox):
    control(sandbox, "faults", rate_limit_rate=1.0, retry_after=7)
    with pytest.raises(RateLimited) as limited:
        sage.sample("contacts")
    assert limited.value.retry_after == 7
    assert "Too many requests" in limited.value.detail


@pytest.mark.parametrize("knobs", [{"outage": True}, {"error_rate": 1.0}])
def test_5xx_is_transient(sage, sandbox, knobs):
    control(sandbox, "faults", **knobs)
    with pytest.raises(TransientError) as failed:
        sage.get("contacts", HARBOR_POINT)
    assert failed.value.status in (500, 503)


@pytest.mark.parametrize("drop_connection", [False, True])
def test_commit_then_fail_then_the_same_create_gives_one_invoice(sage, sandbox, drop_connection):
    control(sandbox, "faults", commit_then_fail_rate=1.0, drop_connection=drop_connection)
    with pytest.raises(TransientError):
        sage.create("sales_invoices", invoice(reference="DEAL-9"), "deal-9:invoice")
    control(sandbox, "faults")
    created = sage.create("sales_invoices", invoice(reference="DEAL-9"), "deal-9:invoice")
    assert [i["id"] for i in invoices_referenced(sage, "DEAL-9")] == [created["id"]]
