"""The sandbox's purchasing: vendors (AP_Vendor) and PO_PurchaseOrder_bus, which writes a
purchase order (PO_PurchaseOrderHeader/Detail) and counts its quantities as on order in
IM_ItemWarehouse, as Sage does. Each method runs inside the caller's transaction and raises
Refused to refuse, so a refused purchase order writes nothing.

The seed gives each vendor named by an item's PrimaryVendorNo a vendor record in division
00, pins one item short of stock (SHORT_ITEM: none on hand in warehouse 000, open orders
waiting for it) and leaves one item with no primary vendor (NO_VENDOR_ITEM, also short).
"""

import sqlite3
from datetime import date, datetime
from decimal import Decimal

from agent.backend import Record, Refused
from sandbox.sage100.boi import active_item, fetch, insert, set_values, stamp, to_decimal
from sandbox.sage100.data import Row, audit, row
from sandbox.sage100.rules import line_key, order_number, to_money
from sandbox.sage100.schema import TABLES_BY_NAME

HEADER, DETAIL = "PO_PurchaseOrderHeader", "PO_PurchaseOrderDetail"
VENDOR_DIVISION = "00"
VENDORS = [  # VendorNo, name, street, city, state, ZIP, phone, e-mail
    ("AIRWAY", "Airway Industrial Supply", "1200 Airport Rd", "Memphis", "TN", "38118",
     "(901) 555-0142", "orders@airwaysupply.com"),
    ("ALLENCO", "Allen & Co Fasteners", "88 Mill St", "Dayton", "OH", "45402",
     "(937) 555-0177", "sales@allenco.com"),
    ("CONTAIN", "Container Parts Direct", "410 Harbor Blvd", "Long Beach", "CA", "90802",
     "(562) 555-0123", "po@containerparts.com"),
]  # fmt: skip
SHORT_ITEM = "WIDGET-117"  # none on hand in warehouse 000
NO_VENDOR_ITEM = "WIDGET-113"  # short in warehouse 000, and no primary vendor
FIRST_PURCHASE_ORDER_NO = 1001
HEADER_SETTABLE = {
    "PurchaseOrderDate", "OrderType", "WarehouseCode", "RequiredExpireDate", "Comment",
    "UDF_SO_REF", "ShipToCode",
}  # fmt: skip
LINE_SETTABLE = {
    "ItemCode", "WarehouseCode", "RequiredDate", "QuantityOrdered", "UnitCost", "SalesOrderNo",
    "CommentText",
}  # fmt: skip
ORDER_TYPES = {"S": "Standard", "D": "Drop ship"}
PURCHASE_ORDER_STATUSES = {"N": "New", "O": "Open", "C": "Completed", "X": "Cancelled", "H": "Hold"}


def purchasing_rows(items: list[Row], stock: list[Row]) -> dict[str, list[Row]]:
    """The vendors, the items' primary vendor division, the short items pinned, and the next
    purchase order number; changes `items` and `stock` in place (no random draws, so the
    rest of the seed stays as it was)."""
    created = datetime(2016, 2, 1, 9, 0)
    vendors = [
        row("AP_Vendor", APDivisionNo=VENDOR_DIVISION, VendorNo=number, VendorName=name,
            AddressLine1=street, City=city, State=state, ZipCode=zip_code, CountryCode="USA",
            TelephoneNo=phone, EmailAddress=email, TermsCode="01", **audit(created))
        for number, name, street, city, state, zip_code, phone, email in VENDORS
    ]  # fmt: skip
    for item in items:
        if item["ItemCode"] == NO_VENDOR_ITEM:
            item["PrimaryVendorNo"] = ""
        item["PrimaryAPDivisionNo"] = VENDOR_DIVISION if item["PrimaryVendorNo"] else ""
    for entry in stock:
        if (entry["ItemCode"], entry["WarehouseCode"]) == (SHORT_ITEM, "000"):
            entry["QuantityOnHand"] = 0.0
    for item in items:
        if item["ItemCode"] == SHORT_ITEM:
            item["TotalQuantityOnHand"] = sum(
                s["QuantityOnHand"] for s in stock if s["ItemCode"] == SHORT_ITEM
            )
    options = row(
        "PO_Options", POOptionsKey="1", NextPurchaseOrderNo=order_number(FIRST_PURCHASE_ORDER_NO)
    )
    return {"AP_Vendor": vendors, "PO_Options": [options]}


