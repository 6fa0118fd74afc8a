"""The canonical model: the shapes every CRM and ERP record passes through.

Records travel as plain dicts (what the engine produces and what run snapshots store);
these dataclasses give them types, `from_dict` / `to_dict` (JSON-safe: money as decimal
text, dates as ISO) and a field list per entity, so a mapping whose target is canonical is
validated exactly like one whose target is Sage: against a list of `FieldInfo`.
"""

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from connectors.base import FieldInfo

T = TypeVar("T", bound="Canonical")


REQUIRED = {"required": True}


class Canonical:
    """Shared `to_dict` / `from_dict`; `custom` carries custom fields through untouched."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        hints = typing.get_type_hints(cls)
        values = {
            f.name: from_json(hints[f.name], data[f.name])
            for f in dataclasses.fields(cls)
            if f.name in data
        }
        return cls(**values)


def to_json(value: Any) -> Any:
    if isinstance(value, Canonical):
        return value.to_dict()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


def from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(hint, types.UnionType):  # X | None
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    origin = typing.get_origin(hint)
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        return [from_json(item_hint, item) for item in value]
    if isinstance(hint, type) and issubclass(hint, Canonical):
        return value if isinstance(value, hint) else hint.from_dict(value)
    if hint is Decimal:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if hint is date:
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return value


@dataclass
class Address(Canonical):
    lines: list[str] = field(default_factory=list)
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""  # ISO 3166 alpha-2


@dataclass
class Contact(Canonical):
    name: str = ""
    email: str = ""
    phone: str = ""  # E.164
    title: str = ""


@dataclass
class Customer(Canonical):
    name: str = field(default=None, metadata=REQUIRED)
    email: str = ""
    phone: str = ""
    billing_address: Address | None = None
    shipping_address: Address | None = None
    contacts: list[Contact] = field(default_factory=list)
    external_refs: dict[str, str] = field(default_factory=dict)  # {"crm": id, "erp": id}
    currency: str = ""
    terms: str = ""
    credit_limit: Decimal | None = None
    tax_number: str = ""
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class Line(Canonical):
    sku: str = field(default=None, metadata=REQUIRED)
    description: str = ""
    quantity: Decimal = field(default=None, metadata=REQUIRED)
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    gl_account: str = ""
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class Item(Canonical):
    sku: str = field(default=None, metadata=REQUIRED)
    name: str = ""
    description: str = ""
    unit_price: Decimal | None = None
    currency: str = ""
    active: bool = True
    gl_account: str = ""
    external_refs: dict[str, str] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class SalesOrder(Canonical):
    customer_name: str = field(default=None, metadata=REQUIRED)
    currency: str = field(default=None, metadata=REQUIRED)
    lines: list[Line] = field(default=None, metadata=REQUIRED)
    number: str = ""  # the ERP's order number, once there is one
    crm_deal_id: str = ""
    po_number: str = ""
    customer_email: str = ""
    customer_ref: str = ""  # the ERP's customer key, filled in by the flow
    order_date: date | None = None
    ship_date: date | None = None
    terms: str = ""
    gl_account: str = ""
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    total_base: Decimal | None = None  # total in the pair's base currency
    status: str = ""
    notes: str = ""
    billing_address: Address | None = None
    shipping_address: Address | None = None
    external_refs: dict[str, str] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class Invoice(Canonical):
    customer_name: str = field(default=None, metadata=REQUIRED)
    currency: str = field(default=None, metadata=REQUIRED)
    invoice_date: date = field(default=None, metadata=REQUIRED)
    lines: list[Line] = field(default=None, metadata=REQUIRED)
    number: str = ""
    crm_deal_id: str = ""
    po_number: str = ""
    customer_email: str = ""
    customer_ref: str = ""
    due_date: date | None = None
    terms: str = ""
    gl_account: str = ""
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    total_base: Decimal | None = None
    notes: str = ""
    billing_address: Address | None = None
    external_refs: dict[str, str] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class Payment(Canonical):
    amount: Decimal = field(default=None, metadata=REQUIRED)
    payment_date: date = field(default=None, metadata=REQUIRED)
    currency: str = ""
    reference: str = ""
    customer_ref: str = ""
    invoice_number: str = ""
    order_number: str = ""
    crm_deal_id: str = ""
    method: str = ""
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class InventoryLevel(Canonical):
    sku: str = field(default=None, metadata=REQUIRED)
    on_hand: Decimal = field(default=None, metadata=REQUIRED)
    warehouse: str = ""
    on_order: Decimal | None = None
    committed: Decimal | None = None
    available: Decimal | None = None
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class OrderStatus(Canonical):
    order_number: str = field(default=None, metadata=REQUIRED)
    status: str = field(default=None, metadata=REQUIRED)  # new, open, on_hold, completed, deleted
    crm_deal_id: str = ""
    erp_status: str = ""  # the ERP's own code, e.g. Sage 100's N/O/H/C/X
    invoice_number: str = ""
    updated_on: date | None = None
    custom: dict[str, Any] = field(default_factory=dict)


ENTITIES: dict[str, type[Canonical]] = {
    cls.__name__: cls
    for cls in (Customer, Item, SalesOrder, Invoice, Payment, InventoryLevel, OrderStatus)
}
TYPE_NAMES = {str: "string", Decimal: "number", int: "integer", bool: "boolean", date: "date"}


def field_type(hint: Any) -> tuple[str, Any]:
    """The FieldInfo type of a hint, and the nested class (if any) to describe too."""
    if isinstance(hint, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        nested = item if isinstance(item, type) and issubclass(item, Canonical) else None
        return "list", nested
    if origin is dict or hint is dict:
        return "object", None
    if isinstance(hint, type) and issubclass(hint, Canonical):
        return "object", hint
    return TYPE_NAMES.get(hint, "string"), None


def describe(cls: type[Canonical], prefix: str = "") -> list[FieldInfo]:
    fields: list[FieldInfo] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind, nested = field_type(hints[f.name])
        name = f"{prefix}{f.name}"
        label = f.name.replace("_", " ").capitalize()
        fields.append(
            FieldInfo(name, label, kind, required=bool(f.metadata.get("required")), key=f.name)
        )
        if nested is not None:
            fields += describe(nested, f"{name}[]." if kind == "list" else f"{name}.")
    return fields


@cache
def schema(entity: str) -> tuple[FieldInfo, ...]:
    """The canonical entity's fields, nested ones as `billing_address.city`, `lines[].sku`."""
    return tuple(describe(ENTITIES[entity]))


def is_canonical(entity: str) -> bool:
    return entity in ENTITIES
