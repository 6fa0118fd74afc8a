"""A token holder sending more than CLARITY_WEBHOOK_RATE_PER_SECOND (after a burst of
CLARITY_WEBHOOK_BURST) gets 429 with Retry-After, before the database is touched: nothing of
the refused deliveries is stored, and other pairs' tokens are not slowed down."""

import pytest
import requests

from flows.models import InboundEvent
from flows.throttle import WebhookThrottle
from tests.security.webhooks import BOX, STAGE_CHANGE, streak_pair

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight_limit(settings) -> None:
    settings.CLARITY_WEBHOOK_BURST = 3
    settings.CLARITY_WEBHOOK_RATE_PER_SECOND = 0.2


@pytest.mark.django_db(transaction=True)
def test_a_token_over_its_rate_gets_429_and_nothing_is_stored(live_server, tight_limit):
    pair, token = streak_pair("Acme deals")
    other, other_token = streak_pair("Other deals")

    def deliver(slug: str, token: str, stamp: int) -> requests.Response:
        return requests.post(
            f"{live_server.url}/hooks/{slug}/{token}/?event=BOX_CHANGE_STAGE",
            json=[BOX | {"lastUpdatedTimestamp": stamp}],
            timeout=10,
        )

    replies = [deliver(pair.slug, token, stamp) for stamp in range(1, 7)]
    assert [reply.status_code for reply in replies] == [200, 200, 200, 429, 429, 429]
    assert all(1 <= int(reply.headers["Retry-After"]) <= 5 for reply in replies[3:])
    assert "try again in" in replies[3].text
    assert InboundEvent.objects.filter(pair=pair).count() == 3
    assert not InboundEvent.objects.filter(status="invalid").exists()

    assert deliver(other.slug, other_token, 1).status_code == 200
    assert InboundEvent.objects.filter(pair=other).count() == 1


def test_a_refused_delivery_reads_nothing_from_the_database(
    client, tight_limit, django_assert_num_queries
):
    pair, token = streak_pair()
    url = f"/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"
    for _ in range(3):
        client.post(url, STAGE_CHANGE, content_type="application/json")
    with django_assert_num_queries(0):
        reply = client.post(url, STAGE_CHANGE, content_type="application/json")
    assert reply.status_code == 429


def test_spraying_tokens_keeps_the_buckets_bounded_and_limits_still_hold(tight_limit):
    """An attacker trying random tokens grows no memory: the least recently used buckets go."""
    throttle = WebhookThrottle(max_buckets=100)
    for attempt in range(3):
        assert throttle.wait_seconds("acme-deals", "real-token") == 0, attempt
    assert throttle.wait_seconds("acme-deals", "real-token") >= 1
    for number in range(5000):
        throttle.wait_seconds("acme-deals", f"guess-{number}")
    assert len(throttle.buckets) == 100
