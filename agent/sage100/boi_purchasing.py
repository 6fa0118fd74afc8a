"""Purchase orders through BOI (`PO_PurchaseOrder_bus`, task PO_PurchaseOrder_ui, module P/O),
the half of `BOIBackend` that buys: a back-to-back purchase order for a sales order's short
lines, to the items' primary vendor.

The same sequence as a sales order: the next number (`nGetNextPurchaseOrderNo`, unconfirmed
name; `boi.NEXT_NUMBER`), `nSetKeyValue("PurchaseOrderNo$")` + `nSetKey()` (2: new), the
vendor first (it fills the vendor's defaults), the other header values, each line through
`oLines` (item first), then one `nWrite`. A conditional create asks `PO_PurchaseOrder_svc`
(unconfirmed name; `boi.SERVICE_CONTEXT`) for a purchase order whose column (UDF_SO_REF)
holds the value, in the same turn of the one BOI worker. It has NOT met a real Sage 100,
like the rest of the BOI backend.
"""

from typing import Any

from agent.backend import EXISTED, Record
from agent.sage100.boi_helpers import BOIHelpers

MODULE, TASK, BUS = "P/O", "PO_PurchaseOrder_ui", "PO_PurchaseOrder_bus"
SERVICE = "PO_PurchaseOrder_svc"
NUMBER = "PurchaseOrderNo"
KEY = "PurchaseOrderNo$"
VENDOR_FIRST = ("APDivisionNo", "VendorNo")


class PurchasingBOI(BOIHelpers):
    """Placed before `Sage100Backend` in `BOIBackend`'s bases; the helpers are BOIBackend's."""

    def create_purchase_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        def work() -> Record:
            if match:
                value = header.get(match)
                found = sorted(
                    {key.rstrip() for key, _ in self._holding(SERVICE, match, value, KEY, KEY)}
                )
                existing = self._one_found(found, "purchase orders", match, value)
                if existing:
                    return {NUMBER: existing, "lines": [], EXISTED: True}
            with self._bus(MODULE, TASK, BUS) as bus:
                return self._write(bus, header, lines)

        return self._run(work)

    def _write(self, bus: Any, header: Record, lines: list[Record]) -> Record:
        values = dict(header)
        number = str(values.pop(NUMBER, "") or self._next_number(bus, NUMBER))
        self._new_document(bus, NUMBER, number, "Purchase order")
        vendor = {k: values.pop(k) for k in VENDOR_FIRST if k in values}
        self._set_values(bus, vendor, bus)
        self._set_values(bus, values, bus)
        written = self._add_lines(bus, lines)
        self._check(bus, bus.nWrite(), bus)
        return self._reply({NUMBER: number, **vendor, **values, "lines": written})
