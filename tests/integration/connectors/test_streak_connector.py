"""The Streak connector against the live Streak sandbox, over real HTTP, with real rows."""

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.errors import (
    NotFound,
    RateLimited,
    TransientError,
    Unsupported,
    ValidationError,
)
from connectors.models import Connection
from connectors.services import check_connection, connector_for
from connectors.streak.webhooks import MalformedWebhook, parse_webhook
from sandbox.streak import data

pytestmark = pytest.mark.django_db

KEY = "sandbox-streak-key"
FIXTURES = Path(__file__).parent / "fixtures" / "streak"
BOX_NAME = "Van Dijk Installaties B.V. - New site fit-out"  # the first seeded Sales box


@pytest.fixture
def connection(streak_sandbox) -> Connection:
    return Connection.objects.create(
        name="Acme Streak",
        system="streak",
        settings={
            "base_url": streak_sandbox.url,
            "pipeline_key": data.SALES["key"],
            "requests_per_second": 500,  # the default 10/s has its own test
        },
        secrets={"api_key": KEY},
    )


@pytest.fixture
def streak(connection):
    return connector_for(connection)


@pytest.fixture
def first_box(streak) -> dict[str, Any]:
    return streak.search("Box", name=BOX_NAME)[0]


def set_faults(sandbox, **knobs: Any) -> None:
    requests.post(f"{sandbox.url}/_control/faults", json=knobs, timeout=5).raise_for_status()


def raw_box(sandbox, key: str) -> dict[str, Any]:
    return requests.get(f"{sandbox.url}/api/v1/boxes/{key}", auth=(KEY, ""), timeout=5).json()


# ---------------------------------------------------------------- test connection


def test_check_connection_names_the_user_team_and_pipeline(connection):
    health = check_connection(connection)
    connection.refresh_from_db()
    assert health.ok and connection.status == Connection.Status.OK
    assert "Alex Morgan (alex.morgan@claritydemo.com)" in health.message
    assert "team Clarity Demo Co" in health.message and "pipeline Sales" in health.message


def test_a_wrong_key_gives_the_plain_sentence_and_needs_reauth(connection):
    connection.secrets = {"api_key": "not-the-key"}
    connection.save()
    health = check_connection(connection)
    connection.refresh_from_db()
    assert health.message == "Streak refused the API key (401)"
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert connection.last_error == "Streak refused the API key (401)"


def test_without_a_pipeline_the_test_lists_the_pipelines_to_choose(connection):
    connection.settings = {**connection.settings, "pipeline_key": ""}
    health = connector_for(connection).test()
    assert health.ok and "No pipeline chosen yet; this key sees Sales, Services" in health.message
    assert health.details["pipelines"][data.SERVICES["key"]] == "Services"


def test_an_unknown_pipeline_fails_and_names_the_ones_there_are(connection):
    connection.settings = {**connection.settings, "pipeline_key": "agxnope"}
    connection.save()
    health = check_connection(connection)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.FAILING
    assert "sees no pipeline agxnope" in health.message and "Sales (" in health.message


# ---------------------------------------------------------------- schema and reads


def test_schema_lists_the_pipelines_fields_with_types_and_choices(streak):
    assert streak.entities() == ["Box", "Contact", "Organization", "Stage", "Comment"]
    fields = {field.name: field for field in streak.schema("Box")}
    assert fields["Currency"].type == "choice" and fields["Currency"].key == "1003"
    assert fields["Currency"].choices == ("USD", "EUR", "GBP", "CAD")
    assert fields["Expected Close Date"].type == "date" and fields["Amount"].custom
    assert fields["stageName"].choices[3] == "Closed-Won" and not fields["name"].custom
    assert {f.name for f in streak.schema("Contact")} >= {"givenName", "emailAddresses"}
    with pytest.raises(ValidationError):
        streak.schema("Opportunity")


def test_a_field_added_in_streak_shows_up_and_can_be_written(streak, first_box, monkeypatch):
    added = data.field_definition("1010", "Region", "DROPDOWN", {"North": "9021", "South": "9022"})
    assert "Region" not in {field.name for field in streak.schema("Box")}
    monkeypatch.setitem(data.SALES, "fields", [*data.SALES["fields"], added])
    box = streak.write_back(first_box["key"], {"Region": "south"})  # the cache is stale here
    assert box["fields"]["1010"] == "9022" and box["fieldsByName"]["Region"] == "South"
    region = next(field for field in streak.schema("Box") if field.name == "Region")
    assert region.custom and region.key == "1010" and region.choices == ("North", "South")


