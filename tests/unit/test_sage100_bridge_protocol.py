"""The bridge's protocol (signatures, the time window) and its idempotency, without Sage:
the bridge app runs in-process on a recording fake backend."""

import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal

import pytest
from werkzeug.test import Client

from connectors.sage100.bridge import protocol
from connectors.sage100.bridge.backend import EXISTED, BOIError, Sage100Backend, SeveralMatches
from connectors.sage100.bridge.protocol import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    WINDOW_SECONDS,
    SignatureError,
    sign_request,
    signed_headers,
    verify_signature,
)
from connectors.sage100.bridge.server import BridgeApp

KEY = "unit-test-key"
BODY = b'{"ARDivisionNo": "00", "CustomerName": "Acme"}'
NOW = 1_750_000_000
METHOD, PATH = "PATCH", "/v1/customers/00/ACME"


def test_signature_round_trip():
    headers = signed_headers(KEY, METHOD, PATH, BODY, now=NOW)
    assert headers[protocol.TIMESTAMP_HEADER] == str(NOW)
    verify_signature(
        KEY,
        METHOD,
        PATH,
        BODY,
        headers[protocol.TIMESTAMP_HEADER],
        headers[protocol.SIGNATURE_HEADER],
        NOW,
    )


def test_signature_is_hmac_sha256_of_timestamp_method_path_and_body():
    signed = b"1750000000\nPATCH\n/v1/customers/00/ACME\n" + BODY
    expected = hmac.new(KEY.encode(), signed, hashlib.sha256).hexdigest()
    assert sign_request(KEY, METHOD, PATH, BODY, NOW) == expected


@pytest.mark.parametrize(
    "key, method, path, body, timestamp",
    [
        ("other-key", METHOD, PATH, BODY, str(NOW)),  # wrong key
        (KEY, METHOD, PATH, BODY.replace(b"Acme", b"Acne"), str(NOW)),  # body altered
        (KEY, METHOD, PATH, BODY + b" ", str(NOW)),  # even by a byte
        (KEY, METHOD, PATH, BODY, str(NOW - 1)),  # timestamp altered (inside the window)
        (KEY, METHOD, "/v1/customers/00/OTHER", BODY, str(NOW)),  # replayed to another record
        (KEY, METHOD, PATH + "?force=1", BODY, str(NOW)),  # query added
        (KEY, "POST", PATH, BODY, str(NOW)),  # another method
    ],
)
def test_tampering_is_detected(key, method, path, body, timestamp):
    signature = sign_request(KEY, METHOD, PATH, BODY, NOW)
    with pytest.raises(SignatureError) as caught:
        verify_signature(key, method, path, body, timestamp, signature, now=NOW)
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize(
    "skew, accepted",
    [(0, True), (WINDOW_SECONDS, True), (-WINDOW_SECONDS, True),
     (WINDOW_SECONDS + 1, False), (-WINDOW_SECONDS - 1, False), (86400, False)],
)  # fmt: skip
def test_window_edges(skew, accepted):
    sent_at = NOW - skew
    signature = sign_request(KEY, METHOD, PATH, BODY, sent_at)
    if accepted:
        verify_signature(KEY, METHOD, PATH, BODY, str(sent_at), signature, now=NOW)
        return
    with pytest.raises(SignatureError) as caught:
        verify_signature(KEY, METHOD, PATH, BODY, str(sent_at), signature, now=NOW)
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


# ---------------------------------------------------------------- the bridge app


