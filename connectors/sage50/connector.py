"""The Sage 50 connector: Sage Accounting API v3.1 (Sage 50 cloud / Business Cloud).

Records are Sage's own JSON (links as `{id, displayed_as, $path}`, money as decimal text).
Writes send the resource wrapped in its singular name with an `idempotency_id` made from the
idempotency key, so a create retried after a lost reply returns the first record.
"""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from urllib.parse import quote, urlsplit

from connectors.base import Connector, FieldInfo, Health, Record, RecordLink, record_link
from connectors.errors import NotFound, Unsupported, ValidationError
from connectors.models import Connection
from connectors.sage50 import oauth
from connectors.sage50.client import SageClient
from connectors.sage50.erp import SageAccountingErp
from connectors.sage50.fields import STATIC_FIELDS, live_fields
from connectors.sage50.oauth import NOT_CONNECTED, SYSTEM, is_connected

IDEMPOTENCY_NAMESPACE = uuid.UUID("4f6c1c52-8a3e-4d8e-9a55-0b7d3c1e5a50")


@dataclass(frozen=True)
class Resource:
    path: str
    label: str
    singular: str = ""  # the body wrapper for writes; "" when Sage offers no writes
    feed: bool = True  # accepts updated_or_created_since / deleted_since
    filters: tuple[str, ...] = ()  # list query parameters Sage documents for equality
    searched: tuple[str, ...] = ()  # fields the `search` parameter looks in


RESOURCES: dict[str, Resource] = {
    "contacts": Resource(
        "/contacts",
        "contact",
        "contact",
        filters=("contact_type_id", "email", "search"),
        searched=("name", "reference", "email"),
    ),
    "products": Resource(
        "/products",
        "product",
        "product",
        filters=("search",),
        searched=("item_code", "description"),
    ),
    "ledger_accounts": Resource(
        "/ledger_accounts",
        "ledger account",
        filters=("ledger_account_type_id", "search"),
        searched=("name", "nominal_code"),
    ),
    "tax_rates": Resource("/tax_rates", "tax rate"),
    "stock_items": Resource(
        "/stock_items", "stock item", filters=("search",), searched=("item_code", "description")
    ),
    "currencies": Resource("/currencies", "currency", feed=False),
    "financial_settings": Resource("/financial_settings", "financial settings", feed=False),
    "sales_invoices": Resource(
        "/sales_invoices",
        "sales invoice",
        "sales_invoice",
        filters=("contact_id", "status_id", "from_date", "to_date", "search"),
        searched=("invoice_number", "reference", "contact_name"),
    ),
    "contact_persons": Resource(
        "/contact_persons", "contact person", "contact_person", filters=("contact_id",)
    ),
    "contact_payments": Resource(
        "/contact_payments",
        "contact payment",
        "contact_payment",
        filters=("contact_id", "transaction_type_id", "from_date", "to_date"),
    ),
}
SINGLETONS = ("financial_settings",)


def idempotency_id(idempotency_key: str) -> str:
    """Sage wants a 32-hex GUID; the same key always gives the same one."""
    if re.fullmatch(r"[0-9a-fA-F]{32}", idempotency_key):
        return idempotency_key.lower()
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, idempotency_key).hex


def sage_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z (a naive time is taken as UTC); no `+` to mis-encode."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def value_at(record: Record, path: str) -> Any:
    """A dotted path's value; a link (`{id, …}`) stands for its id."""
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value.get("id") if isinstance(value, dict) and "id" in value else value


def same(found: Any, wanted: Any) -> bool:
    if isinstance(found, str) or isinstance(wanted, str):
        return found is not None and str(found).casefold() == str(wanted).casefold()
    return found == wanted


