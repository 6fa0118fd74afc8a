"""Sage 100 purchasing and order status in the ERP role: back-to-back purchase orders for a
sales order's short lines (PO_PurchaseOrder_bus through the agent), and a sales order put on
hold, reopened or cancelled (SO_SalesOrder_bus's OrderStatus).

What is short: an inventory line's quantity beyond what its warehouse has available to it,
which is the quantity on hand less what the other open orders already took
(IM_ItemWarehouse: QuantityOnHand - (QuantityOnSalesOrder - this order's own quantity)).
Quantities already on purchase order are not counted as available: they are not on the
shelf yet, and may be promised to something else.

A purchase order goes to the item's primary vendor (CI_Item.PrimaryAPDivisionNo +
PrimaryVendorNo, in AP_Vendor), names the sales order in its Comment and on each line
(SalesOrderNo), and carries `UDF_SO_REF` = "<sales order>-<division>-<vendor>": the agent
answers a create naming a reference Sage already holds with that purchase order instead of
writing a second.

Sage cancels a sales order by deleting it (Sales Order Entry's Delete; BOI `nDelete`): the
order leaves SO_SalesOrderHeader and is kept in SO_SalesOrderHistoryHeader as OrderStatus X
(deleted). That is what "deleted" does here. On hold is OrderStatus H, open O.
"""

from decimal import Decimal
from typing import Any

from connectors.errors import ValidationError
from connectors.records import DocumentMade, Shortfall

PURCHASE_REFERENCE = "UDF_SO_REF"
INVENTORY_ITEM = "1"  # CI_Item.ItemType of a stocked item; others are never short
STATUS_CODES = {"open": "O", "on_hold": "H", "deleted": "X"}  # canonical → OrderStatus


def quantity(value: Any) -> Decimal:
    return Decimal(str(value or 0))


class Sage100Purchasing:
    """The purchasing half of `Sage100Erp`, placed before `ErpRole` in its bases; `get`,
    `search`, `create` and `update` are the connector's."""

    get: Any
    search: Any
    create: Any
    update: Any

    def shortfalls(self, order_number: str) -> list[Shortfall]:
        """Per item and warehouse of the order's inventory lines, what is short, with its
        primary vendor ("" when CI_Item names none, or AP_Vendor lacks it)."""
        order = self.get("sales_order", order_number)
        ordered: dict[tuple[str, str], Decimal] = {}
        for line in order["lines"]:
            if str(line.get("ItemType") or "") == INVENTORY_ITEM:
                key = (str(line["ItemCode"]).strip(), str(line["WarehouseCode"]).strip())
                ordered[key] = ordered.get(key, Decimal(0)) + quantity(line["QuantityOrdered"])
        short = []
        for (code, warehouse), wanted in ordered.items():
            stock = self.search("stock", limit=1, ItemCode=code, WarehouseCode=warehouse)
            row = stock[0] if stock else {}
            taken = quantity(row.get("QuantityOnSalesOrder")) - wanted  # by other orders
            available = max(quantity(row.get("QuantityOnHand")) - max(taken, Decimal(0)), 0)
            if wanted > available:
                vendor, name = self.primary_vendor(code)
                short.append(Shortfall(code, warehouse, wanted, available, vendor, name))
        return short

    def primary_vendor(self, item_code: str) -> tuple[str, str]:
        """The item's primary vendor as "<division>-<vendor no>" and its name, or ("", "")."""
        items = self.search("item", limit=1, ItemCode=item_code)
        item = items[0] if items else {}
        division = str(item.get("PrimaryAPDivisionNo") or "").strip()
        number = str(item.get("PrimaryVendorNo") or "").strip()
        if not number:
            return "", ""
        vendors = self.search("vendor", limit=1, APDivisionNo=division, VendorNo=number)
        if not vendors:
            return "", ""
        return f"{division}-{number}", str(vendors[0]["VendorName"] or number)

    def create_purchase_order(
        self, vendor: str, lines: list[Shortfall], order_number: str, idempotency_key: str
    ) -> DocumentMade:
        division, _, vendor_no = vendor.partition("-")
        if not vendor_no:
            raise ValidationError(
                f"{vendor!r} is not a Sage 100 vendor key: expected <division>-<vendor no>.",
                fields={"VendorNo": vendor},
            )
        values = {
            "APDivisionNo": division,
            "VendorNo": vendor_no,
            "Comment": f"Back-to-back for SO {order_number}",
            PURCHASE_REFERENCE: f"{order_number}-{vendor}",
            "lines": [
                {
                    "ItemCode": line.sku,
                    "WarehouseCode": line.warehouse,
                    "QuantityOrdered": line.short,
                    "SalesOrderNo": order_number,
                }
                for line in lines
            ],
        }
        if len({line.warehouse for line in lines}) == 1:
            values["WarehouseCode"] = lines[0].warehouse
        made = self.create("purchase_order", values, idempotency_key)
        number = str(made["PurchaseOrderNo"]).strip()
        return DocumentMade(number, number, bool(made.get("existed")))

    def set_order_status(self, number: str, status: str, idempotency_key: str) -> None:
        code = STATUS_CODES.get(status)
        if code is None:
            raise ValidationError(
                f"Sage 100 cannot put an order in status {status!r}: use "
                f"{', '.join(STATUS_CODES)}.",
                fields={"OrderStatus": status},
            )
        self.update("sales_order", number, {"OrderStatus": code}, idempotency_key)
