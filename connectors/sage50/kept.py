"""What a Sage Accounting connection's won deals ask again and again, kept a few minutes per
connection: products by item code (each line is matched, then asked its sales ledger),
ledger accounts by nominal code, found or not (a deal's GL code Sage lacks is asked per line
and per deal), and bound customers' contacts (read for their tax rate). None changes from
deal to deal; a product, account or contact added, edited or removed in Sage shows after
`KEPT_SECONDS` at the latest, and an unknown product is never kept, so one created in Sage
is found by the next run.
"""

from typing import Any

from connectors.kept import MISSING, Kept

KEPT_SECONDS = 300.0
_KEPT = Kept(KEPT_SECONDS)  # (connection scope..., kind, key) -> value

__all__ = ["MISSING", "keep", "kept"]


def kept(scope: tuple[Any, ...], kind: str, key: str) -> Any:
    """The value kept for the connection, or `MISSING` (none, or older than the TTL)."""
    return _KEPT.get((*scope, kind, key))


def keep(scope: tuple[Any, ...], kind: str, key: str, value: Any) -> None:
    if scope:
        _KEPT.put((*scope, kind, key), value)
