"""Customers and their contacts through BOI (`AR_Customer_bus`, `AR_CustomerContact_bus`, task
AR_Customer_ui, module A/R), the half of `BOIBackend` that keeps the customer file.

A new customer takes the number asked for, else the first free code made from its name
(`customer_code`, up to CUSTOMER_NO_TRIES). A conditional create (`match`) first asks
`AR_Customer_svc` for a customer whose column holds the value, in the same turn of the one
BOI worker. A contact is created when the customer lacks its code, else updated, so a retry
writes the same row.
"""

from agent.backend import EXISTED, Record, Refused, customer_code
from agent.sage100.boi_helpers import BOIHelpers

CUSTOMER_NO_TRIES = 100


class CustomersBOI(BOIHelpers):
    """Placed before `Sage100Backend` in `BOIBackend`'s bases; the helpers are BOIBackend's."""

    def create_customer(self, values: Record, match: str = "") -> Record:
        def work() -> Record:
            if match:
                keys = "ARDivisionNo$+CustomerNo$"  # the key: division (2) and number
                found = self._holding("AR_Customer_svc", match, values.get(match),
                                      "CustomerName$", keys)  # fmt: skip
                if found:
                    key, name = found[0]
                    return {"ARDivisionNo": key[:2], "CustomerNo": key[2:].rstrip(),
                            "CustomerName": name, EXISTED: True}  # fmt: skip
            values_left = dict(values)
            division = str(values_left.pop("ARDivisionNo", ""))
            wanted = str(values_left.pop("CustomerNo", "") or "").upper()
            tries = [wanted] if wanted else [
                customer_code(str(values.get("CustomerName", "")), attempt)
                for attempt in range(CUSTOMER_NO_TRIES)
            ]  # fmt: skip
            with self._bus("A/R", "AR_Customer_ui", "AR_Customer_bus") as bus:
                for customer_no in tries:
                    key = {"ARDivisionNo": division, "CustomerNo": customer_no}
                    if self._set_key(bus, key) == 2:  # 2: a new record
                        break
                    bus.nClear()
                else:
                    raise Refused(f"Customer {division}-{tries[-1]} already exists.")
                self._set_values(bus, values_left, bus)
                self._check(bus, bus.nWrite(), bus)
                return self._reply({**key, **values_left})

        return self._run(work)

    def update_customer(self, division: str, customer_no: str, values: Record) -> Record:
        def work() -> Record:
            key = {"ARDivisionNo": division, "CustomerNo": customer_no}
            with self._bus("A/R", "AR_Customer_ui", "AR_Customer_bus") as bus:
                if self._set_key(bus, key) != 1:  # not an existing record
                    bus.nClear()
                    raise Refused(f"Customer {division}-{customer_no} is not on file.")
                self._set_values(bus, values, bus)
                self._check(bus, bus.nWrite(), bus)
                return self._reply({**key, **values})

        return self._run(work)

    def save_customer_contact(self, division: str, customer_no: str, values: Record) -> Record:
        """AR_CustomerContact_bus: the contact `ContactCode` names, created when the
        customer lacks it (nSetKey 2), else updated, so a retry writes the same row."""

        def work() -> Record:
            values_left = dict(values)
            code = str(values_left.pop("ContactCode", "") or "").upper()
            key = {"ARDivisionNo": division, "CustomerNo": customer_no, "ContactCode": code}
            with self._bus("A/R", "AR_Customer_ui", "AR_CustomerContact_bus") as bus:
                self._set_key(bus, key)
                self._set_values(bus, values_left, bus)
                self._check(bus, bus.nWrite(), bus)
                return self._reply({**key, **values_left})

        return self._run(work)
