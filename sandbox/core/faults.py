"""Fault knobs every sandbox shares: latency, 5xx, 429, outage, commit-then-fail.

Set through `POST /_control/faults` (JSON) or `run_sandboxes --faults`. With a seed the
sequence of injected faults is deterministic, so a test can rely on it.
"""

import random
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class FaultSettings:
    latency_ms: int = 0  # added before every API reply
    error_rate: float = 0.0  # share of API requests answered 500 (nothing done)
    rate_limit_rate: float = 0.0  # share of API requests answered 429
    retry_after: int = 1  # seconds, in the 429's Retry-After header
    outage: bool = False  # every API request answered 503
    commit_then_fail_rate: float = 0.0  # share of writes done, then answered 500
    drop_connection: bool = False  # commit-then-fail drops the connection instead of a 500
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FaultSettings":
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(
                f"unknown fault knob(s): {', '.join(unknown)}; known: {', '.join(known)}"
            )
        values = {}
        for name, value in data.items():
            kind = known[name].type
            if "float" in str(kind):
                value = float(value)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{name} is a share between 0 and 1, got {value}")
            elif "int" in str(kind) and value is not None:
                value = int(value)
            elif "bool" in str(kind):
                value = value in (True, "true", "1", 1, "on")
            values[name] = value
        return cls(**values)


@dataclass
class Faults:
    """The live fault state of one sandbox, safe to use from many request threads."""

    settings: FaultSettings = field(default_factory=FaultSettings)
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self.settings = settings
            self._rng = random.Random(settings.seed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.settings)

    def _roll(self, share: float) -> bool:
        if share <= 0:
            return False
        with self._lock:
            return self._rng.random() < share

    def before_request(self) -> str | None:
        """Sleep for the latency, then say which fault (if any) answers this request:
        'outage', 'rate_limited' or 'error'."""
        s = self.settings
        if s.latency_ms:
            time.sleep(s.latency_ms / 1000)
        if s.outage:
            return "outage"
        if self._roll(s.rate_limit_rate):
            return "rate_limited"
        if self._roll(s.error_rate):
            return "error"
        return None

    def fail_after_commit(self) -> bool:
        """Asked by a write handler after it committed: should the reply fail anyway?"""
        return self._roll(self.settings.commit_then_fail_rate)
