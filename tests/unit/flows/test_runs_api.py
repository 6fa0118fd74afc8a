"""`/api/v1/runs/` and `/api/v1/events/`: read by every role, retried by operators."""

import pytest
from rest_framework.test import APIClient

from connectors.errors import ValidationError
from flows.models import InboundEvent, SyncRun
from flows.runner import execute_run

pytestmark = pytest.mark.django_db


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def failed(script, new_run):
    script.errors = [ValidationError("Item WIDGET-9 is not in Sage 100", fields={"sku": "x"})]
    run = new_run("box-42")
    execute_run(run.pk)
    return SyncRun.objects.get(pk=run.pk)


def test_runs_list_filters_and_shows_steps_and_error(users, failed, config):
    api = api_as(users["viewer"])
    listed = api.get("/api/v1/runs/", {"pair": config.pair.slug, "status": "failed"}).json()
    assert listed["count"] == 1
    run = listed["results"][0]
    assert run["entity_key"] == "box-42" and run["flow"] == "test_flow"
    assert run["error_message"] == "Item WIDGET-9 is not in Sage 100"
    assert [s["status"] for s in run["steps"]] == ["succeeded", "failed"]
    assert api.get("/api/v1/runs/", {"status": "succeeded"}).json()["count"] == 0


@pytest.mark.parametrize(("role", "expected"), [("operator", 200), ("admin", 200),
                                                ("approver", 403), ("viewer", 403)])  # fmt: skip
def test_retry_needs_the_operator_role(users, failed, role, expected):
    response = api_as(users[role]).post(f"/api/v1/runs/{failed.pk}/retry/", {"from": "start"})
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["status"] == "pending"


def test_retrying_a_run_that_cannot_be_retried_is_a_409_with_the_reason(users, script, new_run):
    run = new_run()
    execute_run(run.pk)
    response = api_as(users["operator"]).post(f"/api/v1/runs/{run.pk}/retry/")
    assert response.status_code == 409
    assert "only failed, dead, cancelled or waiting runs" in response.json()["detail"]


def test_cancel_and_anonymous(users, failed):
    assert APIClient().get("/api/v1/runs/").status_code == 401
    response = api_as(users["operator"]).post(f"/api/v1/runs/{failed.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_events_are_listed_per_pair(users, config):
    InboundEvent.objects.create(pair=config.pair, source="webhook", kind="BOX_CHANGE_STAGE",
                                dedupe_key="k1", status="accepted")  # fmt: skip
    listed = api_as(users["viewer"]).get("/api/v1/events/", {"pair": config.pair.slug}).json()
    assert [e["kind"] for e in listed["results"]] == ["BOX_CHANGE_STAGE"]