class FakeBackend(Sage100Backend):
    """Records calls; refuses customers named "Refused"; can be made to block or crash;
    keeps the orders it made, for conditional creates."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.orders: list[dict] = []
        self.release = threading.Event()
        self.release.set()
        self.crash = False

    def health(self):
        return {"status": "ok"}

    def create_customer(self, values, match=""):
        self.calls.append(("create_customer", values))
        self.release.wait(5)
        if self.crash:
            raise RuntimeError("COM object went away")
        if values.get("CustomerName") == "Refused":
            raise BOIError("The CustomerName is required.")
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

    def set_order_status(self, sales_order_no, status):
        return {}

    def post_cash_receipt(self, values):
        return {}

    def set_stock(self, item_code, warehouse_code, quantity_on_hand):
        return {}


@pytest.fixture
def backend():
    return FakeBackend()


@pytest.fixture
def client(backend, tmp_path):
    return Client(BridgeApp(backend, KEY, tmp_path / "idempotency.db"))


def post(client, path, payload, key="key-1", sign_with=KEY):
    body = json.dumps(payload).encode()
    headers = {**signed_headers(sign_with, "POST", path, body), "Content-Type": "application/json"}
    if key:
        headers[IDEMPOTENCY_HEADER] = key
    return client.post(path, data=body, headers=headers)


def test_a_repeated_request_gets_the_first_reply_without_calling_the_backend(client, backend):
    first = post(client, "/v1/customers", {"ARDivisionNo": "00", "CustomerName": "Acme"})
    second = post(client, "/v1/customers", {"ARDivisionNo": "00", "CustomerName": "Acme"})
    assert first.status_code == second.status_code == 201
    assert second.get_data() == first.get_data()
    assert second.headers[REPLAYED_HEADER] == "true"
    assert len(backend.calls) == 1


def test_a_key_reused_for_another_request_is_refused(client, backend):
    post(client, "/v1/customers", {"ARDivisionNo": "00", "CustomerName": "Acme"})
    reused = post(client, "/v1/customers", {"ARDivisionNo": "00", "CustomerName": "Other"})
    assert reused.status_code == 422
    assert reused.json["error"]["code"] == "idempotency_mismatch"
    assert len(backend.calls) == 1


def test_a_boi_refusal_is_remembered_and_a_crash_is_not(client, backend):
    refused = post(client, "/v1/customers", {"CustomerName": "Refused"}, key="k-refused")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "boi_error"
    assert post(client, "/v1/customers", {"CustomerName": "Refused"}, key="k-refused").headers[
        REPLAYED_HEADER
    ] == "true"  # fmt: skip
    backend.crash = True
    crashed = post(client, "/v1/customers", {"CustomerName": "Acme"}, key="k-crash")
    assert crashed.status_code == 500 and "COM object went away" in crashed.json["error"]["message"]
    backend.crash = False
    retried = post(client, "/v1/customers", {"CustomerName": "Acme"}, key="k-crash")
    assert retried.status_code == 201 and REPLAYED_HEADER not in retried.headers
    assert len(backend.calls) == 3


def test_a_concurrent_repeat_is_told_the_first_is_still_running(client, backend, tmp_path):
    backend.release.clear()
    payload = {"ARDivisionNo": "00", "CustomerName": "Acme"}
    first = threading.Thread(target=post, args=(client, "/v1/customers", payload))
    first.start()
    deadline = time.time() + 5
    while not backend.calls and time.time() < deadline:
        time.sleep(0.01)
    other_client = Client(BridgeApp(backend, KEY, tmp_path / "idempotency.db"))
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
    headers = {**signed_headers(KEY, "POST", "/v1/customers", b"{oops"), IDEMPOTENCY_HEADER: "k"}
    not_json = client.post("/v1/customers", data=b"{oops", headers=headers)
    assert not_json.status_code == 400 and not_json.json["error"]["code"] == "bad_request"
    no_lines = post(client, "/v1/sales-orders", {"CustomerNo": "X"}, key="k2")
    assert no_lines.status_code == 400 and '"lines"' in no_lines.json["error"]["message"]
    missing = client.get("/v1/nothing", headers=signed_headers(KEY, "GET", "/v1/nothing", b""))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_amounts_reach_the_backend_as_decimals(client, backend):
    post(client, "/v1/sales-orders", {"lines": [{"ItemCode": "A", "UnitPrice": 19.99}]})
    assert backend.calls[0][2][0]["UnitPrice"] == Decimal("19.99")


def test_a_signed_request_replayed_to_another_path_is_refused(client, backend):
    body = json.dumps({"OrderStatus": "X"}).encode()
    headers = {
        **signed_headers(KEY, "POST", "/v1/sales-orders/0000001/status", body),
        IDEMPOTENCY_HEADER: "k-status",
    }
    replayed = client.post("/v1/sales-orders/0000002/status", data=body, headers=headers)
    assert replayed.status_code == 401 and replayed.json["error"]["code"] == "bad_signature"
    sent = client.post("/v1/sales-orders/0000001/status", data=body, headers=headers)
    assert sent.status_code == 200


def test_the_query_string_is_signed(client):
    path = "/v1/health?verbose=1"
    signed = client.get(path, headers=signed_headers(KEY, "GET", path, b""))
    assert signed.status_code == 200
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
    backend.orders.pop()  # someone deleted the duplicate in Sage
    retried = post(client, "/v1/sales-orders?match=UDF_DEAL_ID", ORDER, key="k-several")
    assert retried.status_code == 200 and REPLAYED_HEADER not in retried.headers
    assert retried.json["sales_order"]["SalesOrderNo"] == "0000001"


def test_match_must_name_a_column_the_body_fills(client, backend):
    unfilled = post(client, "/v1/sales-orders?match=UDF_OTHER", ORDER, key="k-unfilled")
    assert unfilled.status_code == 400 and "match" in unfilled.json["error"]["message"]
    assert backend.calls == []
