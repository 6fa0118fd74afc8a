"""A won deal's organization and contact, kept for a few minutes per connection: the deals
of one company follow each other, and reading both again for each costs two calls a deal.

A kept record is forgotten when Streak says it changed (`forget`, from the ORG_UPDATE and
CONTACT_CREATE/CONTACT_UPDATE deliveries the pair stored, checked by the run before it reads
the deal), so an address edited in Streak reaches the next order however soon it is won.
Without a delivery (webhooks not registered) a change shows after `PARTY_TTL_SECONDS` at
the latest.
"""

import threading
import time
from typing import Any

PARTY_TTL_SECONDS = 300.0
MOST_KEPT = 10_000  # records; beyond it the expired ones are dropped
ENTITIES = ("Organization", "Contact")
# (connection scope..., entity, key) -> (expires at, record)
_PARTIES: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def kept(scope: tuple[Any, ...], entity: str, key: str) -> dict[str, Any] | None:
    """The record kept for the connection, unless it is older than the TTL."""
    with _lock:
        found = _PARTIES.get((*scope, entity, key))
    if found is None or found[0] < time.monotonic():
        return None
    return found[1]


def keep(scope: tuple[Any, ...], entity: str, key: str, record: dict[str, Any]) -> None:
    now = time.monotonic()
    with _lock:
        if len(_PARTIES) >= MOST_KEPT:
            for expired in [k for k, (until, _) in _PARTIES.items() if until < now]:
                del _PARTIES[expired]
        _PARTIES[(*scope, entity, key)] = (now + PARTY_TTL_SECONDS, record)


def forget(scope: tuple[Any, ...], keys: set[str]) -> None:
    """Forget the connection's organizations and contacts with these keys."""
    if not keys:
        return
    with _lock:
        for cache_key in [k for k in _PARTIES if k[:-2] == scope and k[-1] in keys]:
            del _PARTIES[cache_key]
