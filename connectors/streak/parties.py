"""A won deal's organization and contact, kept for a few minutes per connection: the deals
of one company follow each other, and reading both again for each costs two calls a deal.

A kept record is forgotten when Streak says it changed (`forget`, from the ORG_UPDATE and
CONTACT_CREATE/CONTACT_UPDATE deliveries the pair stored, checked by the run before it reads
the deal), so an address edited in Streak reaches the next order however soon it is won.
Without a delivery (webhooks not registered) a change shows after `PARTY_TTL_SECONDS` at
the latest.
"""

from typing import Any

from connectors.kept import MISSING, Kept

PARTY_TTL_SECONDS = 300.0
ENTITIES = ("Organization", "Contact")
_PARTIES = Kept(PARTY_TTL_SECONDS)  # (connection scope..., entity, key) -> record


def kept(scope: tuple[Any, ...], entity: str, key: str) -> dict[str, Any] | None:
    """The record kept for the connection, unless it is older than the TTL."""
    found = _PARTIES.get((*scope, entity, key))
    return None if found is MISSING else found


def keep(scope: tuple[Any, ...], entity: str, key: str, record: dict[str, Any]) -> None:
    _PARTIES.put((*scope, entity, key), record)


def forget(scope: tuple[Any, ...], keys: set[str]) -> None:
    """Forget the connection's organizations and contacts with these keys."""
    if keys:
        _PARTIES.forget(lambda key, _: key[:-2] == scope and key[-1] in keys)
