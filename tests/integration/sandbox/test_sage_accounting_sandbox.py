"""Fidelity of the Sage Accounting sandbox, seen from a plain `requests` client of API v3.1:
OAuth code flow and token lifetimes, paging, wrapped writes, validation, idempotency,
incremental sync, faults and the pages."""

import re
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.sage_accounting import data
from sandbox.sage_accounting.shapes import seed_id

CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
REDIRECT_URI = "http://127.0.0.1:9/callback"


class Api(requests.Session):
    """A session on /v3.1 with a bearer token, like any Sage Accounting client."""

    def __init__(self, base_url: str, access_token: str) -> None:
        super().__init__()
        self.base = f"{base_url}/v3.1"
        self.headers["Authorization"] = f"Bearer {access_token}"

    def request(self, method, path, *args, **kwargs):
        kwargs.setdefault("timeout", 5)
        return super().request(method, self.base + path, *args, **kwargs)


@pytest.fixture
def sage(sage_accounting_sandbox):
    return sage_accounting_sandbox


@pytest.fixture
def api(sage) -> Api:
    tokens = requests.post(f"{sage.url}/_control/oauth/tokens", timeout=5).json()
    return Api(sage.url, tokens["access_token"])


def authorize_code(url: str, scope: str = "full_access") -> str:
    """Drive the consent page like a browser: GET it, press Allow, read the redirect."""
    query = {
        "response_type": "code",
        "client_id": "sandbox-client",
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "xyz-42",
    }
    page = requests.get(f"{url}/oauth/authorize", params=query, timeout=5)
    assert page.status_code == 200
    assert f"Allow Clarity Connect to access {data.BUSINESS['name']}?" in page.text
    allow = requests.post(
        f"{url}/oauth/authorize", data={**query, "decision": "allow"}, allow_redirects=False
    )
    assert allow.status_code == 302
    location = urlsplit(allow.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    params = parse_qs(location.query)
    assert params["state"] == ["xyz-42"]
    return params["code"][0]


def exchange(url: str, **form) -> requests.Response:
    return requests.post(f"{url}/oauth/token", data={**CLIENT, **form}, timeout=5)


def redeem(url: str, code: str, **form) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, **form}
    return exchange(url, **form)


def connect(url: str, scope: str = "full_access") -> dict:
    """The whole consent flow: the token response."""
    return redeem(url, authorize_code(url, scope)).json()


def customer(api: Api, currency: str = "USD") -> dict:
    contacts = api.get(
        "/contacts",
        params={"contact_type_id": "CUSTOMER", "attributes": "all", "items_per_page": 200},
    ).json()["$items"]
    return next(c for c in contacts if c["currency"]["id"] == currency)


def invoice_body(contact_id: str, **extra) -> dict:
    line = {
        "description": "Steel Bracket",
        "product_id": seed_id("product", "WIDGET-100"),
        "ledger_account_id": data.ledger_account_id(4000),
        "quantity": 3,
        "unit_price": "19.99",
    }
    return {"contact_id": contact_id, "date": "2026-11-20", "invoice_lines": [line], **extra}


# ---------------------------------------------------------------- OAuth


