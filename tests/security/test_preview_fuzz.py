"""Hypothesis against the mapping preview, as a viewer, through the designer's HTML endpoint
and the API: random specs drawn from the real transform registry (random parameters, random
line-group nesting, hostile patterns, huge places and strings) on a hostile sample record.
No request may answer 500 or hold the worker for a second.

A request's time is the CPU time this process spends on it (the test client runs the view
in this thread): what it costs a worker, whatever else the shared test machine is running."""

import json
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from mappings.models import Mapping
from mappings.transforms import ENV, TRANSFORMS, Param
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db

WORKER_SECONDS = 1.0
EXAMPLES = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HOSTILE_PATTERNS = ["(a+)+$", "(a|aa)*b", "(x+x+)+y", "^(a?){25}a{25}$", "(.*a){20}",
                    r"(\w)\1", "(?=a)", "(?<!a)b", "a{1001}", "[", "(?P<n>\\d+)", ""]  # fmt: skip
HOSTILE_TEXTS = ["a" * 28 + "b", "x" * 40_000, "1e9999999", "-0E-999999", "9" * 5000,
                 "12 Mill St" + " " * 3000 + "Boston MA 02110", "SKU x 9" + "9" * 400 + " @ 1",
                 "2025-02-30", "\ud800", "Net 30", ""]  # fmt: skip
HUGE_NUMBERS = [10**9, 10**18, -(10**9), 2**63, 10**300, 1e308]
RECORD = {
    "code": "a" * 28 + "b",
    "big": "x" * 40_000,
    "amount": "1e9999999",
    "items": list(range(3_000)),
    "nested": {"a": {"b": "  Net 30 "}},
    "lines": "WIDGET-1 x 2 @ 3.50\n" * 300,
    "address": "12 Mill St" + " " * 3000 + "Boston MA 02110",
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(HOSTILE_TEXTS)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
SOURCES = ["code", "big", "items", "items[*]", "$.big", "$.items", "amount", "nested.a.b",
           "items[0]", "lines", "address", "missing"]  # fmt: skip
# Mostly the shapes people write, so most drafts compile and run; now and then anything.
paths = st.sampled_from(SOURCES) | st.sampled_from(SOURCES) | st.text(max_size=12)
targets = st.sampled_from(["name", "email", "terms", "custom", "custom.x", "credit_limit"])
templates = st.sampled_from(["{big}{big}{big}", "{code} / {missing}", "{", "{$.big}" * 60]) | (
    st.text(max_size=20)
)


def param_values(param: Param) -> st.SearchStrategy:
    """Values in the parameter's range, and now and then out of it or of another type."""
    low = -3 if param.minimum is None else param.minimum
    high = 20 if param.maximum is None else param.maximum
    texts = HOSTILE_PATTERNS if param.name == "pattern" else HOSTILE_TEXTS
    by_type = {
        "integer": st.integers(low, high) | st.sampled_from(HUGE_NUMBERS),
        "number": st.floats() | st.sampled_from(HUGE_NUMBERS),
        "boolean": st.booleans(),
        "string": st.sampled_from(texts) | st.text(max_size=20),
        "choice": st.sampled_from(param.choices or ("x",)),
        "mapping": st.dictionaries(st.text(max_size=10), scalars, max_size=5),
        "path": paths,
        "paths": st.lists(paths, max_size=8) | st.lists(paths, min_size=21, max_size=30),
    }
    fitting = by_type.get(param.type, json_values)
    return st.one_of(*[fitting] * 8, json_values)


@st.composite
def steps(draw: st.DrawFn) -> Any:
    name = draw(st.sampled_from(sorted(TRANSFORMS)))
    transform = TRANSFORMS[name]
    params = {}
    for param in transform.params:
        if param.source != ENV and draw(st.booleans()):
            params[param.name] = draw(param_values(param))
    shapes = [{"name": name, "params": params}] * 12 + [name] * 4
    return draw(st.sampled_from([*shapes, {"name": name, "params": "x"}, "nope", {"name": 5}]))


producers = st.one_of(
    st.just({}),
    st.builds(lambda path: {"source": path}, paths),
    st.builds(lambda path: {"source": path}, paths),
    st.builds(lambda value: {"constant": value}, json_values),
    st.builds(lambda template: {"template": template}, templates),
)
rules = st.deferred(
    lambda: st.builds(
        lambda target, producer, extra: {"target": target, **producer, **extra},
        targets,
        producers,
        st.fixed_dictionaries(
            {},
            optional={
                "transforms": st.lists(steps(), max_size=4),
                "default": json_values,
                "required": st.booleans(),
                "rules": st.lists(rules, max_size=3),
            },
        ),
    )
)
specs = st.fixed_dictionaries({"rules": st.lists(rules, max_size=4)}) | st.sampled_from(
    [{"rules": "all"}, {"rules": [1, None]}, [], "spec", {"rules": [{"target": ["x"]}]},
     {"rules": [{"target": ""}]}]
)  # fmt: skip
records = st.builds(
    lambda extra: {**RECORD, **extra},
    st.dictionaries(st.sampled_from(sorted(RECORD)), json_values, max_size=2),
)


def timed(post, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.process_time()
    response = post(*args, **kwargs)
    return response, time.process_time() - started


@pytest.fixture
def clients(users) -> tuple[Client, APIClient]:
    """A viewer's page client and API client, warmed up (templates, URLs) before timing."""
    page = Client(raise_request_exception=False)
    page.force_login(users["viewer"])
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(users["viewer"])
    mapping = preview_mapping()
    page.post(reverse("mapping-preview", args=[mapping.pk]), {"record": "{}"})
    api.post(f"/api/v1/mappings/{mapping.pk}/preview/", {"record": {}}, format="json")
    return page, api


@EXAMPLES
@given(spec=specs, record=records)
def test_no_preview_answers_500_or_holds_the_worker(clients, spec, record):
    page, api = clients
    mapping = preview_mapping()
    data = {"spec": json.dumps(spec), "record": json.dumps(record)}
    response, seconds = timed(page.post, reverse("mapping-preview", args=[mapping.pk]), data)
    assert response.status_code == 200, spec
    assert seconds < WORKER_SECONDS, (seconds, spec)

    body = json.dumps({"spec": spec, "record": record})
    url = f"/api/v1/mappings/{mapping.pk}/preview/"
    response, seconds = timed(api.post, url, body, content_type="application/json")
    assert response.status_code in (200, 400), (response.status_code, spec)
    assert seconds < WORKER_SECONDS, (seconds, spec)


def preview_mapping() -> Mapping:
    """The won-deal pair's customer mapping (canonical target: no system is asked)."""
    found = Mapping.objects.filter(name="Streak deal → customer").first()
    if found is None:
        found = IntegrationPairFactory(name="Acme deals").mappings.get(
            name="Streak deal → customer"
        )
    return found
