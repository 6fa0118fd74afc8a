"""Whatever reaches `/hooks/<pair>/<token>/` of a Streak pair or a Salesforce pair (bodies of
any bytes, shape, nesting and size, any method, content type and headers), the answer is
never a 500 and never takes a second of the worker's CPU (wall time would measure the shared
machine's load); a delivery past the token check that is not taken is kept as one invalid
event with its reason, and one that is taken (2xx) is stored as events. The rate limit is off
here (tests/security/test_webhook_rate_limit.py)."""

import json
import time
from urllib.parse import quote

import hypothesis
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connectors.models import hash_token
from connectors.registry import SYSTEMS
from connectors.streak.webhooks import SENDER_TOKENS
from flows.models import InboundEvent
from flows.redaction import redact_text
from sandbox.salesforce.schema import ORG_ID
from tests.security.webhooks import BOX, OTHER_ORG, outbound_message, salesforce_pair, streak_pair

pytestmark = pytest.mark.django_db
EXAMPLES = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HEADER_TOKEN = "the-header-token-streak-sends"
MAX_BYTES = 1024 * 1024
TAKEN_AFTER_TOKEN_CHECK = {400, 403, 413}  # refused, but kept as invalid

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def nested(depth: int, opener: bytes) -> bytes:
    """`[[[…]]]` or `{"a":{"a":…1}}`, `depth` deep."""
    if opener == b"[":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def nested_value(depth: int) -> object:
    value: object = 1
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


