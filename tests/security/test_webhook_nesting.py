"""JSON nested deeper than CLARITY_WEBHOOK_MAX_DEPTH, nested beyond the parser's stack, or
holding a number too large to read is answered 400 with the reason, and the delivery is kept
as invalid; before, the parser's RecursionError or ValueError answered 500 and lost it."""

import json

import pytest

from flows.models import InboundEvent, SyncRun
from tests.security.webhooks import BOX, streak_pair

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook() -> str:
    pair, token = streak_pair()
    return f"/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"


def nested(depth: int) -> object:
    value: object = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"inner": value}
    return value


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 32 levels deep"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested more than 32 levels deep"),
        (json.dumps([BOX | {"fields": nested(40)}]).encode(), "nested more than 32 levels"),
        (b"[" + b"9" * 5000 + b"]", "not JSON (Exceeds the limit (4300 digits)"),
        (b"[1e999]", "not JSON (number out of range: 1e999)"),
        (b"[NaN]", "not JSON (NaN is not a JSON value)"),
        (json.dumps([BOX] * 101).encode(), "101 objects; at most 100 are taken"),
    ],
    ids=["arrays", "objects", "box-fields", "long-number", "infinity", "nan", "too-many"],
)
def test_deep_or_huge_json_is_400_and_kept_as_invalid(client, hook, body, reason):
    reply = client.post(hook, body, content_type="application/json")
    assert reply.status_code == 400
    assert reason in reply.content.decode()
    kept = InboundEvent.objects.get()
    assert kept.status == "invalid" and reason in kept.error
    assert kept.raw_body.encode() == body
    assert not SyncRun.objects.exists()


def test_a_box_nested_as_deep_as_allowed_is_taken(client, hook):
    """32 levels: the array, the box, its fields and 29 more inside them."""
    body = json.dumps([BOX | {"fields": nested(30)}]).encode()
    reply = client.post(hook, body, content_type="application/json")
    assert reply.status_code == 200
    assert InboundEvent.objects.get().status in ("accepted", "ignored")
