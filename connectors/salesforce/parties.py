"""A won deal's contact, kept a few minutes per connection: the deals of one account follow
each other, and the contact query costs a call a deal. The account is not kept: its fields
(the billing and shipping addresses among them) come with the deal's own query, so an order's
address is always the account's as it is now.

A kept contact is forgotten when Salesforce says its account or itself changed (`forget`:
the Account's Change Data Capture events and the Contact feed's changes the connection's
pairs stored, checked by the run before it reads the deal); without them a change shows
after `PARTY_TTL_SECONDS` at the latest.
"""

import threading
import time
from typing import Any

PARTY_TTL_SECONDS = 300.0
MOST_KEPT = 10_000  # contacts; beyond it the expired ones are dropped
# (connection scope..., where, columns) -> (expires at, account id, contact id, record)
_CONTACTS: dict[tuple[Any, ...], tuple[float, str, str, dict[str, Any]]] = {}
_lock = threading.Lock()


def kept(scope: tuple[Any, ...], where: str, columns: tuple[str, ...]) -> dict[str, Any] | None:
    """The contact kept for the connection and query, unless it is older than the TTL."""
    with _lock:
        found = _CONTACTS.get((*scope, where, columns))
    if found is None or found[0] < time.monotonic():
        return None
    return found[3]


def keep(
    scope: tuple[Any, ...], where: str, columns: tuple[str, ...], account: str,
    contact: str, record: dict[str, Any],
) -> None:  # fmt: skip
    now = time.monotonic()
    with _lock:
        if len(_CONTACTS) >= MOST_KEPT:
            for expired in [k for k, found in _CONTACTS.items() if found[0] < now]:
                del _CONTACTS[expired]
        _CONTACTS[(*scope, where, columns)] = (now + PARTY_TTL_SECONDS, account, contact, record)


def forget(scope: tuple[Any, ...], keys: set[str]) -> None:
    """Forget the connection's contacts of these accounts, and these contacts. A key may
    carry its feed's prefix (`account:001…`)."""
    ids = {key.rpartition(":")[2][:15] for key in keys if key}
    if not ids:
        return
    with _lock:
        for cache_key in [
            k for k, (_, account, contact, _) in _CONTACTS.items()
            if k[:-2] == scope and (account[:15] in ids or contact[:15] in ids)
        ]:  # fmt: skip
            del _CONTACTS[cache_key]
