"""Hypothesis against the configuration import as an Integration admin: a real export with
one part replaced (by junk, a huge string, a hostile mapping rule, an unknown key) or taken
out, uploaded to see the plan and then applied. No request may answer 500 or hold the
worker for a second (CPU time of this process, as in test_preview_fuzz)."""

import copy
import json
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.config_transfer import export_config
from tests.factories import IntegrationPairFactory
from tests.security.test_preview_fuzz import HOSTILE_TEXTS, json_values, rules

pytestmark = pytest.mark.django_db

WORKER_SECONDS = 1.0
EXAMPLES = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HUGE_PLACES = {"name": "round", "params": {"places": 10**9}}
REPLACEMENTS = st.one_of(
    json_values,
    st.sampled_from(HOSTILE_TEXTS),
    st.just("n" * 300_000),
    st.lists(rules, max_size=3).map(lambda drawn: {"rules": drawn}),
    st.just({"rules": [{"target": "x", "transforms": [HUGE_PLACES]}]}),
)


def places(document: Any, where: tuple = ()) -> list[tuple]:
    """Every path into the document, the root's children first."""
    found = []
    items = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in items:
        found.append((*where, key))
        if isinstance(value, dict | list):
            found += places(value, (*where, key))
    return found


def changed(document: dict[str, Any], path: tuple, value: Any, how: str) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    node = copied
    for step in path[:-1]:
        node = node[step]
    if how == "delete":
        del node[path[-1]]
    elif how == "add" and isinstance(node, dict):
        node["surprise"] = value
    else:
        node[path[-1]] = value
    return copied


def timed(post, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.process_time()
    response = post(*args, **kwargs)
    return response, time.process_time() - started


@pytest.fixture
def setup(users) -> tuple[Client, dict[str, Any]]:
    """An admin's client, warmed up, and a real export of a pair with its default mappings."""
    pair = IntegrationPairFactory(name="Acme deals")
    client = Client(raise_request_exception=False)
    client.force_login(users["admin"])
    client.get(reverse("config-transfer"))
    return client, export_config([pair])


@EXAMPLES
@given(data=st.data(), value=REPLACEMENTS, how=st.sampled_from(["replace", "delete", "add"]))
def test_no_import_answers_500_or_holds_the_worker(setup, data, value, how):
    client, document = setup
    path = data.draw(st.sampled_from(places(document)))
    content = json.dumps(changed(document, path, value, how))
    file = SimpleUploadedFile("config.json", content.encode(), content_type="application/json")

    response, seconds = timed(client.post, reverse("config-import"), {"file": file})
    assert response.status_code in (200, 302), (path, how)
    assert seconds < WORKER_SECONDS, (seconds, path, how)

    applied = {"document": content, "filename": "config.json", "apply": "1"}
    response, seconds = timed(client.post, reverse("config-import"), applied)
    assert response.status_code == 302, (path, how)
    assert seconds < WORKER_SECONDS, (seconds, path, how)
