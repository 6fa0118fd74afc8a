"""The agent's protocol (signatures over the idempotency key and nonce, the time window),
its body limit and its idempotency, without Sage: the agent app runs in-process with Sage 100's
endpoints on a recording fake backend (Sage 50's: test_agent_sage50_api.py)."""

import hashlib
import hmac
import io
import json
import threading
import time
from decimal import Decimal

import pytest
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from agent import protocol
from agent.backend import EXISTED, RecordInUse, Refused, SeveralMatches
from agent.protocol import (
    IDEMPOTENCY_HEADER,
    NONCE_HEADER,
    REPLAYED_HEADER,
    WINDOW_SECONDS,
    SignatureError,
    sign_request,
    signed_headers,
    verify_signature,
)
from agent.sage100.api import Sage100Api
from agent.sage100.backend import Sage100Backend
from agent.server import AgentApp

KEY = "unit-test-key"
BODY = b'{"ARDivisionNo": "00", "CustomerName": "Acme"}'
NOW = 1_750_000_000
METHOD, PATH, IDEMPOTENCY_KEY = "PATCH", "/v1/customers/00/ACME", "deal-7:customer"
NONCE = "n0nce-of-24-characters_x"


def test_signature_round_trip():
    headers = signed_headers(KEY, METHOD, PATH, BODY, IDEMPOTENCY_KEY, now=NOW)
    assert headers[protocol.TIMESTAMP_HEADER] == str(NOW)
    assert headers[IDEMPOTENCY_HEADER] == IDEMPOTENCY_KEY
    sent_at = verify_signature(
        KEY,
        METHOD,
        PATH,
        BODY,
        headers[protocol.TIMESTAMP_HEADER],
        headers[protocol.SIGNATURE_HEADER],
        IDEMPOTENCY_KEY,
        now=NOW,
        nonce=headers[NONCE_HEADER],
    )
    assert sent_at == NOW


def test_every_signing_carries_a_new_nonce():
    nonces = {signed_headers(KEY, "GET", "/v1/health", b"", now=NOW)[NONCE_HEADER] for _ in "abc"}
    assert len(nonces) == 3 and all(protocol.NONCE.fullmatch(nonce) for nonce in nonces)


def test_signature_is_hmac_sha256_of_timestamp_nonce_method_path_key_and_body():
    signed = f"1750000000 {NONCE}\nPATCH\n/v1/customers/00/ACME\ndeal-7:customer\n".encode()
    expected = hmac.new(KEY.encode(), signed + BODY, hashlib.sha256).hexdigest()
    assert sign_request(KEY, METHOD, PATH, BODY, NOW, IDEMPOTENCY_KEY, NONCE) == expected


def test_a_client_signing_without_a_nonce_is_told_to_update_and_a_stranger_is_not():
    unguarded = sign_request(KEY, METHOD, PATH, BODY, NOW, IDEMPOTENCY_KEY)  # older clients
    with pytest.raises(SignatureError) as old_client:
        verify_signature(KEY, METHOD, PATH, BODY, str(NOW), unguarded, IDEMPOTENCY_KEY, NOW)
    assert old_client.value.code == "bad_nonce" and protocol.ERROR_CODES["bad_nonce"] == 400
    assert NONCE_HEADER in old_client.value.message and "update" in old_client.value.message
    with pytest.raises(SignatureError) as stranger:
        verify_signature(KEY, METHOD, PATH, BODY, str(NOW), "0" * 64, IDEMPOTENCY_KEY, NOW)
    assert stranger.value.code == "bad_signature"


@pytest.mark.parametrize("nonce", ["short", "x" * 65, "has space in it ok", "ünïcödé-nonce-16ch"])
def test_a_nonce_not_of_the_form_is_refused(nonce):
    signature = sign_request(KEY, METHOD, PATH, BODY, NOW, IDEMPOTENCY_KEY, nonce)
    with pytest.raises(SignatureError) as caught:
        verify_signature(
            KEY, METHOD, PATH, BODY, str(NOW), signature, IDEMPOTENCY_KEY, NOW, nonce=nonce
        )
    assert caught.value.code == "bad_nonce" and "16 to 64" in caught.value.message