boxes = st.builds(
    lambda stamp, pipeline, depth, key: (
        BOX
        | {"key": key, "lastUpdatedTimestamp": stamp, "pipelineKey": pipeline}
        | {"fields": nested_value(depth)}
    ),
    st.integers(min_value=1, max_value=2**53),
    st.sampled_from(["p1", "p1", "p2", ""]),
    st.integers(min_value=0, max_value=40),
    st.sampled_from(["b1", "b2", "b3", "x" * 101]),
)
sizes = st.integers(min_value=0, max_value=4096) | st.sampled_from(
    [MAX_BYTES - 1, MAX_BYTES, MAX_BYTES + 1, 2 * MAX_BYTES]
)
repeated = st.builds(
    lambda unit, size: (unit * (size // len(unit) + 1))[:size],
    st.binary(min_size=1, max_size=16),
    sizes,
)
common_bodies = st.one_of(
    st.binary(max_size=2000),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.builds(nested, st.integers(min_value=1, max_value=300_000), st.sampled_from([b"[", b"{"])),
    repeated,
)
deliveries = st.lists(boxes, min_size=1, max_size=3).map(lambda items: json.dumps(items).encode())
streak_bodies = st.one_of(
    common_bodies,
    *[deliveries] * 6,
    st.builds(lambda box, count: json.dumps([box] * count).encode(), boxes, st.integers(90, 400)),
)
messages = st.builds(
    outbound_message,
    org_id=st.sampled_from([ORG_ID, ORG_ID, ORG_ID[:15], OTHER_ORG, "", "not-an-org"]),
    record_id=st.sampled_from(["006Dn0000000001IAA"] * 3 + ["006Dn0000000002", "x" * 300, ""]),
    notification_id=st.sampled_from(["04lDn0000000001IAA", "04lDn0000000002IAA"] * 2 + ["bad"]),
    fields=st.one_of(
        st.just(""),
        st.just("<sf:Amount>1200.50</sf:Amount>"),
        st.text(max_size=200),
        st.integers(1, 100_000).map(lambda depth: "<a>" * depth + "</a>" * depth),
    ),
)
salesforce_bodies = st.one_of(
    common_bodies,
    *[messages] * 6,
    messages.map(lambda body: body.decode().replace('"UTF-8"', '"UTF-16"').encode("utf-16")),
    messages.map(lambda body: body.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e "e">]>', 1)),
)
methods = st.sampled_from(["POST"] * 24 + ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
content_types = st.sampled_from(
    ["application/json", "text/xml; charset=utf-8", "text/plain", "",
     "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
) | st.text(max_size=40)  # fmt: skip
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
headers = st.fixed_dictionaries(
    {
        "HTTP_X_STREAK_WEBHOOK_TOKEN": st.sampled_from([HEADER_TOKEN] * 3 + ["wrong", ""])
        | header_values
    },
    optional={
        "HTTP_USER_AGENT": header_values,
        "HTTP_SOAPACTION": header_values,
        "HTTP_CONTENT_ENCODING": st.sampled_from(["gzip", "identity"]),
    },
)
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
events = st.sampled_from(["BOX_CHANGE_STAGE"] * 3 + ["ORG_UPDATE", "BOX_EDIT", ""]) | any_text


@pytest.fixture
def no_rate_limit(settings) -> None:
    settings.CLARITY_WEBHOOK_RATE_PER_SECOND = 0


@pytest.fixture
def streak(no_rate_limit):
    """A Streak pair on pipeline p1 whose URL was registered with a header token."""
    pair, token = streak_pair(pipeline_key="p1")
    pair.crm.settings = {
        **pair.crm.settings,
        SENDER_TOKENS: {hash_token(token): hash_token(HEADER_TOKEN)},
    }
    pair.crm.save()
    return pair, token


@pytest.fixture
def salesforce(no_rate_limit):
    pair, token = salesforce_pair(org_id=ORG_ID)
    return pair, token


def deliver(client, target, method: str, body: bytes, content_type: str, event: str,
            extra: dict[str, str]) -> None:  # fmt: skip
    """One request, and what it must leave behind. For a 200, the connector's own parser
    says which events the delivery held: each must be in the inbox, new or stored before."""
    pair, token = target
    before = set(InboundEvent.objects.filter(pair=pair).values_list("pk", flat=True))
    started = time.thread_time()  # the worker's CPU: the machine's load left out
    reply = client.generic(
        method,
        f"/hooks/{pair.slug}/{token}/?event={quote(event)}",
        data=body,
        content_type=content_type,
        **extra,
    )
    elapsed = time.thread_time() - started
    new = list(InboundEvent.objects.filter(pair=pair).exclude(pk__in=before))
    hypothesis.event(f"answered {reply.status_code}")  # --hypothesis-show-statistics

    assert elapsed < 1, (elapsed, reply.status_code, body[:200])
    if method != "POST":
        assert reply.status_code == 405 and not new
    elif reply.status_code == 200:
        assert all(stored.status != "invalid" for stored in new)
        parser = SYSTEMS[pair.crm.system].connector_class
        held = {item.dedupe_key for item in parser.parse_webhook(body, {"event": event}).events}
        inbox = InboundEvent.objects.filter(pair=pair, dedupe_key__in=held)
        assert set(inbox.exclude(status="invalid").values_list("dedupe_key", flat=True)) == held
    else:
        assert reply.status_code in TAKEN_AFTER_TOKEN_CHECK, (reply.status_code, body[:200])
        [kept] = new
        assert kept.status == "invalid" and kept.error
        if reply.status_code != 413:
            text = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
            assert kept.raw_body == redact_text(text)  # kept whole, any secret it quotes masked


@EXAMPLES
@given(method=methods, body=streak_bodies, content_type=content_types, event=events,
       extra=headers)  # fmt: skip
def test_any_request_to_a_streak_pair(client, streak, method, body, content_type, event, extra):
    deliver(client, streak, method, body, content_type, event, extra)


@EXAMPLES
@given(method=methods, body=salesforce_bodies, content_type=content_types, event=events,
       extra=headers)  # fmt: skip
# A body that looks like it quotes a secret: kept, with the secret masked.
@example(method="POST", body=b"TOKEN:\x00", content_type="application/json",
         event="BOX_CHANGE_STAGE", extra={})  # fmt: skip
def test_any_request_to_a_salesforce_pair(
    client, salesforce, method, body, content_type, event, extra
):
    deliver(client, salesforce, method, body, content_type, event, extra)