def test_a_box_reads_with_fields_by_name_decoded_and_raw_keys_kept(streak, first_box):
    box = streak.get("Box", first_box["key"])
    raw = box["fields"]
    assert box["fieldsByName"]["Deal ID"] == raw["1001"] == "SAL-1001"
    assert box["fieldsByName"]["Currency"] == "EUR" and raw["1003"] == "9002"
    close = box["fieldsByName"]["Expected Close Date"]
    assert (
        isinstance(close, date) and close == datetime.fromtimestamp(raw["1009"] / 1000, UTC).date()
    )
    assert box["stageName"] == data.SALES["stages"][box["stageKey"]]["name"]
    with pytest.raises(NotFound):
        streak.get("Box", "agxnosuchbox")


def test_boxes_list_by_stage_page_by_page(streak):
    won = list(streak.boxes("Closed-Won"))
    assert len(won) == 14 and {box["stageName"] for box in won} == {"Closed-Won"}
    paged = list(streak.boxes("5004", page_size=4))  # 4 pages of 4, 4, 4, 2
    assert [box["key"] for box in paged] == [box["key"] for box in won]
    assert len(list(streak.boxes())) == 50
    with pytest.raises(ValidationError) as caught:
        list(streak.boxes("Won"))
    assert "it has Lead, Qualified, Proposal, Closed-Won, Closed-Lost" in caught.value.message


def test_changes_since_a_time_are_the_boxes_changed_since_oldest_first(streak, first_box):
    before = datetime.now(UTC) - timedelta(milliseconds=5)
    assert list(streak.changes("Box", before)) == []
    second = streak.search("Box", **{"Deal ID": "SAL-1002"})[0]
    streak.write_back(first_box["key"], {"Sage Order No": "0000101"})
    streak.write_back(second["key"], {"Sage Order No": "0000102"})
    changed = list(streak.changes("Box", before))
    assert [box["key"] for box in changed] == [first_box["key"], second["key"]]
    seed_day = datetime.fromtimestamp(data.SEED_TIME_MS / 1000, UTC) - timedelta(days=60)
    assert len(list(streak.changes("Box", seed_day))) > 20
    with pytest.raises(Unsupported):
        streak.changes("Contact", before)


def test_search_boxes_contacts_organizations_stages_and_comments(streak, first_box):
    assert [b["key"] for b in streak.search("Box", **{"Deal ID": "SAL-1001"})] == [first_box["key"]]
    assert all("Van Dijk" in b["name"] for b in streak.search("Box", query="van dijk"))
    assert streak.search("Box", name="No such deal") == []
    contact = streak.get("Contact", first_box["contacts"][0]["key"])
    email = contact["emailAddresses"][0]
    assert [c["key"] for c in streak.search("Contact", email=email.upper())] == [contact["key"]]
    org = streak.search("Organization", name="van dijk installaties b.v.")
    assert [o["key"] for o in org] == [first_box["organizations"][0]["key"]]
    assert streak.get("Organization", org[0]["key"])["domains"] == ["vandijkinstallaties.nl"]
    assert streak.search("Stage", name="closed-won") == [streak.get("Stage", "5004")]
    commented = next(b for b in streak.boxes() if b["commentCount"])
    assert streak.search("Comment", box_key=commented["key"])[0]["boxKey"] == commented["key"]
    with pytest.raises(ValidationError):
        streak.search("Box", Colour="red")


def test_samples_of_every_entity(streak):
    for entity in streak.entities():
        sample = streak.sample(entity, 3)
        assert len(sample) == 3 and all(record["key"] for record in sample), entity
    assert "fieldsByName" in streak.sample("Box", 1)[0]


# ---------------------------------------------------------------- writes


def test_write_back_sets_fields_by_name_encoded_and_the_stage(streak, first_box, streak_sandbox):
    box = streak.write_back(
        first_box["key"],
        {"Sage Order No": "0000123", "Currency": "usd", "Expected Close Date": date(2025, 3, 1)},
        stage_name="Closed-Won",
    )
    stored = raw_box(streak_sandbox, first_box["key"])
    assert stored["stageKey"] == "5004" and stored["fields"]["1003"] == "9001"
    assert stored["fields"]["1009"] == 1_740_787_200_000  # 2025-03-01 00:00 UTC in ms
    assert box["fieldsByName"]["Sage Order No"] == "0000123" and box["stageName"] == "Closed-Won"
    assert stored["fields"]["1001"] == "SAL-1001"  # other fields kept


def test_bad_values_are_refused_by_name_before_anything_is_written(
    streak, first_box, streak_sandbox
):
    with pytest.raises(ValidationError) as caught:
        streak.update("Box", first_box["key"], {"Currency": "YEN", "Colour": "red",
                                                "Sage Order No": "9"}, "run-1")  # fmt: skip
    assert set(caught.value.fields) == {"Currency", "Colour"}
    assert "not one of USD, EUR, GBP, CAD" in caught.value.fields["Currency"]
    assert raw_box(streak_sandbox, first_box["key"]) == {
        k: v for k, v in first_box.items() if k not in ("stageName", "fieldsByName")
    }