class SageAccountingConnector(SageAccountingErp, Connector):
    system = "sage50"
    label = "Sage Accounting"
    page_size = 200  # items per list call (Sage's maximum)
    supports_oauth_connect = True

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._client: SageClient | None = None

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        return oauth.authorization_url(self.connection, redirect_uri, state)

    def authorization_origin(self) -> str:
        parts = urlsplit(self.settings["auth_url"])
        return f"{parts.scheme}://{parts.netloc}"

    def complete_authorization(self, code: str, redirect_uri: str) -> None:
        oauth.complete_authorization(self.connection, code, redirect_uri)

    @classmethod
    def record_links(
        cls, settings: dict[str, Any], entity_key: str, references: dict[str, Any]
    ) -> list[RecordLink]:
        """The sandbox serves its pages at the host root, beside /v3.1."""
        root = re.sub(r"/v\d+(\.\d+)?/?$", "", (settings.get("api_url") or "").rstrip("/"))
        invoice = references.get("sage_invoice_id")
        return record_link("Sage Accounting invoice", root, "invoices", invoice)

    @property
    def client(self) -> SageClient:
        if self._client is None:
            self._client = SageClient(self.connection)
        return self._client

    # ------------------------------------------------------------ health

    def test(self) -> Health:
        """Name the business and its base currency, or say what stops us reaching it."""
        if not is_connected(self.connection):
            return Health(ok=False, message=NOT_CONNECTED, needs_reauth=True)
        business = self.business()
        settings = self.client.get("/financial_settings")
        base_currency = value_at(settings, "base_currency") or "unknown"
        name = business.get("name") or business.get("displayed_as") or business.get("id")
        return Health(
            ok=True,
            message=f"Connected to {name} in Sage; base currency {base_currency}.",
            details={
                "business_id": business.get("id"),
                "base_currency": base_currency,
                "multi_currency_enabled": settings.get("multi_currency_enabled"),
            },
        )

    def business(self) -> Record:
        """The business calls go to: the configured one, else the user's lead business."""
        business_id = self.settings.get("business_id")
        if business_id:
            try:
                return self.client.get(f"/businesses/{quote(business_id, safe='')}")
            except NotFound as exc:
                raise NotFound(
                    f"Sage has no business {business_id} for this user: check the Business "
                    "ID on the connection, or leave it blank for the lead business.",
                    system=SYSTEM,
                    status=exc.status,
                    detail=exc.detail,
                ) from exc
        businesses = list(islice(self.client.items("/businesses", attributes="all"), 2))
        if len(businesses) == 1:
            return businesses[0]
        return self.client.get("/businesses/lead")

    def base_currency(self) -> str:
        """The business's base currency code (e.g. USD), from its financial settings."""
        return value_at(self.client.get("/financial_settings"), "base_currency")

    # ------------------------------------------------------------ reads

    def entities(self) -> list[str]:
        return list(RESOURCES)

    def schema(self, entity: str) -> list[FieldInfo]:
        """Sage has no describe endpoint: the documented fields of the entity (static list,
        write names such as `currency_id` with their required flags) plus every key of one
        live record fetched with `attributes=all` that the list does not already name (read
        shapes such as `currency`, and anything Sage added since)."""
        self._resource(entity)
        static = STATIC_FIELDS[entity]
        sample = self.sample(entity, 1)
        known = {field.name for field in static}
        extra = [f for f in live_fields(sample[0]) if f.name not in known] if sample else []
        return [*static, *extra]

    def get(self, entity: str, key: str) -> Record:
        resource = self._resource(entity)
        if entity in SINGLETONS:
            return self.client.get(resource.path)
        with self._about(resource, key):
            return self.client.get(f"{resource.path}/{quote(str(key), safe='')}")

    def search(self, entity: str, **criteria: Any) -> list[Record]:
        """Records equal on every criterion (dotted paths allowed; strings compared without
        case; a link matches its id). Criteria that are Sage list filters go to Sage; the
        rest are checked here, narrowed by `search` when Sage searches that field."""
        resource = self._resource(entity)
        params = {name: value for name, value in criteria.items() if name in resource.filters}
        local = {name: value for name, value in criteria.items() if name not in params}
        narrowing = [value for name, value in local.items() if name in resource.searched]
        if narrowing and "search" not in params:
            params["search"] = str(narrowing[0])
        with self._about(resource):
            records = (
                self.sample(entity) if entity in SINGLETONS else self._items(resource, **params)
            )
            return [
                record
                for record in records
                if all(same(value_at(record, name), value) for name, value in local.items())
            ]

    def changes(self, entity: str, since: datetime) -> Iterator[Record]:
        """Records created or updated at or after `since`, oldest first, fetched lazily."""
        resource = self._feed(entity)
        return self._items(
            resource, updated_or_created_since=sage_timestamp(since), sort="updated_at:asc"
        )

    def deletions(self, entity: str, since: datetime) -> Iterator[Record]:
        """Tombstones (`id`, `deleted_at`) of records deleted at or after `since`."""
        resource = self._feed(entity)
        return self.client.items(
            resource.path, page_size=self.page_size, deleted_since=sage_timestamp(since)
        )

    def sample(self, entity: str, n: int = 5) -> list[Record]:
        resource = self._resource(entity)
        if entity in SINGLETONS:
            return [self.get(entity, "")]
        return list(islice(self.client.items(resource.path, page_size=n, attributes="all"), n))

    # ------------------------------------------------------------ writes

    def create(self, entity: str, data: Record, idempotency_key: str) -> Record:
        """POST with `idempotency_id` from the key: sent again, Sage returns the first record."""
        resource = self._writable(entity)
        body = {resource.singular: {**data, "idempotency_id": idempotency_id(idempotency_key)}}
        with self._about(resource):
            return self.client.post(resource.path, body)

    def update(self, entity: str, key: str, data: Record, idempotency_key: str) -> Record:
        """PUT the given fields (nested address and person objects merge in Sage). Sage takes
        no idempotency id on PUT; none is needed, as sending the same values again is a no-op."""
        resource = self._writable(entity)
        with self._about(resource, key):
            return self.client.put(
                f"{resource.path}/{quote(str(key), safe='')}", {resource.singular: data}
            )

    # ------------------------------------------------------------ helpers

    def _items(self, resource: Resource, **params: Any) -> Iterator[Record]:
        return self.client.items(
            resource.path, page_size=self.page_size, attributes="all", **params
        )

    def _resource(self, entity: str) -> Resource:
        try:
            return RESOURCES[entity]
        except KeyError:
            raise NotFound(
                f"Sage Accounting has no entity {entity!r}; it has {', '.join(RESOURCES)}.",
                system=SYSTEM,
            ) from None

    def _writable(self, entity: str) -> Resource:
        resource = self._resource(entity)
        if not resource.singular:
            raise Unsupported(
                f"Sage's API cannot create or change {resource.label}", system=self.system
            )
        return resource

    def _feed(self, entity: str) -> Resource:
        resource = self._resource(entity)
        if not resource.feed:
            raise Unsupported(f"Sage has no change feed for {resource.label}", system=self.system)
        return resource

    @contextmanager
    def _about(self, resource: Resource, key: str = "") -> Iterator[None]:
        """Say which record an error is about, keeping Sage's words and field paths."""
        try:
            yield
        except ValidationError as exc:
            raise ValidationError(
                f"Sage refused the {resource.label}: {exc.detail}.",
                fields=exc.fields,
                system=SYSTEM,
                status=exc.status,
                detail=exc.detail,
            ) from exc
        except NotFound as exc:
            if not key:
                raise
            raise NotFound(
                f"Sage has no {resource.label} with id {key}.",
                system=SYSTEM,
                status=exc.status,
                detail=exc.detail,
            ) from exc