@pytest.mark.parametrize(
    "key, method, path, body, timestamp, idempotency_key",
    [
        ("other-key", METHOD, PATH, BODY, str(NOW), IDEMPOTENCY_KEY),  # wrong key
        (KEY, METHOD, PATH, BODY.replace(b"Acme", b"Acne"), str(NOW), IDEMPOTENCY_KEY),
        (KEY, METHOD, PATH, BODY + b" ", str(NOW), IDEMPOTENCY_KEY),  # even by a byte
        (KEY, METHOD, PATH, BODY, str(NOW - 1), IDEMPOTENCY_KEY),  # timestamp altered
        (KEY, METHOD, "/v1/customers/00/OTHER", BODY, str(NOW), IDEMPOTENCY_KEY),  # record
        (KEY, METHOD, PATH + "?force=1", BODY, str(NOW), IDEMPOTENCY_KEY),  # query added
        (KEY, "POST", PATH, BODY, str(NOW), IDEMPOTENCY_KEY),  # another method
        (KEY, METHOD, PATH, BODY, str(NOW), "deal-7:customer-again"),  # another key: 2nd write
        (KEY, METHOD, PATH, BODY, str(NOW), ""),  # the key taken off
    ],
)
def test_tampering_is_detected(key, method, path, body, timestamp, idempotency_key):
    signature = sign_request(KEY, METHOD, PATH, BODY, NOW, IDEMPOTENCY_KEY, NONCE)
    with pytest.raises(SignatureError) as caught:
        verify_signature(
            key, method, path, body, timestamp, signature, idempotency_key, NOW, nonce=NONCE
        )
    assert caught.value.code == "bad_signature"


def test_a_new_nonce_on_a_captured_signature_is_detected():
    signature = sign_request(KEY, METHOD, PATH, BODY, NOW, IDEMPOTENCY_KEY, NONCE)
    with pytest.raises(SignatureError) as caught:
        verify_signature(
            KEY, METHOD, PATH, BODY, str(NOW), signature, IDEMPOTENCY_KEY, NOW,
            nonce="another-nonce-of-24-char",
        )  # fmt: skip
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize(
    "skew, accepted",
    [(0, True), (WINDOW_SECONDS, True), (-WINDOW_SECONDS, True),
     (WINDOW_SECONDS + 1, False), (-WINDOW_SECONDS - 1, False), (86400, False)],
)  # fmt: skip
def test_window_edges(skew, accepted):
    sent_at = NOW - skew
    signature = sign_request(KEY, METHOD, PATH, BODY, sent_at, nonce=NONCE)
    if accepted:
        verify_signature(KEY, METHOD, PATH, BODY, str(sent_at), signature, now=NOW, nonce=NONCE)
        return
    with pytest.raises(SignatureError) as caught:
        verify_signature(KEY, METHOD, PATH, BODY, str(sent_at), signature, now=NOW, nonce=NONCE)
    assert caught.value.code == "stale_timestamp"
    assert ("old" if skew > 0 else "in the future") in caught.value.message


@pytest.mark.parametrize("timestamp, signature", [(None, "ab"), (str(NOW), None), ("", "")])
def test_missing_headers(timestamp, signature):
    with pytest.raises(SignatureError) as caught:
        verify_signature(KEY, METHOD, PATH, BODY, timestamp, signature, now=NOW)
    assert caught.value.code == "missing_signature"


def test_a_non_numeric_timestamp_is_refused():
    with pytest.raises(SignatureError) as caught:
        signature = sign_request(KEY, METHOD, PATH, BODY, "yesterday")
        verify_signature(KEY, METHOD, PATH, BODY, "yesterday", signature, now=NOW)
    assert caught.value.code == "stale_timestamp"


def test_every_error_code_has_an_http_status():
    assert all(400 <= status < 600 for status in protocol.ERROR_CODES.values())


# ---------------------------------------------------------------- the agent app, Sage 100


