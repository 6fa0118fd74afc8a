"""The Streak sandbox seen by a plain `requests` client, as a connector would see Streak."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

KEY = "sandbox-streak-key"
SALES_BOX_NAME = "Van Dijk Installaties B.V. - New site fit-out"  # the first seeded Sales box


class Receiver:
    """A tiny webhook target on 127.0.0.1: records each POST, answers the queued statuses
    (then 200), optionally after a delay."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                receiver.received.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        self.server.serve_forever(poll_interval=0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver()
    yield target
    target.server.shutdown()
    target.server.server_close()


@pytest.fixture
def api(streak_sandbox) -> Iterator[requests.Session]:
    session = requests.Session()
    session.auth = (KEY, "")
    yield session
    session.close()


def v1(sandbox, path: str) -> str:
    return f"{sandbox.url}/api/v1{path}"


def v2(sandbox, path: str) -> str:
    return f"{sandbox.url}/api/v2{path}"


def pipelines_by_name(api, sandbox) -> dict[str, dict]:
    return {p["name"]: p for p in api.get(v1(sandbox, "/pipelines")).json()}


def sales_boxes(api, sandbox) -> list[dict]:
    sales = pipelines_by_name(api, sandbox)["Sales"]
    return api.get(v1(sandbox, f"/pipelines/{sales['key']}/boxes")).json()


def fast_retries(sandbox, **settings: Any) -> None:
    knobs = {"retry_base_seconds": 0.05, "max_attempts": 3, "timeout_seconds": 2} | settings
    reply = requests.post(f"{sandbox.url}/_control/webhook-settings", json=knobs, timeout=5)
    assert reply.status_code == 200, reply.text


def wait_for_deliveries(sandbox, count: int, timeout: float = 5) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = requests.get(f"{sandbox.url}/_control/webhook-deliveries", timeout=5).json()
        if len(log["deliveries"]) >= count:
            return log["deliveries"]
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} deliveries after {timeout}s: {log}")


