"""The arithmetic and bookkeeping of bench/flows_latency.py's figures."""

import os
import platform
import statistics
import time
from pathlib import Path


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Total length the intervals cover, overlaps counted once."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 (of a single value: that value)."""
    if len(values) < 2:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


def machine() -> str:
    """What ran the benchmark, for the README's table beside the figures."""
    models = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    return (
        f"{os.cpu_count()} CPUs ({models[0] if models else platform.processor()}), "
        f"Linux {platform.release()}"
    )


class Laps:
    """Seconds each part of the run took, to see where the benchmark's own time goes."""

    def __init__(self) -> None:
        self.seconds: dict[str, int] = {}
        self.mark = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self.mark)
        self.mark = now