class FakeSage100(Sage100Backend):
    """Records calls; refuses customers named "Refused"; can be made to block, crash or
    find a record in use; keeps the orders it made, for conditional creates."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.orders: list[dict] = []
        self.release = threading.Event()
        self.release.set()
        self.crash = False
        self.in_use = False

    def health(self):
        return {"status": "ok"}

    def create_customer(self, values, match=""):
        self.calls.append(("create_customer", values))
        self.release.wait(5)
        if self.crash:
            raise RuntimeError("COM object went away")
        if self.in_use:
            raise RecordInUse("Customer ACME is open in Customer Maintenance.")
        if values.get("CustomerName") == "Refused":
            raise Refused("The CustomerName is required.", "CustomerName")
        return {"ARDivisionNo": "00", "CustomerNo": f"C{len(self.calls)}"}

    def update_customer(self, division, customer_no, values):
        return {}

    def next_sales_order_number(self):
        return "0000001"

    def create_sales_order(self, header, lines, match=""):
        self.calls.append(("create_sales_order", header, lines))
        holding = [order for order in self.orders if match and order[match] == header[match]]
        if len(holding) > 1:
            raise SeveralMatches(f"Sage 100 has {len(holding)} sales orders with {match}.")
        if holding:
            return {**holding[0], EXISTED: True}
        self.orders.append({**header, "SalesOrderNo": f"{len(self.orders) + 1:07d}"})
        return {**self.orders[-1], "lines": lines}

    def create_invoice(self, header, lines, match=""):
        self.calls.append(("create_invoice", header, lines))
        return {**header, "InvoiceNo": "0000001", "lines": lines}

    def create_purchase_order(self, header, lines, match=""):
        self.calls.append(("create_purchase_order", header, lines))
        return {**header, "PurchaseOrderNo": "0000001", "lines": lines}

    def save_customer_contact(self, division, customer_no, values):
        self.calls.append(("save_customer_contact", division, customer_no, values))
        return {"ARDivisionNo": division, "CustomerNo": customer_no, **values}

    def set_order_status(self, sales_order_no, status):
        return {}

    def post_cash_receipt(self, values):
        return {}

    def set_stock(self, item_code, warehouse_code, quantity_on_hand):
        return {}


@pytest.fixture
def backend():
    return FakeSage100()


@pytest.fixture
def client(backend, tmp_path):
    return Client(AgentApp(Sage100Api(backend), KEY, tmp_path / "idempotency.db"))


def post(client, path, payload, key="key-1", sign_with=KEY):
    body = json.dumps(payload).encode()
    headers = signed_headers(sign_with, "POST", path, body, key or "")
    return client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


def test_a_repeated_request_gets_the_first_reply_without_calling_the_backend(client, backend):
    first = post(client, "/v1/customers", {"ARDivisionNo": "00", "CustomerName": "Acme"})
    second = post(client, "/v1/customers", {"ARDivisionNo": "00", "CustomerName": "Acme"})
    assert first.status_code == second.status_code == 201
    assert second.get_data() == first.get_data()
    assert second.headers[REPLAYED_HEADER] == "true"
    assert len(backend.calls) == 1


def test_a_captured_write_sent_again_under_another_key_fails_the_signature(client, backend):
    body = json.dumps({"ARDivisionNo": "00", "CustomerName": "Acme"}).encode()
    captured = signed_headers(KEY, "POST", "/v1/customers", body, "deal-7:customer")
    assert client.post("/v1/customers", data=body, headers=captured).status_code == 201
    replayed = client.post(
        "/v1/customers", data=body, headers={**captured, IDEMPOTENCY_HEADER: "deal-7:again"}
    )
    assert replayed.status_code == 401 and replayed.json["error"]["code"] == "bad_signature"
    assert len(backend.calls) == 1  # one customer, not two


def test_a_key_reused_for_another_request_is_refused(client, backend):
    post(client, "/v1/customers", {"ARDivisionNo": "00", "CustomerName": "Acme"})
    reused = post(client, "/v1/customers", {"ARDivisionNo": "00", "CustomerName": "Other"})
    assert reused.status_code == 422
    assert reused.json["error"]["code"] == "idempotency_mismatch"
    assert len(backend.calls) == 1


def test_a_refusal_is_remembered_with_its_field_and_a_crash_is_not(client, backend):
    refused = post(client, "/v1/customers", {"CustomerName": "Refused"}, key="k-refused")
    assert refused.status_code == 422
    assert refused.json["error"] == {
        "code": "refused",
        "message": "The CustomerName is required.",
        "field": "CustomerName",
    }
    again = post(client, "/v1/customers", {"CustomerName": "Refused"}, key="k-refused")
    assert again.headers[REPLAYED_HEADER] == "true"
    backend.crash = True
    crashed = post(client, "/v1/customers", {"CustomerName": "Acme"}, key="k-crash")
    assert crashed.status_code == 500 and "COM object went away" in crashed.json["error"]["message"]
    backend.crash = False
    retried = post(client, "/v1/customers", {"CustomerName": "Acme"}, key="k-crash")
    assert retried.status_code == 201 and REPLAYED_HEADER not in retried.headers
    assert len(backend.calls) == 3


def test_a_record_in_use_is_not_remembered_for_its_key(client, backend):
    backend.in_use = True
    busy = post(client, "/v1/customers", {"CustomerName": "Acme"}, key="k-busy")
    assert busy.status_code == 409 and busy.json["error"]["code"] == "record_in_use"
    assert "Customer Maintenance" in busy.json["error"]["message"]
    backend.in_use = False  # the clerk closed the record
    retried = post(client, "/v1/customers", {"CustomerName": "Acme"}, key="k-busy")
    assert retried.status_code == 201 and REPLAYED_HEADER not in retried.headers
    assert len(backend.calls) == 2


def test_a_concurrent_repeat_is_told_the_first_is_still_running(client, backend, tmp_path):
    backend.release.clear()
    payload = {"ARDivisionNo": "00", "CustomerName": "Acme"}
    first = threading.Thread(target=post, args=(client, "/v1/customers", payload))
    first.start()
    deadline = time.time() + 5
    while not backend.calls and time.time() < deadline:
        time.sleep(0.01)
    other_client = Client(AgentApp(Sage100Api(backend), KEY, tmp_path / "idempotency.db"))
    repeat = post(other_client, "/v1/customers", payload)
    backend.release.set()
    first.join()
    assert repeat.status_code == 409
    assert repeat.json["error"]["code"] == "idempotency_in_progress"
    assert len(backend.calls) == 1


def test_writes_need_an_idempotency_key_and_a_signature(client, backend):
    no_key = post(client, "/v1/customers", {"CustomerName": "Acme"}, key=None)
    assert no_key.status_code == 400
    assert no_key.json["error"]["code"] == "missing_idempotency_key"
    wrong = post(client, "/v1/customers", {"CustomerName": "Acme"}, sign_with="guess")
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "bad_signature"
    assert backend.calls == []


def test_bad_bodies_and_paths_are_json_errors(client):
    headers = signed_headers(KEY, "POST", "/v1/customers", b"{oops", "k")
    not_json = client.post("/v1/customers", data=b"{oops", headers=headers)
    assert not_json.status_code == 400 and not_json.json["error"]["code"] == "bad_request"
    no_lines = post(client, "/v1/sales-orders", {"CustomerNo": "X"}, key="k2")
    assert no_lines.status_code == 400 and no_lines.json["error"]["field"] == "lines"
    missing = client.get("/v1/nothing", headers=signed_headers(KEY, "GET", "/v1/nothing", b""))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes (endless when None) that counts what was read."""

    def __init__(self, size: int | None) -> None:
        self.left, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = len(buffer) if self.left is None else min(len(buffer), self.left)
        buffer[:count] = b" " * count
        self.read_bytes += count
        if self.left is not None:
            self.left -= count
        return count