def add_webhook(api, sandbox, event: str, target: str, **extra: Any) -> dict:
    sales = pipelines_by_name(api, sandbox)["Sales"]
    reply = api.post(
        v2(sandbox, "/webhooks"),
        params={"pipelineKey": sales["key"]},
        json={"event": event, "targetUrl": target, **extra},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


# ---------------------------------------------------------------- auth and metadata


def test_auth_refuses_a_missing_or_wrong_key_with_streaks_401(streak_sandbox):
    missing = requests.get(v1(streak_sandbox, "/users/me"), timeout=5)
    wrong = requests.get(v1(streak_sandbox, "/users/me"), auth=("not-the-key", ""), timeout=5)
    key_twice = requests.get(v1(streak_sandbox, "/users/me"), auth=(KEY, KEY), timeout=5)
    for reply in (missing, wrong):
        assert reply.status_code == 401
        assert reply.json()["success"] is False
        assert reply.json()["error"]
    assert key_twice.status_code == 200


def test_users_me_describes_the_keys_owner(api, streak_sandbox):
    reply = api.get(v1(streak_sandbox, "/users/me"))
    me = reply.json()
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["X-Streak-Request-Id"]
    assert me["key"] == me["userKey"] and me["email"] == "alex.morgan@claritydemo.com"
    assert isinstance(me["creationTimestamp"], int) and me["creationTimestamp"] > 10**12
    teams = api.get(v2(streak_sandbox, "/users/me/teams")).json()["results"]
    team = api.get(v2(streak_sandbox, f"/teams/{teams[0]['key']}")).json()
    assert me["email"] in {member["email"] for member in team["members"]}


def test_pipelines_carry_a_stage_map_and_a_field_array(api, streak_sandbox):
    pipelines = pipelines_by_name(api, streak_sandbox)
    assert set(pipelines) == {"Sales", "Services", "Wholesale"}
    sales = pipelines["Sales"]
    stages = api.get(v1(streak_sandbox, f"/pipelines/{sales['key']}/stages")).json()
    assert isinstance(stages, dict)
    assert [stages[key]["name"] for key in sales["stageOrder"]] == [
        "Lead",
        "Qualified",
        "Proposal",
        "Closed-Won",
        "Closed-Lost",
    ]
    assert all(key == stage["key"] for key, stage in stages.items())
    fields = api.get(v1(streak_sandbox, f"/pipelines/{sales['key']}/fields")).json()
    by_name = {field["name"]: field for field in fields}
    assert {
        "Deal ID",
        "Amount",
        "Currency",
        "Payment Terms",
        "GL Account Code",
        "Products",
        "Sage Order No",
        "Sage Invoice ID",
    } <= set(by_name)
    currencies = by_name["Currency"]["dropdownSettings"]["items"]
    assert by_name["Currency"]["type"] == "DROPDOWN"
    assert {"USD", "EUR"} <= {item["name"] for item in currencies}


def test_seeded_boxes_hold_catalogue_products_and_some_codes_sage_lacks(api, streak_sandbox):
    boxes = sales_boxes(api, streak_sandbox)
    products = " ".join(box["fields"].get("1006", "") for box in boxes)
    assert len(boxes) == 50
    assert "WIDGET-" in products and "GADGET-" in products
    assert "WIDGET-999" in products or "GADGET-998" in products
    assert any(float(box["fields"]["1002"]) > 10_000 for box in boxes)


# ---------------------------------------------------------------- boxes


def test_pipeline_boxes_page_with_limit_and_filter_by_stage(api, streak_sandbox):
    sales = pipelines_by_name(api, streak_sandbox)["Sales"]
    url = v1(streak_sandbox, f"/pipelines/{sales['key']}/boxes")
    pages = [api.get(url, params={"limit": 20, "page": page}).json() for page in (1, 2, 3, 4)]
    assert [len(page) for page in pages] == [20, 20, 10, 0]
    assert len({box["key"] for page in pages for box in page}) == 50
    won = api.get(url, params={"stageKey": "5004"}).json()
    assert won and all(box["stageKey"] == "5004" for box in won)
    assert api.get(url, params={"page": 0}).status_code == 400


def test_box_get_and_update_fields_by_key_and_stage(api, streak_sandbox):
    box = sales_boxes(api, streak_sandbox)[0]
    url = v1(streak_sandbox, f"/boxes/{box['key']}")
    assert api.get(url).json()["name"] == SALES_BOX_NAME
    reply = api.post(url, json={"stageKey": 5004, "fields": {"1007": "0000123", "1003": "9001"}})
    updated = reply.json()
    assert reply.status_code == 200
    assert updated["stageKey"] == "5004"  # written as an int, read as a string
    assert updated["fields"]["1007"] == "0000123" and updated["fields"]["1003"] == "9001"
    assert updated["fields"]["1001"] == box["fields"]["1001"]  # fields merge
    assert updated["lastStageChangeTimestamp"] > box["lastStageChangeTimestamp"]
    assert api.get(url).json()["stageKey"] == "5004"
    value = api.post(f"{url}/fields/1008", json={"value": "INV-77"}).json()
    assert value == {"key": "1008", "value": "INV-77"}
    assert {"key": "1008", "value": "INV-77"} in api.get(f"{url}/fields").json()


def test_box_errors_use_streaks_shape(api, streak_sandbox):
    box = sales_boxes(api, streak_sandbox)[0]
    missing = api.get(v1(streak_sandbox, "/boxes/agxzfm1haWxmb29nYWVyNoSuchBox"))
    bad_dropdown = api.post(
        v1(streak_sandbox, f"/boxes/{box['key']}"), json={"fields": {"1003": "EUR"}}
    )
    no_json_type = api.post(v1(streak_sandbox, f"/boxes/{box['key']}"), data='{"name": "x"}')
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "error": "Entity not found with key",
        "details": "agxzfm1haWxmb29nYWVyNoSuchBox",
    }
    assert bad_dropdown.status_code == 400 and bad_dropdown.json()["success"] is False
    assert no_json_type.json()["error"] == "Missing parameters"
    assert api.get(v1(streak_sandbox, f"/boxes/{box['key']}")).json()["name"] == SALES_BOX_NAME


def test_v2_create_box_starts_in_the_first_stage(api, streak_sandbox):
    sales = pipelines_by_name(api, streak_sandbox)["Sales"]
    reply = api.post(
        v2(streak_sandbox, f"/pipelines/{sales['key']}/boxes"),
        json={"name": "Granite State Brewing - Taproom sensors", "notes": "From a web form"},
    )
    box = reply.json()
    assert reply.status_code == 200
    assert box["boxKey"] == box["key"] and box["stageKey"] == "5001" and box["fields"] == {}
    assert box["key"] in {b["key"] for b in sales_boxes(api, streak_sandbox)}
    nameless = api.post(v2(streak_sandbox, f"/pipelines/{sales['key']}/boxes"), json={})
    assert nameless.status_code == 400


# ---------------------------------------------------------------- contacts, organizations, notes