def test_create_a_box_finds_it_again_after_commit_then_fail(streak, streak_sandbox):
    wanted = {"name": "Acme - Order 42", "stage": "Proposal", "Amount": "1200.00"}
    set_faults(streak_sandbox, commit_then_fail_rate=1.0)
    with pytest.raises(TransientError):
        streak.create("Box", wanted, "run-42")
    set_faults(streak_sandbox)
    box = streak.create("Box", wanted, "run-42")
    again = streak.create("Box", wanted, "run-42")
    assert box["key"] == again["key"] and len(streak.search("Box", name="Acme - Order 42")) == 1
    assert box["stageName"] == "Proposal" and box["fieldsByName"]["Amount"] == "1200.00"


def test_a_comment_is_added_once_even_when_the_reply_is_lost(streak, first_box, streak_sandbox):
    note = {"boxKey": first_box["key"], "message": "Sage order 0000123 created."}
    set_faults(streak_sandbox, commit_then_fail_rate=1.0, drop_connection=True)
    with pytest.raises(TransientError):
        streak.create("Comment", note, "run-7")
    set_faults(streak_sandbox)
    comment = streak.create("Comment", note, "run-7")
    messages = [c["message"] for c in streak.search("Comment", box_key=first_box["key"])]
    assert messages.count(note["message"]) == 1 and comment["message"] == note["message"]


def test_contacts_and_organizations_are_found_before_created_and_updated(streak):
    person = {"givenName": "Ada", "familyName": "Byron", "emailAddresses": ["ada@engine.example"]}
    contact = streak.create("Contact", person, "run-1")
    assert streak.create("Contact", person, "run-1")["key"] == contact["key"]
    updated = streak.update("Contact", contact["key"], {"title": "Analyst"}, "run-1")
    assert updated["title"] == "Analyst" and streak.get("Contact", contact["key"])["title"]
    org = streak.create(
        "Organization", {"name": "Engine Works", "domains": ["engine.example"]}, "r"
    )
    assert streak.create("Organization", {"name": "engine works"}, "r")["key"] == org["key"]
    assert streak.update("Organization", org["key"], {"industry": "Computing"}, "r")["industry"]
    with pytest.raises(Unsupported):
        streak.create("Stage", {"name": "Invoiced"}, "r")


# ---------------------------------------------------------------- errors and throttle


