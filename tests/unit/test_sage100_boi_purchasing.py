"""Purchase orders through the BOI backend, against the recording stand-in of Sage 100's COM
objects (tests/unit/test_sage100_boi_backend.py): the P/O call sequence, the look-up by the
sales order's reference first, and a refused line discarding the purchase order."""

import pytest

from agent.backend import EXISTED, Refused
from tests.unit.test_sage100_boi_backend import (
    SESSION_OPENING,
    FakeObject,
    FakeProvideX,
    boi_backend,
)

BUS, REF = "PO_PurchaseOrder_bus", "0000216-00-ALLENCO"
HEADER = {"APDivisionNo": "00", "VendorNo": "ALLENCO", "Comment": "Back-to-back for SO 0000216",
          "UDF_SO_REF": REF}  # fmt: skip
LINES = [{"ItemCode": "WIDGET-117", "QuantityOrdered": 8, "WarehouseCode": "000",
          "SalesOrderNo": "0000216"}]  # fmt: skip
PO_CONTEXT = [
    ("SY_Session", "nSetDate", "P/O", "20250701"),
    ("SY_Session", "nSetModule", "P/O"),
    ("SY_Session", "nLookupTask", "PO_PurchaseOrder_ui"),
    ("SY_Session", "nSetProgram", 77),
]


class PurchasingProvideX(FakeProvideX):
    """The stand-in, with lines on the purchase order object too."""

    def __init__(self) -> None:
        super().__init__()
        self.defaults["nGetNextPurchaseOrderNo"] = (1, "0001001")

    def NewObject(self, name: str, *session) -> FakeObject:  # COM names
        made = super().NewObject(name, *session)
        if name == BUS:
            made.oLines = FakeObject("oLines", self)
        return made


@pytest.fixture
def fake() -> PurchasingProvideX:
    return PurchasingProvideX()


@pytest.fixture
def backend(fake):
    yield from boi_backend(fake)


def test_a_purchase_order_is_looked_for_by_its_reference_then_written_vendor_first(backend, fake):
    order = backend.create_purchase_order(HEADER, LINES, match="UDF_SO_REF")
    assert fake.log == [
        *SESSION_OPENING,
        *PO_CONTEXT,
        ("ProvideX.Script", "NewObject", "PO_PurchaseOrder_svc", "SY_Session"),
        ("PO_PurchaseOrder_svc", "nGetResultSets", "PurchaseOrderNo$", "PurchaseOrderNo$", "",
         "", f'UDF_SO_REF$="{REF}"', "", ""),
        ("PO_PurchaseOrder_svc", "DropObject"),
        *PO_CONTEXT,
        ("ProvideX.Script", "NewObject", BUS, "SY_Session"),
        (BUS, "nGetNextPurchaseOrderNo", ""),
        (BUS, "nSetKeyValue", "PurchaseOrderNo$", "0001001"),
        (BUS, "nSetKey"),
        (BUS, "nSetValue", "APDivisionNo$", "00"),
        (BUS, "nSetValue", "VendorNo$", "ALLENCO"),
        (BUS, "nSetValue", "Comment$", "Back-to-back for SO 0000216"),
        (BUS, "nSetValue", "UDF_SO_REF$", REF),
        ("oLines", "nAddLine"),
        ("oLines", "nSetValue", "ItemCode$", "WIDGET-117"),
        ("oLines", "nSetValue", "QuantityOrdered", 8.0),
        ("oLines", "nSetValue", "WarehouseCode$", "000"),
        ("oLines", "nSetValue", "SalesOrderNo$", "0000216"),
        ("oLines", "nWrite"),
        (BUS, "nWrite"),
        (BUS, "DropObject"),
    ]  # fmt: skip
    assert order["PurchaseOrderNo"] == "0001001" and EXISTED not in order


def test_a_purchase_order_sage_has_for_the_reference_is_returned_and_nothing_written(backend, fake):
    fake.script[("PO_PurchaseOrder_svc", "nGetResultSets")] = (1, "0001001", "0001001")
    order = backend.create_purchase_order(HEADER, LINES, match="UDF_SO_REF")
    assert order == {"PurchaseOrderNo": "0001001", "lines": [], EXISTED: True}
    assert not fake.calls(BUS)


def test_a_refused_line_discards_the_purchase_order_with_sages_message(backend, fake):
    fake.script[("oLines", "nWrite")] = (0, "Item WIDGET-117 is not stocked in warehouse 000.")
    with pytest.raises(Refused, match="not stocked in warehouse 000"):
        backend.create_purchase_order(HEADER, LINES)
    assert fake.calls(BUS)[-2:] == [(BUS, "nClear"), (BUS, "DropObject")]
    assert (BUS, "nWrite") not in fake.log
