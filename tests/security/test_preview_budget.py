"""The mapping preview runs a spec the client sends, with nothing more than view rights, on
the web workers that also take the webhooks. Whatever a viewer posts (a catastrophic pattern,
a huge number of decimals, a rule that loops over a long list, a 5 MB sample), the designer
and the API answer within a second, with a message, never a 500.

A request's time is the CPU time this thread spends on it (the test client runs the view
in this thread): what it costs a worker, whatever else the shared test machine, or this
process's other threads (the sandboxes' servers), are running."""

import json
import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from mappings.models import Mapping
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db

DEAL_IN = "Streak deal → customer"
WORKER_SECONDS = 1.0
# (a+)+$ takes Python's backtracking `re` about five seconds on this; RE2 a few microseconds.
HOSTILE_TEXT = "a" * 25 + "b"


@pytest.fixture
def mapping() -> Mapping:
    return IntegrationPairFactory(name="Acme deals").mappings.get(name=DEAL_IN)


@pytest.fixture
def viewer(users) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(users["viewer"])
    return client


@pytest.fixture
def viewer_api(users) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(users["viewer"])
    return client


def designer(client: Client, mapping: Mapping, spec: Any, record: Any) -> tuple[int, str, float]:
    """The designer's preview as the page posts it: (status, page, seconds)."""
    data = {"spec": json.dumps(spec), "record": json.dumps(record)}
    started = time.thread_time()
    response = client.post(reverse("mapping-preview", args=[mapping.pk]), data)
    return response.status_code, response.content.decode(), time.thread_time() - started