def send_stream(backend, tmp_path, stream: CountingStream, content_length: int | None):
    app = AgentApp(Sage100Api(backend), KEY, tmp_path / "idempotency.db", max_body_bytes=1000)
    headers = signed_headers(KEY, "POST", "/v1/customers", b"", "k-large")
    environ = EnvironBuilder(path="/v1/customers", method="POST", headers=headers).get_environ()
    environ["wsgi.input"] = stream
    environ.pop("CONTENT_LENGTH", None)
    if content_length is None:
        environ["wsgi.input_terminated"] = True  # chunked: the server ends the stream
    else:
        environ["CONTENT_LENGTH"] = str(content_length)
    return app.handle(Request(environ))


def test_a_body_declared_too_large_is_refused_before_a_byte_is_read(backend, tmp_path):
    stream = CountingStream(50_000_000)
    reply = send_stream(backend, tmp_path, stream, content_length=50_000_000)
    assert reply.status_code == 413 and json.loads(reply.get_data())["error"]["code"] == "too_large"
    assert stream.read_bytes == 0 and backend.calls == []


def test_a_chunked_body_is_read_only_to_one_byte_past_the_limit(backend, tmp_path):
    stream = CountingStream(None)
    reply = send_stream(backend, tmp_path, stream, content_length=None)
    assert reply.status_code == 413 and stream.read_bytes == 1001 and backend.calls == []


def test_amounts_reach_the_backend_as_decimals(client, backend):
    post(client, "/v1/sales-orders", {"lines": [{"ItemCode": "A", "UnitPrice": 19.99}]})
    assert backend.calls[0][2][0]["UnitPrice"] == Decimal("19.99")


