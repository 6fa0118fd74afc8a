"""The canonical model: typed records that survive a JSON round trip, and field lists that
validate mappings into canonical exactly like mappings into Sage."""

import json
from datetime import date
from decimal import Decimal

from mappings import canonical
from mappings.canonical import Address, Customer, Line, SalesOrder


def test_a_sales_order_survives_json_and_back():
    order = SalesOrder(
        customer_name="Harbor Point Logistics",
        currency="EUR",
        lines=[Line(sku="WIDGET-100", quantity=Decimal("5"), unit_price=Decimal("120.00"))],
        order_date=date(2025, 1, 1),
        total=Decimal("600.00"),
        billing_address=Address(lines=["Hansaring 62"], city="Köln", zip="50670", country="DE"),
        custom={"Delivery window": "mornings"},
    )
    as_json = json.dumps(order.to_dict())
    assert SalesOrder.from_dict(json.loads(as_json)) == order
    assert json.loads(as_json)["total"] == "600.00"  # money as exact decimal text


def test_every_entity_lists_its_fields_nested_ones_included():
    assert set(canonical.ENTITIES) == {"Customer", "Item", "SalesOrder", "Invoice", "Payment",
                                       "InventoryLevel", "OrderStatus"}  # fmt: skip
    fields = {f.name: f for f in canonical.schema("SalesOrder")}
    assert fields["customer_name"].required and fields["lines"].type == "list"
    assert fields["lines[].quantity"].type == "number" and fields["lines[].sku"].required
    assert fields["billing_address.city"].type == "string"
    assert fields["order_date"].type == "date" and fields["custom"].type == "object"
    for entity in canonical.ENTITIES:
        assert "custom" in {f.name for f in canonical.schema(entity)}


def test_unknown_keys_are_ignored_and_missing_ones_defaulted():
    customer = Customer.from_dict({"name": "Acme", "unexpected": 1})
    assert customer.contacts == [] and customer.credit_limit is None
