"""Whatever arrives at `/hooks/<slug>/<token>/`, the answer is 400, 413 or 404, never a 500,
and nothing runs (tests/security/test_webhook_fuzz.py goes wider: headers, methods, nesting,
a Salesforce pair)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.services import connector_for
from flows.models import InboundEvent, SyncRun
from tests import won_deals as shared

pytestmark = pytest.mark.django_db
MAX_BYTES = 1024 * 1024
EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
# Box-like items with the wrong types or missing parts, the shapes a parser trips on.
box_like = st.fixed_dictionaries(
    {},
    optional={
        "key": json_values,
        "boxKey": json_values,
        "pipelineKey": json_values,
        "stageKey": json_values,
        "lastUpdatedTimestamp": json_values,
        "fields": json_values,
    },
)
hostile_bodies = st.one_of(
    st.binary(max_size=2000),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.lists(box_like, max_size=3).map(lambda items: json.dumps(items).encode()),
    st.text(max_size=500).map(lambda text: text.encode("utf-8", errors="surrogatepass")),
)
events = st.sampled_from(["BOX_CHANGE_STAGE", "BOX_EDIT", "", "NOT_AN_EVENT", "%00"])


@pytest.fixture
def pair(streak_sandbox, sage100_sandbox) -> tuple:
    crm = shared.streak_connection(streak_sandbox)
    erp = shared.sage100_connection(sage100_sandbox)
    return shared.make_pair("Streak Sage 100", crm, erp, "deal_won_to_sales_order")


@pytest.fixture(autouse=True)
def runs_inline(monkeypatch) -> None:
    """Anything accepted would run at once, so "nothing executed" is observable."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)


@pytest.fixture
def sage(pair):
    return connector_for(pair[0].erp)


def order_count(sage) -> int:
    return int(sage.reader.scalar("SELECT COUNT(*) FROM SO_SalesOrderHeader"))


def post(client, url: str, body: bytes, content_type: str = "application/json"):
    return client.post(url, data=body, content_type=content_type)


@EXAMPLES
@given(body=hostile_bodies, event=events)
def test_malformed_bodies_get_400_are_kept_and_run_nothing(client, pair, sage, body, event):
    pair, token = pair
    runs_before, orders_before = SyncRun.objects.count(), order_count(sage)
    reply = post(client, f"/hooks/{pair.slug}/{token}/?event={event}", body)
    # A body that happens to parse as a delivery is the one acceptable 200: it names a box
    # the CRM does not have, which the run's re-read finds out before writing anything.
    assert reply.status_code in (200, 400), (reply.status_code, body)
    if reply.status_code == 400:
        assert reply.content.startswith(b"Unreadable Streak webhook: ")
        assert SyncRun.objects.count() == runs_before
        assert InboundEvent.objects.filter(status=InboundEvent.Status.INVALID).exists()
    assert order_count(sage) == orders_before


@EXAMPLES
@given(body=hostile_bodies, slug=st.text(min_size=1, max_size=40), token=st.text(max_size=80))
def test_a_wrong_pair_or_token_gets_a_bare_404(client, pair, body, slug, token):
    pair, real_token = pair
    for url in (f"/hooks/{pair.slug}/{token or 'x'}/", f"/hooks/x{slug}/{real_token}/"):
        try:
            reply = post(client, url.replace("?", "%3F").replace("#", "%23"), body)
        except ValueError:  # the test client refuses some control characters in a URL
            continue
        assert reply.status_code == 404, (url, reply.status_code)
        assert pair.name.encode() not in reply.content and real_token.encode() not in reply.content
    assert not InboundEvent.objects.filter(pair=pair).exists()


@settings(EXAMPLES, max_examples=5)
@given(extra=st.integers(min_value=1, max_value=4096), head=hostile_bodies)
def test_a_body_over_one_mebibyte_gets_413_and_is_kept_without_it(client, pair, extra, head):
    pair, token = pair
    body = (head + b" " * (MAX_BYTES + extra))[: MAX_BYTES + extra]
    reply = post(client, f"/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE", body)
    assert reply.status_code == 413
    kept = InboundEvent.objects.filter(pair=pair).latest("pk")
    assert (kept.status, kept.raw_body) == (InboundEvent.Status.INVALID, "")
    assert not SyncRun.objects.filter(pair=pair).exists()