def test_contacts_and_organizations_create_find_update_delete(api, streak_sandbox):
    team_key = api.get(v2(streak_sandbox, "/users/me/teams")).json()["results"][0]["key"]
    org = api.post(
        v2(streak_sandbox, f"/teams/{team_key}/organizations"),
        json={"name": "Foxglove Ceramics", "domains": ["foxglove.example"]},
    ).json()
    again = api.post(
        v2(streak_sandbox, f"/teams/{team_key}/organizations"),
        params={"getIfExisting": "true"},
        json={"domains": ["foxglove.example"]},
    ).json()
    assert again["key"] == org["key"]
    contacts_url = v2(streak_sandbox, f"/teams/{team_key}/contacts")
    contact = api.post(
        contacts_url,
        json={
            "givenName": "Ada",
            "familyName": "Reyes",
            "emailAddresses": ["ada@foxglove.example"],
        },
    ).json()
    found = api.post(
        contacts_url,
        params={"getIfExisting": "true"},
        json={"emailAddresses": ["ada@foxglove.example"]},
    ).json()
    assert found["key"] == contact["key"]
    contact_url = v2(streak_sandbox, f"/contacts/{contact['key']}")
    assert api.post(contact_url, json={"title": "Buyer"}).json()["title"] == "Buyer"
    assert api.get(contact_url).json()["givenName"] == "Ada"
    duplicate = api.post(contacts_url, json={"emailAddresses": ["a@x.example", "a@x.example"]})
    assert duplicate.json()["errorCode"] == 801
    assert api.post(contacts_url, json={"title": "Nobody"}).status_code == 400
    assert api.delete(contact_url).json() == {"success": True}
    assert api.get(contact_url).status_code == 404


def test_comments_are_added_and_listed(api, streak_sandbox):
    box = sales_boxes(api, streak_sandbox)[1]
    url = v2(streak_sandbox, f"/boxes/{box['key']}/comments")
    comment = api.post(url, json={"message": "Synced to Sage: order 0000123"}).json()
    listed = api.get(url).json()
    assert comment["message"] == "Synced to Sage: order 0000123" and comment["key"]
    assert listed["hasNextPage"] is False
    assert comment["key"] in {c["key"] for c in listed["results"]}
    fresh = api.get(v1(streak_sandbox, f"/boxes/{box['key']}")).json()
    assert fresh["commentCount"] == box["commentCount"] + 1


def test_tasks_are_added_and_completed(api, streak_sandbox):
    box = sales_boxes(api, streak_sandbox)[2]
    task = api.post(
        v2(streak_sandbox, f"/boxes/{box['key']}/tasks"),
        json={"text": "Chase PO", "dueDate": 1767225600000},
    ).json()
    done = api.post(v2(streak_sandbox, f"/tasks/{task['key']}"), json={"status": "DONE"}).json()
    assert task["status"] == "NOT_DONE" and done["status"] == "DONE"
    listed = api.get(v2(streak_sandbox, f"/boxes/{box['key']}/tasks")).json()["results"]
    assert [t["key"] for t in listed] == [task["key"]]


# ---------------------------------------------------------------- webhooks


def test_webhooks_create_list_delete(api, streak_sandbox):
    sales = pipelines_by_name(api, streak_sandbox)["Sales"]
    hook = add_webhook(api, streak_sandbox, "BOX_CHANGE_STAGE", "https://hooks.example/streak")
    listing_url = v2(streak_sandbox, f"/pipelines/{sales['key']}/webhooks")
    assert hook["key"] and hook["event"] == "BOX_CHANGE_STAGE"
    assert [h["key"] for h in api.get(listing_url).json()["results"]] == [hook["key"]]
    assert api.delete(v2(streak_sandbox, f"/webhooks/{hook['key']}")).json() == {"success": True}
    assert api.get(listing_url).json()["results"] == []
    bad = api.post(
        v2(streak_sandbox, "/webhooks"),
        params={"pipelineKey": sales["key"]},
        json={"event": "BOX_CHANGED", "targetUrl": "https://x.example"},
    )
    assert bad.status_code == 400


def test_stage_change_posts_the_box_array_to_the_webhook(api, streak_sandbox, receiver):
    add_webhook(api, streak_sandbox, "BOX_CHANGE_STAGE", f"{receiver.url}/streak", token="s3cret")
    add_webhook(api, streak_sandbox, "BOX_EDIT", f"{receiver.url}/edits")
    box = sales_boxes(api, streak_sandbox)[0]
    api.post(v1(streak_sandbox, f"/boxes/{box['key']}"), json={"stageKey": "5004"})
    wait_for_deliveries(streak_sandbox, 1)
    (call,) = receiver.received
    assert call["path"] == "/streak"  # a stage change is not a BOX_EDIT
    assert call["headers"]["X-Streak-Webhook-Token"] == "s3cret"
    assert call["headers"]["Content-Type"].startswith("application/json")
    assert isinstance(call["body"], list) and len(call["body"]) == 1
    sent = call["body"][0]
    assert sent["key"] == sent["boxKey"] == box["key"]
    assert sent["stageKey"] == "5004" and sent["pipelineKey"] == box["pipelineKey"]
    assert sent["fields"] == box["fields"]