def test_authorization_code_flow_issues_tokens_once(sage):
    code = authorize_code(sage.url)
    reply = redeem(sage.url, code)
    assert reply.status_code == 200
    tokens = reply.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 300
    assert tokens["scope"] == "full_access"
    assert tokens["requested_by_id"] == data.USER_ID
    assert {"access_token", "refresh_token", "refresh_token_expires_in"} <= set(tokens)
    api = Api(sage.url, tokens["access_token"])
    assert api.get("/businesses").json()["$items"][0]["id"] == data.BUSINESS_ID

    replay = redeem(sage.url, code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert api.get("/businesses").status_code == 401  # a replayed code revokes its grant


def test_deny_redirects_with_access_denied_and_bad_clients_are_refused(sage):
    query = {
        "response_type": "code",
        "client_id": "sandbox-client",
        "redirect_uri": REDIRECT_URI,
        "state": "s1",
        "decision": "deny",
    }
    deny = requests.post(f"{sage.url}/oauth/authorize", data=query, allow_redirects=False)
    assert parse_qs(urlsplit(deny.headers["Location"]).query) == {
        "error": ["access_denied"],
        "state": ["s1"],
    }
    unknown = requests.get(f"{sage.url}/oauth/authorize", params={**query, "client_id": "nope"})
    assert unknown.status_code == 400 and "Unknown client_id" in unknown.text
    code = authorize_code(sage.url)
    wrong_secret = redeem(sage.url, code, client_secret="guess")
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    other_uri = redeem(sage.url, code, redirect_uri="http://127.0.0.1:9/elsewhere")
    assert other_uri.json()["error"] == "invalid_grant"


def test_access_token_expires_and_401_is_in_sage_error_shape(sage):
    requests.post(f"{sage.url}/_control/oauth", json={"access_token_lifetime": 1}, timeout=5)
    tokens = connect(sage.url)
    assert tokens["expires_in"] == 1
    api = Api(sage.url, tokens["access_token"])
    assert api.get("/contacts").status_code == 200
    time.sleep(1.2)
    expired = api.get("/contacts")
    assert expired.status_code == 401
    assert expired.json() == [
        {
            "$severity": "error",
            "$dataCode": "AuthorizationFailure",
            "$message": "The access token has expired",
            "$source": "",
        }
    ]
    missing = requests.get(f"{sage.url}/v3.1/contacts", timeout=5)
    assert missing.status_code == 401
    assert missing.json()[0]["$dataCode"] == "AuthorizationFailure"


def test_refresh_token_rotates_and_dies_once_used(sage):
    first = connect(sage.url)
    second = exchange(sage.url, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert Api(sage.url, pair["access_token"]).get("/contacts").status_code == 200
    reused = exchange(sage.url, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    third = exchange(sage.url, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert third.status_code == 200

    revoke = requests.post(
        f"{sage.url}/oauth/revoke",
        timeout=5,
        data={**CLIENT, "token": third.json()["refresh_token"]},
    )
    assert revoke.status_code == 200
    assert Api(sage.url, third.json()["access_token"]).get("/contacts").status_code == 401


def test_readonly_token_cannot_write_and_unknown_business_is_refused(sage):
    api = Api(sage.url, connect(sage.url, scope="readonly")["access_token"])
    assert api.get("/contacts", headers={"X-Business": data.BUSINESS_ID}).status_code == 200
    assert api.post("/contacts", json={"contact": {"name": "X"}}).status_code == 403
    assert api.get("/contacts", headers={"X-Business": "0" * 32}).status_code == 403


# ---------------------------------------------------------------- reading


def test_contacts_paging_follows_next_to_the_end(api):
    first = api.get("/contacts").json()
    assert first["$itemsPerPage"] == 20 and first["$back"] is None
    assert set(first["$items"][0]) == {"id", "displayed_as", "$path"}
    seen, page = [], first
    while True:
        seen += [item["id"] for item in page["$items"]]
        if not page["$next"]:
            break
        page = api.get(page["$next"]).json()
    assert len(seen) == len(set(seen)) == first["$total"] == 46
    assert page["$back"].startswith("/contacts?") and page["$page"] == 3
    too_many = api.get("/contacts", params={"items_per_page": 201})
    assert too_many.status_code == 422
    assert too_many.json()[0]["$source"] == "items_per_page"


def test_search_filters_and_attributes(api):
    widgets = api.get("/products", params={"search": "WIDGET-12", "attributes": "item_code"})
    codes = sorted(item["item_code"] for item in widgets.json()["$items"])
    assert codes == [f"WIDGET-12{n}" for n in range(10)]
    assert api.get("/products", params={"search": "WIDGET-999"}).json()["$total"] == 0
    vendors = api.get("/contacts", params={"contact_type_id": "VENDOR"}).json()
    assert vendors["$total"] == len(data.VENDORS)
    sales = api.get(
        "/ledger_accounts", params={"ledger_account_type_id": "SALES", "attributes": "all"}
    ).json()
    assert {a["nominal_code"] for a in sales["$items"]} == {4000, 4010, 4020}
    settings = api.get("/financial_settings").json()
    assert settings["base_currency"]["id"] == "USD" and settings["multi_currency_enabled"]
    assert api.get("/contacts/" + "f" * 32).json()[0]["$dataCode"] == "RecordNotFound"
    assert api.get("/contacts/" + "f" * 32).status_code == 404


# ---------------------------------------------------------------- writing


def test_create_contact_with_wrapped_body(api):
    body = {
        "name": "Orchard Lane Cafe",
        "contact_type_ids": ["CUSTOMER"],
        "main_address": {
            "address_line_1": "12 Orchard Lane",
            "city": "Albany",
            "region": "NY",
            "postal_code": "12207",
            "country_id": "US",
        },
        "main_contact_person": {"name": "Ruth Ames", "email": "ruth@orchardlane.example"},
    }
    created = api.post("/contacts", json={"contact": body})
    assert created.status_code == 201
    contact = created.json()
    assert re.fullmatch(r"[0-9a-f]{32}", contact["id"])
    assert contact["displayed_as"] == f"Orchard Lane Cafe ({contact['reference']})"
    assert contact["created_at"] == contact["updated_at"]
    assert api.get(contact["$path"]).json()["main_address"]["city"] == "Albany"
    found = api.get("/contacts", params={"email": "ruth@orchardlane.example"}).json()
    assert [c["id"] for c in found["$items"]] == [contact["id"]]
    unwrapped = api.post("/contacts", json=body)
    assert unwrapped.status_code == 422 and unwrapped.json()[0]["$source"] == "contact"
    renamed = api.put(contact["$path"], json={"contact": {"notes": "Pays by check"}}).json()
    assert renamed["notes"] == "Pays by check" and renamed["name"] == "Orchard Lane Cafe"


def test_create_sales_invoice_computes_totals(api):
    buyer = customer(api)
    body = invoice_body(buyer["id"])
    body["invoice_lines"].append(
        {
            "description": "Install",
            "ledger_account_id": data.ledger_account_id(4010),
            "quantity": "1.5",
            "unit_price": 125,
            "discount_amount": "7.50",
            "tax_rate_id": data.tax_rate_id("ca"),
            "tax_amount": "13.05",
        }
    )
    created = api.post("/sales_invoices", json={"sales_invoice": body})
    assert created.status_code == 201, created.text
    invoice = created.json()
    assert [line["net_amount"] for line in invoice["invoice_lines"]] == ["59.97", "180.00"]
    assert invoice["net_amount"] == "239.97"
    assert invoice["tax_amount"] == "13.05"
    assert invoice["total_amount"] == invoice["outstanding_amount"] == "253.02"
    assert invoice["status"]["id"] == "UNPAID"
    assert invoice["invoice_number"] == invoice["displayed_as"] == "SI-27"
    assert invoice["due_date"] > invoice["date"]
    balance = Decimal(api.get(buyer["$path"]).json()["balance"])
    assert balance == Decimal(buyer["balance"]) + Decimal("253.02")


def test_foreign_currency_invoice_carries_currency_and_exchange_rate(api):
    buyer = customer(api, "EUR")
    invoice = api.post("/sales_invoices", json={"sales_invoice": invoice_body(buyer["id"])}).json()
    assert invoice["currency"]["id"] == "EUR"
    assert invoice["exchange_rate"] == "0.92"
    assert invoice["total_amount"] == "59.97"
    assert invoice["base_currency_total_amount"] == "65.18"  # 59.97 / 0.92
    mismatch = api.post(
        "/sales_invoices", json={"sales_invoice": invoice_body(buyer["id"], currency_id="USD")}
    )
    assert mismatch.json()[0]["$source"] == "currency_id"


def test_validation_errors_are_422_naming_the_field(api):
    line = {"description": "Widget", "ledger_account_id": "0" * 32, "unit_price": 10}
    reply = api.post(
        "/sales_invoices", json={"sales_invoice": {"date": "2026-11-20", "invoice_lines": [line]}}
    )
    assert reply.status_code == 422
    errors = reply.json()
    assert all(e["$severity"] == "error" and e["$dataCode"] == "RecordInvalid" for e in errors)
    assert {e["$source"] for e in errors} == {
        "contact_id",
        "invoice_lines.0.ledger_account_id",
        "invoice_lines.0.quantity",
    }
    taxed = invoice_body(customer(api)["id"])
    taxed["invoice_lines"][0]["tax_rate_id"] = data.tax_rate_id("ny")
    reply = api.post("/sales_invoices", json={"sales_invoice": taxed})
    assert [e["$source"] for e in reply.json()] == ["invoice_lines.0.tax_amount"]
    assert api.get("/sales_invoices").json()["$total"] == 26  # nothing was written


def test_idempotency_id_replay_returns_the_first_invoice(api):
    body = invoice_body(customer(api)["id"], idempotency_id=uuid.uuid4().hex)
    first = api.post("/sales_invoices", json={"sales_invoice": body}).json()
    second = api.post("/sales_invoices", json={"sales_invoice": body}).json()
    assert second["id"] == first["id"] and second["invoice_number"] == first["invoice_number"]
    assert api.get("/sales_invoices").json()["$total"] == 27
    bad = api.post("/sales_invoices", json={"sales_invoice": {**body, "idempotency_id": "k-1"}})
    assert bad.status_code == 422 and bad.json()[0]["$source"] == "idempotency_id"


def test_commit_then_fail_then_retry_with_idempotency_id_creates_once(sage, api):
    requests.post(f"{sage.url}/_control/faults", json={"commit_then_fail_rate": 1.0}, timeout=5)
    body = {
        "contact": {
            "name": "Retry Works LLC",
            "contact_type_ids": ["CUSTOMER"],
            "idempotency_id": uuid.uuid4().hex,
        }
    }
    failed = api.post("/contacts", json=body)
    assert failed.status_code == 500
    assert failed.json()[0]["$dataCode"] == "UnexpectedError"
    requests.delete(f"{sage.url}/_control/faults", timeout=5)
    retried = api.post("/contacts", json=body)
    assert retried.status_code == 201
    matches = api.get("/contacts", params={"search": "Retry Works"}).json()
    assert [c["id"] for c in matches["$items"]] == [retried.json()["id"]]


def test_rate_limit_fault_answers_429_with_retry_after(sage, api):
    requests.post(
        f"{sage.url}/_control/faults", json={"rate_limit_rate": 1.0, "retry_after": 3}, timeout=5
    )
    throttled = api.get("/contacts")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.json()[0]["$dataCode"] == "TooManyRequests"
    assert requests.get(f"{sage.url}/contacts", timeout=5).status_code == 200  # pages unaffected


def test_updated_or_created_since_and_deleted_since(api):
    since = datetime.now(UTC).replace(microsecond=0).isoformat()
    assert api.get("/contacts", params={"updated_or_created_since": since}).json()["$total"] == 0
    created = api.post(
        "/contacts",
        json={"contact": {"name": "New Leaf Florists", "contact_type_ids": ["CUSTOMER"]}},
    ).json()
    changed = api.get("/contacts", params={"updated_or_created_since": since}).json()
    assert [c["id"] for c in changed["$items"]] == [created["id"]]
    old = api.get("/sales_invoices", params={"updated_or_created_since": "2026-11-01T00:00:00Z"})
    assert 0 < old.json()["$total"] < 26
    bad = api.get("/contacts", params={"updated_or_created_since": "yesterday"})
    assert bad.status_code == 422
    assert api.delete(created["$path"]).status_code == 204
    gone = api.get("/contacts", params={"deleted_since": since}).json()["$items"]
    assert [(c["id"], bool(c["deleted_at"])) for c in gone] == [(created["id"], True)]
    in_use = api.delete(customer(api)["$path"])
    assert in_use.status_code == 422  # it has invoices


def test_payment_allocation_updates_invoice_and_void_needs_a_reason(api):
    invoice = api.post(
        "/sales_invoices", json={"sales_invoice": invoice_body(customer(api)["id"])}
    ).json()
    since = invoice["updated_at"]
    receipt = {
        "transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": invoice["contact"]["id"],
        "bank_account_id": data.bank_account_id(1000),
        "date": "2026-11-21",
        "total_amount": "20.00",
        "payment_method_id": "CHECK",
        "allocated_artefacts": [{"artefact_id": invoice["id"], "amount": "20.00"}],
    }
    paid = api.post("/contact_payments", json={"contact_payment": receipt})
    assert paid.status_code == 201, paid.text
    after = api.get(invoice["$path"]).json()
    assert (after["outstanding_amount"], after["status"]["id"]) == ("39.97", "PART_PAID")
    payments = api.get("/contact_payments", params={"updated_or_created_since": since}).json()
    assert [p["id"] for p in payments["$items"]] == [paid.json()["id"]]
    over = dict(
        receipt,
        total_amount="50.00",
        allocated_artefacts=[{"artefact_id": invoice["id"], "amount": "50.00"}],
    )
    rejected = api.post("/contact_payments", json={"contact_payment": over})
    assert rejected.json()[0]["$source"] == "allocated_artefacts.0.amount"
    assert api.delete(invoice["$path"], json={"void_reason": "x"}).status_code == 422  # has payment
    api.delete(paid.json()["$path"])
    assert api.delete(invoice["$path"]).json()[0]["$source"] == "void_reason"
    assert api.delete(invoice["$path"], json={"void_reason": "Duplicate"}).status_code == 204
    assert api.get(invoice["$path"]).json()["status"]["id"] == "VOID"


# ---------------------------------------------------------------- pages


def test_pages_show_invoices_and_the_payment_form_records_a_receipt(sage, api):
    unpaid = api.get("/sales_invoices", params={"status_id": "UNPAID", "attributes": "all"})
    invoice = unpaid.json()["$items"][0]
    listing = requests.get(f"{sage.url}/", timeout=5)
    assert listing.status_code == 200 and invoice["invoice_number"] in listing.text
    contacts = requests.get(f"{sage.url}/contacts", timeout=5)
    assert "Harbor Point Logistics" in contacts.text
    detail = requests.get(f"{sage.url}/invoices/{invoice['id']}", timeout=5)
    assert invoice["invoice_lines"][0]["description"] in detail.text

    form = {
        "amount": invoice["outstanding_amount"],
        "date": "2026-11-22",
        "payment_method_id": "CHECK",
        "reference": "CHK 1042",
    }
    posted = requests.post(
        f"{sage.url}/invoices/{invoice['id']}/payments", data=form, allow_redirects=False, timeout=5
    )
    assert posted.status_code == 303
    shown = requests.get(sage.url + posted.headers["Location"], timeout=5)
    assert "Payment recorded" in shown.text and "CHK 1042" in shown.text
    assert api.get(invoice["$path"]).json()["status"]["id"] == "PAID"
    receipts = api.get("/contact_payments", params={"search": "CHK 1042", "attributes": "all"})
    assert receipts.json()["$items"][0]["total_amount"] == invoice["outstanding_amount"]

    too_much = requests.post(
        f"{sage.url}/invoices/{unpaid.json()['$items'][1]['id']}/payments",
        data={**form, "amount": "999999"},
        timeout=5,
    )
    assert too_much.status_code == 422 and "outstanding amount" in too_much.text
