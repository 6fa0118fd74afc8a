"""Reading /metrics in tests as Prometheus does (with the scrape token): the text parsed
strictly, and the API call counters."""

import re

from django.http import HttpResponse
from django.test import override_settings

SCRAPE_TOKEN = "prometheus-in-tests"

LINE = re.compile(r"^(?P<name>[a-z_]+)(\{(?P<labels>[^}]*)\})? (?P<value>-?[0-9.e+-]+|\+Inf)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample line as (name, labels) → value; fails on any line that does not parse."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        match = LINE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        labels = frozenset(LABEL.findall(match["labels"] or ""))
        samples[(match["name"], labels)] = float(match["value"])
    return samples


def scrape(client) -> HttpResponse:
    """GET /metrics with the bearer token of CLARITY_METRICS_TOKEN, as a Prometheus server
    configured with it does: anonymous visitors get 401."""
    with override_settings(CLARITY_METRICS_TOKEN=SCRAPE_TOKEN):
        return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPE_TOKEN}")


def api_calls(client) -> dict[tuple[str, str], float]:
    """(system, outcome) → calls, as /metrics shows them."""
    samples = parse(scrape(client).content.decode())
    return {
        (labels["system"], labels["outcome"]): value
        for (name, label_set), value in samples.items()
        if name == "clarity_api_calls_total"
        for labels in [dict(label_set)]
    }


def grown(before: dict, after: dict, system: str, outcome: str) -> float:
    return after.get((system, outcome), 0) - before.get((system, outcome), 0)