def test_a_slow_receiver_never_slows_the_api(api, streak_sandbox, receiver):
    receiver.delay = 1.0
    add_webhook(api, streak_sandbox, "BOX_EDIT", receiver.url)
    box = sales_boxes(api, streak_sandbox)[0]
    started = time.monotonic()
    api.post(v1(streak_sandbox, f"/boxes/{box['key']}"), json={"notes": "Called back"})
    assert time.monotonic() - started < 0.5
    assert wait_for_deliveries(streak_sandbox, 1)[0]["statusCode"] == 200


def test_a_failed_delivery_is_retried_and_logged(api, streak_sandbox, receiver):
    fast_retries(streak_sandbox)
    receiver.statuses = [500]
    add_webhook(api, streak_sandbox, "BOX_EDIT", receiver.url)
    box = sales_boxes(api, streak_sandbox)[0]
    api.post(v1(streak_sandbox, f"/boxes/{box['key']}/fields/1007"), json={"value": "0000456"})
    log = wait_for_deliveries(streak_sandbox, 2)
    assert [(d["attempt"], d["statusCode"]) for d in log] == [(1, 500), (2, 200)]
    assert all(d["event"] == "BOX_EDIT" and d["boxKey"] == box["key"] for d in log)
    assert receiver.received[0]["body"] == receiver.received[1]["body"]
    page = requests.get(f"{streak_sandbox.url}/webhooks", timeout=5).text
    assert "BOX_EDIT" in page and "retry in" in page and "delivered" in page


def test_a_410_deletes_the_webhook(api, streak_sandbox, receiver):
    fast_retries(streak_sandbox)
    receiver.statuses = [410]
    hook = add_webhook(api, streak_sandbox, "BOX_CHANGE_STAGE", receiver.url)
    box = sales_boxes(api, streak_sandbox)[0]
    api.post(v1(streak_sandbox, f"/boxes/{box['key']}"), json={"stageKey": "5002"})
    (delivery,) = wait_for_deliveries(streak_sandbox, 1)
    assert delivery["statusCode"] == 410
    assert api.get(v2(streak_sandbox, f"/webhooks/{hook['key']}")).status_code == 404
    api.post(v1(streak_sandbox, f"/boxes/{box['key']}"), json={"stageKey": "5003"})
    time.sleep(0.2)
    assert len(receiver.received) == 1


# ---------------------------------------------------------------- faults and pages


def test_rate_limit_fault_answers_429_with_retry_after_in_streaks_shape(api, streak_sandbox):
    requests.post(
        f"{streak_sandbox.url}/_control/faults",
        json={"rate_limit_rate": 1.0, "retry_after": 3},
        timeout=5,
    )
    reply = api.get(v1(streak_sandbox, "/pipelines"))
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "3"
    assert reply.json()["success"] is False and reply.json()["error"]
    assert requests.get(f"{streak_sandbox.url}/", timeout=5).status_code == 200  # pages unaffected


def test_board_page_shows_seeded_boxes_and_moving_one_fires_the_webhook(
    api, streak_sandbox, receiver
):
    hook = add_webhook(api, streak_sandbox, "BOX_CHANGE_STAGE", receiver.url)
    box = sales_boxes(api, streak_sandbox)[0]
    board_path = f"/pipelines/{box['pipelineKey']}"
    board = requests.get(streak_sandbox.url + board_path, timeout=5)
    assert board.status_code == 200
    assert SALES_BOX_NAME in board.text and "Closed-Won" in board.text
    moved = requests.post(
        f"{streak_sandbox.url}/boxes/{box['key']}/stage",
        data={"stageKey": "5005", "next": board_path},
        allow_redirects=False,
        timeout=5,
    )
    assert moved.status_code == 303 and moved.headers["Location"].startswith(board_path)
    assert api.get(v1(streak_sandbox, f"/boxes/{box['key']}")).json()["stageKey"] == "5005"
    (delivery,) = wait_for_deliveries(streak_sandbox, 1)
    assert delivery["webhookKey"] == hook["key"]
    assert receiver.received[0]["body"][0]["stageKey"] == "5005"
    detail = requests.get(f"{streak_sandbox.url}/boxes/{box['key']}", timeout=5).text
    assert "Stage: <strong>Closed-Lost</strong>" in detail and box["fields"]["1001"] in detail
