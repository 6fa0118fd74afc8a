"""Issue 15, low finding: unbounded API page sizes. `?limit=100000` on a list endpoint gets
at most 500 rows (the next page's link for the rest), so one request cannot make the
server build a reply of every run ever made; and every list endpoint of the API answers
with such a page."""

import pytest
from rest_framework.test import APIClient

from clarity.pagination import MAX_LIMIT
from clarity.urls import router
from flows.models import FlowConfig, InboundEvent, SyncRun
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
ROWS = MAX_LIMIT + 20


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def many_runs_and_events() -> None:
    pair = IntegrationPairFactory()
    config = FlowConfig.objects.get_or_create(pair=pair, flow="deal_won_to_sales_order")[0]
    InboundEvent.objects.bulk_create(
        InboundEvent(pair=pair, source="webhook", kind="BOX_CHANGE_STAGE",
                     entity_key=f"box-{n}", dedupe_key=f"box-{n}:1", status="accepted")
        for n in range(ROWS)
    )  # fmt: skip
    SyncRun.objects.bulk_create(
        SyncRun(flow_config=config, pair=pair, entity_key=f"box-{n}") for n in range(ROWS)
    )


@pytest.mark.parametrize("endpoint", ["/api/v1/runs/", "/api/v1/events/"])
def test_a_huge_limit_gets_at_most_500_rows(users, many_runs_and_events, endpoint):
    reply = api_as(users["viewer"]).get(endpoint, {"limit": 100000})
    assert reply.status_code == 200
    page = reply.json()
    assert page["count"] == ROWS
    assert len(page["results"]) == MAX_LIMIT
    assert f"offset={MAX_LIMIT}" in page["next"]


def test_every_list_endpoint_answers_with_a_bounded_page(users):
    api = api_as(users["admin"])
    listed = [prefix for prefix, viewset, _ in router.registry if hasattr(viewset, "list")]
    assert {"runs", "events", "connections", "pairs", "lookup-entries"} <= set(listed)
    for prefix in listed:
        reply = api.get(f"/api/v1/{prefix}/", {"limit": 100000})
        assert reply.status_code == 200, prefix
        assert set(reply.json()) >= {"count", "next", "previous", "results"}, prefix
        paginator = reply.renderer_context["view"].paginator
        assert paginator.max_limit == MAX_LIMIT, prefix
