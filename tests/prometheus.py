"""Reading /metrics in tests: Prometheus text parsed strictly, and the API call counters."""

import re

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


def api_calls(client) -> dict[tuple[str, str], float]:
    """(system, outcome) → calls, as /metrics shows them."""
    samples = parse(client.get("/metrics").content.decode())
    return {
        (labels["system"], labels["outcome"]): value
        for (name, label_set), value in samples.items()
        if name == "clarity_api_calls_total"
        for labels in [dict(label_set)]
    }


def grown(before: dict, after: dict, system: str, outcome: str) -> float:
    return after.get((system, outcome), 0) - before.get((system, outcome), 0)