def api(client: APIClient, mapping: Mapping, body: bytes | dict) -> tuple[int, Any, float]:
    """POST /api/v1/mappings/<id>/preview/: (status, JSON reply, seconds)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    started = time.thread_time()
    response = client.post(
        f"/api/v1/mappings/{mapping.pk}/preview/", content, content_type="application/json"
    )
    elapsed = time.thread_time() - started
    return response.status_code, response.json(), elapsed


def extract(pattern: str) -> dict[str, Any]:
    step = {"name": "regex_extract", "params": {"pattern": pattern, "on_no_match": "empty"}}
    return {"rules": [{"target": "name", "source": "code", "transforms": [step]}]}


def one_step(name: str, **params: Any) -> dict[str, Any]:
    return {"rules": [{"target": "name", "source": "code",
                       "transforms": [{"name": name, "params": params}]}]}  # fmt: skip


@pytest.mark.parametrize(
    ("pattern", "text"), [("(a+)+$", HOSTILE_TEXT), ("(a|aa)*b", "a" * 32 + "c")]
)
def test_a_catastrophic_pattern_runs_in_linear_time(viewer, viewer_api, mapping, pattern, text):
    status, page, seconds = designer(viewer, mapping, extract(pattern), {"code": text})
    assert status == 200 and seconds < WORKER_SECONDS
    assert "The draft cannot run yet" not in page  # RE2 runs the pattern: it is not refused
    status, reply, seconds = api(viewer_api, mapping, {"spec": extract(pattern),
                                                       "record": {"code": text}})  # fmt: skip
    assert status == 200 and seconds < WORKER_SECONDS
    assert "name" not in reply["output"]  # no match, "empty"


def test_a_pattern_re2_cannot_run_is_a_spec_problem_naming_the_rule_and_field(
    viewer, viewer_api, mapping
):
    status, page, _ = designer(viewer, mapping, extract(r"(\w)\1"), {"code": "aa"})
    assert status == 200
    assert "name: Extract with a pattern: the “pattern” cannot be used" in page
    assert "no backreferences or look-arounds" in page
    status, reply, _ = api(viewer_api, mapping, {"spec": extract("(?=a)"), "record": {}})
    assert status == 400
    (problem,) = reply["spec"]["name"]
    assert problem.startswith("Extract with a pattern: the “pattern” cannot be used")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (one_step("text", places=10_000_000), "“places” must be a whole number from 0 to 10"),
        (one_step("number", places=-3), "“places” must be a whole number from 0 to 10"),
        (one_step("round", places="two"), "“places” must be a whole number from 0 to 10"),
        (one_step("round", mode="sideways"), "“mode” must be one of half_up, half_even, down"),
        (one_step("truncate", length=10**12), "“length” must be a whole number from 0 to"),
        (one_step("split", index=10**9), "“index” must be a whole number from -1000 to 1000"),
        (one_step("concat", fields=["code"] * 500), "“fields” holds at most 20"),
        (one_step("regex_extract", pattern="x" * 5000), "“pattern” is longer than 1000"),
        (one_step("regex_extract", pattern="(a)", group="7"), "“group” 7: the pattern has 1"),
        (one_step("date", output="%Y" * 1000), "“output” must be one of iso, sage"),
    ],
)
def test_out_of_range_parameters_are_spec_problems_naming_the_field(
    viewer, viewer_api, mapping, spec, problem
):
    status, page, seconds = designer(viewer, mapping, spec, {"code": "1.5"})
    assert status == 200 and seconds < WORKER_SECONDS
    assert "The draft cannot run yet" in page and problem in page
    status, reply, seconds = api(viewer_api, mapping, {"spec": spec, "record": {"code": "1.5"}})
    assert status == 400 and seconds < WORKER_SECONDS
    assert problem in " ".join(reply["spec"]["name"])


def test_a_number_too_large_to_write_is_an_issue_not_a_huge_string(viewer, viewer_api, mapping):
    spec = {
        "rules": [
            {
                "target": "name",
                "source": "amount",
                "transforms": ["number", {"name": "text", "params": {"places": 2}}],
            }
        ]
    }
    record = {"amount": "1e9999999"}
    status, page, seconds = designer(viewer, mapping, spec, record)
    assert status == 200 and seconds < WORKER_SECONDS and len(page) < 50_000
    assert "is too large or too small a number" in page
    status, reply, seconds = api(viewer_api, mapping, {"spec": spec, "record": record})
    assert status == 200 and seconds < WORKER_SECONDS
    assert "name" not in reply["output"]


def busy_spec(rules: int, steps: int) -> dict[str, Any]:
    """A line group whose every item runs many rules of many steps on a long text."""
    chain = [{"name": "upper"}, {"name": "lower"}] * (steps // 2)
    extract_end = {"name": "regex_extract", "params": {"pattern": "x{3}$"}}
    sub_rules = [
        {"target": f"f{index}", "source": "$.text", "transforms": [*chain, extract_end]}
        for index in range(rules)
    ]
    return {"rules": [{"target": "custom", "source": "items", "rules": sub_rules}]}


def test_a_preview_stops_at_its_time_budget_with_a_message(viewer, viewer_api, mapping):
    spec, record = busy_spec(rules=30, steps=18), {"items": list(range(200)), "text": "x" * 50_000}
    status, page, seconds = designer(viewer, mapping, spec, record)
    assert status == 200 and seconds < WORKER_SECONDS
    budget = f"{settings.CLARITY_PREVIEW_SECONDS:g} s"
    assert f"The preview stopped after {budget}" in page
    status, reply, seconds = api(viewer_api, mapping, {"spec": spec, "record": record})
    assert status == 400 and seconds < WORKER_SECONDS
    assert reply["detail"].startswith(f"The preview stopped after {budget}")


def test_a_preview_stops_at_its_output_budget_with_a_message(viewer, viewer_api, mapping):
    copies = {
        "target": "custom",
        "source": "items",
        "rules": [{"target": "copy", "source": "$.big"}],
    }
    spec, record = {"rules": [copies]}, {"items": list(range(60)), "big": "y" * 100_000}
    status, page, seconds = designer(viewer, mapping, spec, record)
    assert status == 200 and seconds < WORKER_SECONDS and len(page) < 50_000
    assert "The preview stopped: its output passed" in page
    status, reply, _ = api(viewer_api, mapping, {"spec": spec, "record": record})
    assert status == 400 and reply["detail"].startswith("The preview stopped: its output passed")


def test_a_5_mb_sample_is_refused_with_a_message(viewer, viewer_api, mapping):
    record = {"notes": "z" * 5_000_000}
    status, page, seconds = designer(viewer, mapping, {"rules": []}, record)
    assert status == 200 and seconds < WORKER_SECONDS
    assert "The sample record and the draft are larger than" in page
    status, reply, seconds = api(viewer_api, mapping, {"record": record})
    assert status == 413 and seconds < WORKER_SECONDS
    assert reply["detail"].startswith("The request is larger than")


@pytest.mark.parametrize(
    ("spec_text", "record_text", "message"),
    [
        ('{"rules": []}', "[" * 50_000 + "]" * 50_000, "nested deeper than"),
        ('{"rules": []}', '{"n": ' + "9" * 5000 + "}", "not valid JSON"),
        ("[1, 2]", "{}", "The draft must be one JSON object"),
        ('{"rules": "all"}', "{}", "“rules” must be a list"),
        ('{"rules": [1, {"target": "x", "rules": [null]}]}', "{}", "rules[0] is not a rule"),
    ],
)
def test_malformed_json_gets_a_message_not_a_500(
    viewer, viewer_api, mapping, spec_text, record_text, message
):
    url = reverse("mapping-preview", args=[mapping.pk])
    response = viewer.post(url, {"spec": spec_text, "record": record_text})
    assert response.status_code == 200 and message in response.content.decode()
    body = f'{{"spec": {spec_text}, "record": {record_text}}}'.encode()
    status, _, _ = api(viewer_api, mapping, body)
    assert status == 400
