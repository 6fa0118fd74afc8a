"""A won deal's contact, kept a few minutes per connection: the deals of one account follow
each other, and the contact query costs a call a deal. The account is not kept: its fields
(the billing and shipping addresses among them) come with the deal's own query, so an order's
address is always the account's as it is now.

A kept contact is forgotten when Salesforce says its account or itself changed (`forget`:
the Account's Change Data Capture events and the Contact feed's changes the connection's
pairs stored, checked by the run before it reads the deal); without them a change shows
after `PARTY_TTL_SECONDS` at the latest.
"""

from typing import Any

from connectors.kept import MISSING, Kept

PARTY_TTL_SECONDS = 300.0
# (connection scope..., where, columns) -> (account id, contact id, record)
_CONTACTS = Kept(PARTY_TTL_SECONDS)


def kept(scope: tuple[Any, ...], where: str, columns: tuple[str, ...]) -> dict[str, Any] | None:
    """The contact kept for the connection and query, unless it is older than the TTL."""
    found = _CONTACTS.get((*scope, where, columns))
    return None if found is MISSING else found[2]


def keep(
    scope: tuple[Any, ...], where: str, columns: tuple[str, ...], account: str,
    contact: str, record: dict[str, Any],
) -> None:  # fmt: skip
    _CONTACTS.put((*scope, where, columns), (account, contact, record))


def forget(scope: tuple[Any, ...], keys: set[str]) -> None:
    """Forget the connection's contacts of these accounts, and these contacts. A key may
    carry its feed's prefix (`account:001…`)."""
    ids = {key.rpartition(":")[2][:15] for key in keys if key}
    if ids:
        _CONTACTS.forget(
            lambda key, found: key[:-2] == scope and (found[0][:15] in ids or found[1][:15] in ids)
        )
