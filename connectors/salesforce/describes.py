"""Salesforce describes, kept per connection a few minutes and shared by the threads of a
process. Every won deal checks the names its mappings read against the describes of the
deal's object, its lines', its contact's and their parents' (`soql.select_list`); a describe
is a call, 200 ms at Salesforce's pace, for what changes only when an admin edits the object
in Setup.

A connector reads each describe once (as it always did), from the connection's kept one when
there is one. A name the kept describe lacks (a field an admin has just added) reads it again
at once, once per connector (`fields(..., fresh=True)`): a new field is never hidden. A
query Salesforce refuses for a field a kept describe still had (deleted since) forgets the
connection's kept describes and is sent once more (`read_fresh`). The schema and mapping
pages read live (`describe(..., refresh=True)`) and keep what they read.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from simple_salesforce import Salesforce, SFType

from connectors.base import FieldInfo, Record
from connectors.errors import NotFound, ValidationError
from connectors.kept import MISSING, Kept
from connectors.salesforce.client import SalesforceClient

DESCRIBE_TTL_SECONDS = 300.0
_DESCRIBES = Kept(DESCRIBE_TTL_SECONDS)  # (connection scope..., object name) -> describe

TYPES = {
    "string": "string", "textarea": "string", "email": "string", "phone": "string",
    "url": "string", "encryptedstring": "string", "combobox": "string", "picklist": "choice",
    "multipicklist": "multichoice", "boolean": "boolean", "int": "integer", "double": "number",
    "currency": "number", "percent": "number", "date": "date", "datetime": "datetime",
    "time": "time", "reference": "reference", "id": "id",
}  # fmt: skip
SOBJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
STALE_NAME = "INVALID_FIELD:"  # Salesforce's code for a name the object does not have


def sobject(sf: Salesforce, entity: str) -> SFType:
    """simple-salesforce's handle on one sObject type, for a name checked to be one (it goes
    into URLs and SOQL)."""
    if not SOBJECT_NAME.match(entity):
        raise ValidationError(
            f"“{entity}” is not a Salesforce object name", fields={"entity": "invalid"}
        )
    return SFType(
        entity, sf.session_id, sf.sf_instance, sf_version=sf.sf_version, session=sf.session
    )


def describe_scope(connection: Any) -> tuple[Any, ...]:
    """Whose describes are kept: a saved connection's, while it points at the same org (its
    login URL, connected app and API version; re-pointing it changes the key). An unsaved
    connection (a form being tested) keeps none."""
    if not connection.pk:
        return ()
    settings = connection.settings or {}
    pointed_at = (settings.get(name) or "" for name in ("login_url", "client_id", "api_version"))
    return (connection.pk, str(connection.created_at), *pointed_at)


class SalesforceDescribes:
    """The connector's describes; `client`, `connection` and `query` are the connector's.
    `describes` holds what this connector has read, `read_now` the objects it read live."""

    client: SalesforceClient
    connection: Any
    describes: dict[str, dict[str, Any]]
    read_now: set[str]
    query: Callable[[str], Iterator[Record]]

    def describe(self, entity: str, refresh: bool = False) -> dict[str, Any]:
        """The entity's describe: once per connector, the connection's kept one when it has
        one; `refresh`: read now (and kept for the connection)."""
        scope = describe_scope(self.connection)
        if not refresh and entity in self.describes:
            return self.describes[entity]
        found = MISSING if refresh or not scope else _DESCRIBES.get((*scope, entity))
        if found is MISSING:
            found = self.client.call(lambda sf: sobject(sf, entity).describe())
            self.read_now.add(entity)
            if scope:
                _DESCRIBES.put((*scope, entity), found)
        self.describes[entity] = found
        return found

    def fields(self, entity: str, fresh: bool = False) -> dict[str, dict[str, Any]]:
        """Describe fields by lower-case name (SOQL and the REST API ignore case). `fresh`: a
        name was missing from them, so a describe kept from an earlier run is read again."""
        stale = fresh and entity in self.describes and entity not in self.read_now
        return {f["name"].lower(): f for f in self.describe(entity, refresh=stale)["fields"]}

    def known_fields(self, entity: str, fresh: bool = False) -> dict[str, dict[str, Any]]:
        """The object's describe fields by lower-case name; none for an object the org
        does not let us describe (a parent such as User, in some orgs): as today, not kept."""
        if fresh and entity not in self.describes:
            return {}  # its describe failed just now
        try:
            return self.fields(entity, fresh)
        except NotFound:
            return {}

    def external_id_field(self, entity: str) -> str:
        """The entity's first external ID field, or "" when it has none."""
        return next((f["name"] for f in self.describe(entity)["fields"] if f.get("externalId")), "")

    def schema(self, entity: str) -> list[FieldInfo]:
        """Fields from a live describe: custom ones flagged, picklist values as choices, and
        required = not nillable, createable and not defaulted on create."""
        return [
            FieldInfo(
                name=field["name"],
                label=field.get("label") or field["name"],
                type=TYPES.get(field["type"], field["type"]),
                length=field.get("length") or None,
                required=not field.get("nillable", True)
                and field.get("createable", False)
                and not field.get("defaultedOnCreate", False),
                custom=bool(field.get("custom")),
                choices=tuple(
                    p["value"] for p in field.get("picklistValues") or [] if p.get("active", True)
                ),
            )
            for field in self.describe(entity, refresh=True)["fields"]
        ]

    def read_fresh(self, soql_of: Callable[[], str]) -> Iterator[Record]:
        """The rows of the query `soql_of` writes from the describes, page by page; written
        and sent once more from describes read now when Salesforce refuses a name a kept
        describe still had (it says so on the first page)."""
        rows = self.query(soql_of())
        try:
            first = next(rows, MISSING)
        except ValidationError as exc:
            if not self.forget_kept_describes(exc):
                raise
            rows = self.query(soql_of())
            first = next(rows, MISSING)
        if first is not MISSING:
            yield first
        yield from rows

    def forget_kept_describes(self, refused: ValidationError) -> bool:
        """Whether Salesforce refused a name while this connector used kept describes: then
        the connection's kept describes are forgotten, and this connector's kept ones."""
        kept = set(self.describes) - self.read_now
        if not kept or not refused.detail.startswith(STALE_NAME):
            return False
        if scope := describe_scope(self.connection):
            _DESCRIBES.forget(lambda key, describe: key[: len(scope)] == scope)
        for entity in kept:
            del self.describes[entity]
        return True