class PurchaseOrders:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def next_number(self) -> str:
        """nGetNextPurchaseOrderNo: take the counter, skipping numbers already used."""
        number = int(fetch(self.db, "SELECT NextPurchaseOrderNo FROM PO_Options")[
            "NextPurchaseOrderNo"
        ])  # fmt: skip
        while self.find(order_number(number)):
            number += 1
        self.db.execute(
            "UPDATE PO_Options SET NextPurchaseOrderNo = ?", (order_number(number + 1),)
        )
        return order_number(number)

    def find(self, number: str) -> Record | None:
        return fetch(self.db, f"SELECT * FROM {HEADER} WHERE PurchaseOrderNo = ?", number)

    def with_lines(self, header: Record) -> Record:
        rows = self.db.execute(
            f"SELECT * FROM {DETAIL} WHERE PurchaseOrderNo = ? ORDER BY LineKey",
            (header["PurchaseOrderNo"],),
        )
        return {**header, "lines": [dict(line) for line in rows]}

    def create(self, values: Record, line_values: list[Record]) -> Record:
        values = dict(values)
        division = str(values.pop("APDivisionNo", ""))
        vendor_no = str(values.pop("VendorNo", "")).upper()
        vendor = fetch(
            self.db, "SELECT * FROM AP_Vendor WHERE APDivisionNo = ? AND VendorNo = ?",
            division, vendor_no,
        )  # fmt: skip
        if vendor is None:
            raise Refused(f"Vendor {division}-{vendor_no} is not on file.")
        number = str(values.pop("PurchaseOrderNo", "") or self.next_number())
        if len(number) != 7 or not number.isdigit():
            raise Refused(f"Invalid purchase order number {number}: use 7 digits.")
        if self.find(number):
            raise Refused(f"Purchase order {number} already exists.")
        refused = sorted(c for c in values if c in TABLES_BY_NAME[HEADER].column_names
                         and c not in HEADER_SETTABLE)  # fmt: skip
        if refused:
            raise Refused(f"The column {refused[0]} cannot be set on a new purchase order.")
        header = TABLES_BY_NAME[HEADER].blank()
        header.update(
            PurchaseOrderNo=number, PurchaseOrderDate=date.today().isoformat(), OrderType="S",
            OrderStatus="N", APDivisionNo=division, VendorNo=vendor_no,
            PurchaseName=vendor["VendorName"], WarehouseCode="000",
        )  # fmt: skip
        set_values(HEADER, header, values, set())
        if header["OrderType"] not in ORDER_TYPES:
            raise Refused(f"Invalid OrderType {header['OrderType']}: use S or D.")
        if not fetch(self.db, "SELECT 1 FROM IM_Warehouse WHERE WarehouseCode = ?",
                     header["WarehouseCode"]):  # fmt: skip
            raise Refused(f"Warehouse {header['WarehouseCode'] or '(blank)'} is not on file.")
        if not line_values:
            raise Refused("The purchase order has no lines.")
        lines = [self._line(header, index, line) for index, line in enumerate(line_values, 1)]
        header.update(stamp(True))
        insert(self.db, HEADER, header)
        for line in lines:
            insert(self.db, DETAIL, line)
            self.db.execute(
                "UPDATE IM_ItemWarehouse SET QuantityOnPurchaseOrder = QuantityOnPurchaseOrder "
                "+ ?, DateUpdated = ?, TimeUpdated = ?, UserUpdatedKey = ? "
                "WHERE ItemCode = ? AND WarehouseCode = ?",
                (line["QuantityOrdered"], *stamp().values(), line["ItemCode"],
                 line["WarehouseCode"]),
            )  # fmt: skip
        return {**header, "lines": lines}

    def _line(self, header: Record, index: int, values: Record) -> Record:
        """One line checked the way PO_PurchaseOrder_bus.oLines does: an active inventory
        item stocked in the line's warehouse, a quantity above zero."""
        refused = sorted(c for c in values if c in TABLES_BY_NAME[DETAIL].column_names
                         and c not in LINE_SETTABLE)  # fmt: skip
        if refused:
            raise Refused(f"The column {refused[0]} cannot be set on a line.")
        code, item = active_item(self.db, values)
        if item["ItemType"] != "1":
            raise Refused(f"Item {code} is not an inventory item: it cannot be purchased.")
        line = TABLES_BY_NAME[DETAIL].blank()
        line.update(
            PurchaseOrderNo=header["PurchaseOrderNo"], LineKey=line_key(index), ItemCode=code,
            ItemType=item["ItemType"], ItemCodeDesc=item["ItemCodeDesc"],
            WarehouseCode=header["WarehouseCode"], UnitCost=item["StandardUnitCost"],
        )  # fmt: skip
        set_values(DETAIL, line, {**values, "ItemCode": code}, set())
        quantity = to_decimal(values.get("QuantityOrdered", 0), "QuantityOrdered")
        if quantity <= 0:
            raise Refused(f"Line {index}: the quantity ordered must be greater than zero.")
        if not fetch(
            self.db, "SELECT 1 FROM IM_ItemWarehouse WHERE ItemCode = ? AND WarehouseCode = ?",
            code, line["WarehouseCode"],
        ):  # fmt: skip
            raise Refused(f"Item {code} is not stocked in warehouse {line['WarehouseCode']}.")
        cost = Decimal(str(line["UnitCost"]))
        if cost < 0:
            raise Refused(f"Line {index}: invalid unit cost.")
        line["ExtensionAmt"] = float(to_money(quantity * cost))
        return line