def test_a_signed_request_replayed_to_another_path_is_refused(client, backend):
    body = json.dumps({"OrderStatus": "X"}).encode()
    headers = signed_headers(KEY, "POST", "/v1/sales-orders/0000001/status", body, "k-status")
    replayed = client.post("/v1/sales-orders/0000002/status", data=body, headers=headers)
    assert replayed.status_code == 401 and replayed.json["error"]["code"] == "bad_signature"
    sent = client.post("/v1/sales-orders/0000001/status", data=body, headers=headers)
    assert sent.status_code == 200


def test_the_query_string_is_signed_and_health_names_the_product(client):
    path = "/v1/health?verbose=1"
    signed = client.get(path, headers=signed_headers(KEY, "GET", path, b""))
    assert signed.json["health"] == {"status": "ok", "product": "sage100"}
    unsigned_query = client.get(path, headers=signed_headers(KEY, "GET", "/v1/health", b""))
    assert unsigned_query.status_code == 401


ORDER = {"CustomerNo": "ACME", "UDF_DEAL_ID": "D-1", "lines": [{"ItemCode": "A"}]}


def test_a_create_naming_its_deal_returns_the_order_sage_has_instead_of_a_second(client, backend):
    made = post(client, "/v1/sales-orders?match=UDF_DEAL_ID", ORDER, key="attempt-1")
    again = post(client, "/v1/sales-orders?match=UDF_DEAL_ID", ORDER, key="attempt-2")
    assert (made.status_code, made.json["existed"]) == (201, False)
    assert (again.status_code, again.json["existed"]) == (200, True)
    assert again.json["sales_order"]["SalesOrderNo"] == made.json["sales_order"]["SalesOrderNo"]
    assert EXISTED not in again.json["sales_order"] and len(backend.orders) == 1


def test_several_orders_for_the_deal_are_refused_and_a_retry_after_cleaning_up_runs_again(
    client, backend
):
    backend.orders = [{**ORDER, "SalesOrderNo": "0000001"}, {**ORDER, "SalesOrderNo": "0000002"}]
    refused = post(client, "/v1/sales-orders?match=UDF_DEAL_ID", ORDER, key="k-several")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "several_matches"
    assert refused.json["error"]["field"] == "UDF_DEAL_ID"
    backend.orders.pop()  # someone deleted the duplicate in Sage
    retried = post(client, "/v1/sales-orders?match=UDF_DEAL_ID", ORDER, key="k-several")
    assert retried.status_code == 200 and REPLAYED_HEADER not in retried.headers
    assert retried.json["sales_order"]["SalesOrderNo"] == "0000001"


def test_match_must_name_a_column_the_body_fills(client, backend):
    unfilled = post(client, "/v1/sales-orders?match=UDF_OTHER", ORDER, key="k-unfilled")
    assert unfilled.status_code == 400 and "match" in unfilled.json["error"]["message"]
    assert backend.calls == []


def test_a_contact_write_reaches_the_backend_once_and_a_missing_code_is_refused(client, backend):
    path = "/v1/customers/01/ABF/contacts"
    body = {"ContactCode": "JANERIVERA", "ContactName": "Jane Rivera"}
    first = post(client, path, body, key="contact-1")
    again = post(client, path, body, key="contact-1")
    assert first.status_code == again.status_code == 200
    assert first.json["contact"] == {"ARDivisionNo": "01", "CustomerNo": "ABF", **body}
    assert again.json == first.json and again.headers[REPLAYED_HEADER]
    assert backend.calls == [("save_customer_contact", "01", "ABF", body)]
    refused = post(client, path, {"ContactName": "No Code"}, key="contact-2")
    assert refused.status_code == 400 and refused.json["error"]["field"] == "ContactCode"
    assert len(backend.calls) == 1


def test_a_purchase_order_naming_its_lines_reaches_the_backend(client, backend):
    order = {"APDivisionNo": "00", "VendorNo": "ALLENCO", "lines": [{"ItemCode": "A1"}]}
    made = post(client, "/v1/purchase-orders", order, key="po-1")
    assert made.status_code == 201 and made.json["existed"] is False
    assert made.json["purchase_order"]["PurchaseOrderNo"] == "0000001"
    header = {"APDivisionNo": "00", "VendorNo": "ALLENCO"}
    assert backend.calls == [("create_purchase_order", header, [{"ItemCode": "A1"}])]
