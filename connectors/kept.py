"""Values a connector keeps a few minutes, shared by the threads of a process: what the
deals of one company or one connection ask again and again (a CRM's organization and
contact, Sage Accounting's products, ledgers and bound customers). One store per kind of
value, each with its own time to live; once a store holds MOST_KEPT entries, the expired
ones are dropped."""

import threading
import time
from collections.abc import Callable
from typing import Any

MOST_KEPT = 10_000
MISSING = object()  # nothing kept (or kept too long ago): a kept None is a found "none"

Key = tuple[Any, ...]


class Kept:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[Key, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Key) -> Any:
        """The value kept under `key`, or MISSING."""
        with self._lock:
            found = self._items.get(key)
        if found is None or found[0] < time.monotonic():
            return MISSING
        return found[1]

    def put(self, key: Key, value: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._items) >= MOST_KEPT:
                for expired in [k for k, (until, _) in self._items.items() if until < now]:
                    del self._items[expired]
            self._items[key] = (now + self.seconds, value)

    def forget(self, dropped: Callable[[Key, Any], bool]) -> None:
        """Forget every entry `dropped(key, value)` picks."""
        with self._lock:
            for key in [k for k, (_, value) in self._items.items() if dropped(k, value)]:
                del self._items[key]