def test_a_429_is_rate_limited_with_streaks_retry_after(streak, streak_sandbox):
    set_faults(streak_sandbox, rate_limit_rate=1.0, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        streak.get("Box", "any")
    assert caught.value.retry_after == 7 and "Rate limit exceeded" in caught.value.detail


@pytest.mark.parametrize("knobs", [{"error_rate": 1.0}, {"outage": True}])
def test_5xx_and_outages_are_transient(streak, streak_sandbox, knobs):
    set_faults(streak_sandbox, **knobs)
    with pytest.raises(TransientError) as caught:
        list(streak.boxes())
    assert caught.value.status in (500, 503) and caught.value.permanent is False


def test_an_unreachable_streak_is_transient(connection):
    connection.settings = {**connection.settings, "base_url": "http://127.0.0.1:9"}
    with pytest.raises(TransientError, match="Could not reach Streak"):
        connector_for(connection).get("Box", "any")


def test_the_default_throttle_is_ten_requests_a_second(connection):
    connection.settings = {**connection.settings, "requests_per_second": None}
    connection.pk = 10_000  # a bucket of its own
    streak = connector_for(connection)
    started = time.monotonic()
    for _ in range(14):  # a burst of 10, then 4 more at 10/s
        streak.client.get("/v1/users/me")
    assert time.monotonic() - started >= 0.35


# ---------------------------------------------------------------- webhooks


class Receiver:
    """A webhook target on 127.0.0.1 that keeps each POST's path, headers and raw body."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver()
    yield target
    target.server.shutdown()
    target.server.server_close()


def test_webhooks_register_once_list_and_delete(streak):
    target = "https://clarity.example/hooks/acme/t0k3n/"
    hooks = streak.register_webhook(
        target, ("BOX_CHANGE_STAGE", "COMMENT_CREATE", "CONTACT_UPDATE")
    )
    assert hooks[0]["targetUrl"] == f"{target}?event=BOX_CHANGE_STAGE"
    again = streak.register_webhook(
        target, ("BOX_CHANGE_STAGE", "COMMENT_CREATE", "CONTACT_UPDATE")
    )  # replaced, not duplicated: Streak never shows the header token it was given
    assert [h["targetUrl"] for h in again] == [h["targetUrl"] for h in hooks]
    assert {h["key"] for h in streak.webhooks()} == {h["key"] for h in again}
    assert streak.delete_webhook(again[0]["key"]) is True
    assert streak.delete_webhook(again[0]["key"]) is False
    assert len(streak.webhooks()) == 2
    with pytest.raises(ValidationError):
        streak.register_webhook(target, ("BOX_CHANGED",))


def test_a_stage_change_reaches_the_registered_url_and_parses(streak, first_box, receiver):
    streak.register_webhook(f"{receiver.url}/hooks/acme/", ("BOX_CHANGE_STAGE",), token="s3cret")
    streak.write_back(first_box["key"], {}, stage_name="Closed-Won")
    (delivery,) = receiver.wait(1)
    assert delivery["path"] == "/hooks/acme/?event=BOX_CHANGE_STAGE"
    assert delivery["headers"]["X-Streak-Webhook-Token"] == "s3cret"
    (event,) = parse_webhook(delivery["body"], "BOX_CHANGE_STAGE")
    box = streak.get("Box", first_box["key"])
    assert (event.box_key, event.stage_key, event.pipeline_key) == (
        box["key"],
        "5004",
        data.SALES["key"],
    )
    assert event.dedupe_key == f"{box['key']}:BOX_CHANGE_STAGE:{box['lastUpdatedTimestamp']}"


# ---------------------------------------------------------------- webhook parsing (recorded)


@pytest.mark.parametrize(
    ("fixture", "event"),
    [("box_change_stage.json", "BOX_CHANGE_STAGE"), ("box_edit.json", "BOX_EDIT"),
     ("box_create.json", "BOX_CREATE"), ("comment_create.json", "COMMENT_CREATE"),
     ("contact_update.json", "CONTACT_UPDATE")],
)  # fmt: skip
def test_recorded_deliveries_parse_into_events(fixture, event):
    body = (FIXTURES / fixture).read_bytes()
    (parsed,) = parse_webhook(body, event)
    item = json.loads(body)[0]
    assert parsed.event == event and parsed.payload == item and parsed.last_updated > 0
    if event.startswith("BOX_"):
        assert parsed.box_key == item["key"] and parsed.stage_key == item["stageKey"]
    elif event == "COMMENT_CREATE":
        assert parsed.box_key == item["boxKey"] and parsed.object_key == item["key"]
        assert parsed.dedupe_key.endswith(item["key"])
    else:
        assert parsed.box_key == "" and parsed.dedupe_key.startswith(item["key"])


def test_a_redelivery_has_the_same_dedupe_key_and_the_next_change_another():
    body = json.loads((FIXTURES / "box_edit.json").read_bytes())
    first = parse_webhook(json.dumps(body), "BOX_EDIT")[0]
    assert parse_webhook(json.dumps(body), "BOX_EDIT")[0].dedupe_key == first.dedupe_key
    body[0]["lastUpdatedTimestamp"] += 1
    assert parse_webhook(json.dumps(body), "BOX_EDIT")[0].dedupe_key != first.dedupe_key
    assert parse_webhook(json.dumps(body), "BOX_CHANGE_STAGE")[0].dedupe_key != first.dedupe_key


@pytest.mark.parametrize(
    ("body", "event", "field", "reason"),
    [
        (b"{not json", "BOX_EDIT", "body", "not JSON"),
        (b'{"key": "b1"}', "BOX_EDIT", "body", "expected a JSON array, got dict"),
        (b"[]", "BOX_EDIT", "body", "the array is empty"),
        (b"[42]", "BOX_EDIT", "[0]", "expected an object, got int"),
        (b'[{"stageKey": "5001", "fields": {}}]', "BOX_EDIT", "[0].key", "missing"),
        (b'[{"key": "c1", "boxKey": "b1", "pipelineKey": "p1"}]', "BOX_EDIT", "[0]",
         "carries a box"),
        (b'[{"key": "b1", "pipelineKey": "p", "stageKey": "5001", "fields": {},'
         b' "lastUpdatedTimestamp": "yesterday"}]', "BOX_EDIT", "[0].lastUpdatedTimestamp",
         "not milliseconds"),
        (b"[]", "BOX_CHANGED", "event", "not a Streak webhook event"),
    ],
)  # fmt: skip
def test_malformed_bodies_say_which_field_and_why(body, event, field, reason):
    with pytest.raises(MalformedWebhook) as caught:
        parse_webhook(body, event)
    assert caught.value.field == field and reason in caught.value.reason
