"""What a Sage Accounting connection's won deals ask again and again, kept a few minutes per
connection: products by item code (each line is matched, then asked its sales ledger),
ledger accounts by nominal code, found or not (a deal's GL code Sage lacks is asked per line
and per deal), and bound customers' contacts (read for their tax rate). None changes from
deal to deal; a product, account or contact added, edited or removed in Sage shows after
`KEPT_SECONDS` at the latest, and an unknown product is never kept, so one created in Sage
is found by the next run.
"""

import threading
import time
from typing import Any

KEPT_SECONDS = 300.0
MOST_KEPT = 10_000  # entries; beyond it the expired ones are dropped
MISSING = object()
# (connection scope..., kind, key) -> (expires at, value)
_KEPT: dict[tuple[Any, ...], tuple[float, Any]] = {}
_lock = threading.Lock()


def kept(scope: tuple[Any, ...], kind: str, key: str) -> Any:
    """The value kept for the connection, or `MISSING` (none, or older than the TTL)."""
    with _lock:
        found = _KEPT.get((*scope, kind, key))
    if found is None or found[0] < time.monotonic():
        return MISSING
    return found[1]


def keep(scope: tuple[Any, ...], kind: str, key: str, value: Any) -> None:
    if not scope:
        return
    now = time.monotonic()
    with _lock:
        if len(_KEPT) >= MOST_KEPT:
            for expired in [k for k, (until, _) in _KEPT.items() if until < now]:
                del _KEPT[expired]
        _KEPT[(*scope, kind, key)] = (now + KEPT_SECONDS, value)
