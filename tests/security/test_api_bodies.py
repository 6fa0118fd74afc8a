"""Issue 15 (the hypothesis review's follow-up): every API endpoint parses JSON with limits.
DRF's own parser answered 500 to JSON nested past Python's recursion limit and read any body
whole; now such a body is a 400 that says why, and nothing is created."""

import json

import pytest
from rest_framework.test import APIClient

from flows.models import Subscription

pytestmark = pytest.mark.django_db


def admin_api(users) -> APIClient:
    client = APIClient()
    client.force_authenticate(users["admin"])
    return client


def test_json_nested_a_thousand_deep_is_a_400_not_a_500(users):
    body = '{"name": ' + "[" * 5000 + "]" * 5000 + "}"
    reply = admin_api(users).post(
        "/api/v1/subscriptions/", data=body, content_type="application/json"
    )
    assert reply.status_code == 400
    assert "nested deeper than 32 levels" in reply.json()["detail"]
    assert not Subscription.objects.exists()


def test_json_nested_moderately_past_the_limit_is_refused_too(users):
    nested: object = "x"
    for _ in range(40):
        nested = {"a": nested}
    reply = admin_api(users).post(
        "/api/v1/subscriptions/", data=json.dumps({"name": nested}),
        content_type="application/json",
    )  # fmt: skip
    assert reply.status_code == 400
    assert "nested deeper" in reply.json()["detail"]


def test_a_body_over_the_upload_limit_is_refused_and_nothing_made(users, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient(raise_request_exception=False)  # Django answers this one itself
    client.force_authenticate(users["admin"])
    body = json.dumps({"name": "x" * 2000})
    reply = client.post("/api/v1/subscriptions/", data=body, content_type="application/json")
    assert reply.status_code == 400
    assert not Subscription.objects.exists()


def test_ordinary_json_still_reaches_the_endpoint(users):
    reply = admin_api(users).post(
        "/api/v1/subscriptions/", data=json.dumps({"name": "x"}), content_type="application/json"
    )
    assert reply.status_code == 400  # the endpoint's own validation speaks, about its fields
    assert "detail" not in reply.json()
