"""The BOI backend against a recording stand-in of Sage 100's COM objects (COM cannot run
here): the exact call sequence, result 0 handled, objects released, sessions recreated."""

from collections.abc import Iterator
from datetime import date

import pytest

from agent.backend import BackendUnavailable, Refused, SeveralMatches
from agent.sage100.boi import BOIBackend


class ComError(Exception):
    """What pywin32 raises when a COM call fails (pywintypes.com_error)."""


class FakeObject:
    """One COM object: records every call as (object, method, *args) in the shared log."""

    def __init__(self, name: str, fake: "FakeProvideX") -> None:
        self._name, self._fake = name, fake
        self.sLastErrorMsg = ""
        if name in ("SO_SalesOrder_bus", "SO_Invoice_bus"):
            self.oLines = FakeObject("oLines", fake)

    def __getattr__(self, method: str):
        def call(*args):
            fake = self._fake
            fake.log.append((self._name, method, *args))
            scripted = fake.script.get((self._name, method, *args), fake.script.get(
                (self._name, method)))  # fmt: skip
            if isinstance(scripted, list):
                scripted = scripted.pop(0)
            if isinstance(scripted, Exception):
                raise scripted
            if isinstance(scripted, tuple) and scripted[0] in (0, -1):
                self.sLastErrorMsg = scripted[1]
                return scripted[0]
            if scripted is not None:
                return scripted
            return fake.defaults.get(method, 1)

        return call


class FakeProvideX:
    """Stands in for `ProvideX.Script`; `script` maps (object, method[, args]) to a result,
    (0 or -1, "message") for a refusal or warning, an exception to raise, or a list of
    these to give in turn."""

    def __init__(self) -> None:
        self.log: list[tuple] = []
        self.script: dict[tuple, object] = {}
        self.defaults = {"nSetKey": 2, "nLookupTask": 77, "nGetNextSalesOrderNo": (1, "0000123"),
                         "nGetNextInvoiceNo": (1, "0100070"),
                         "nGetValue": (1, 12.5)}  # fmt: skip
        self.scripts_made = 0

    def factory(self) -> "FakeProvideX":
        self.scripts_made += 1
        return self

    def Init(self, home: str) -> None:  # COM names
        self.log.append(("ProvideX.Script", "Init", home))

    def NewObject(self, name: str, *session) -> FakeObject:  # COM names
        self.log.append(("ProvideX.Script", "NewObject", name, *(s._name for s in session)))
        return FakeObject(name, self)

    def calls(self, *objects: str) -> list[tuple]:
        return [entry for entry in self.log if entry[0] in objects]


@pytest.fixture
def fake() -> FakeProvideX:
    return FakeProvideX()


def boi_backend(fake: FakeProvideX) -> Iterator[BOIBackend]:
    """The backend on the stand-in, its business date fixed, closed after the test."""
    boi = BOIBackend(
        r"C:\Sage\MAS90\Home", "abc", "bridge", "secret", fake.factory, lambda: date(2025, 7, 1)
    )
    yield boi
    boi.close()


@pytest.fixture
def backend(fake):
    yield from boi_backend(fake)


SESSION_OPENING = [
    ("ProvideX.Script", "Init", r"C:\Sage\MAS90\Home"),
    ("ProvideX.Script", "NewObject", "SY_Session"),
    ("SY_Session", "nSetUser", "bridge", "secret"),
    ("SY_Session", "nSetCompany", "ABC"),
]
SO_CONTEXT = [
    ("SY_Session", "nSetDate", "S/O", "20250701"),
    ("SY_Session", "nSetModule", "S/O"),
    ("SY_Session", "nLookupTask", "SO_SalesOrder_ui"),
    ("SY_Session", "nSetProgram", 77),
    ("ProvideX.Script", "NewObject", "SO_SalesOrder_bus", "SY_Session"),
]
HEADER = {"ARDivisionNo": "00", "CustomerNo": "ACME", "CustomerPONo": "PO-1",
          "ShipExpireDate": "2025-07-15"}  # fmt: skip
LINES = [{"ItemCode": "WIDGET-100", "QuantityOrdered": 2, "WarehouseCode": "000"}]


def test_a_sales_order_is_written_in_the_sequence_the_reference_gives(backend, fake):
    order = backend.create_sales_order(HEADER, LINES)
    assert fake.log == [
        *SESSION_OPENING,
        *SO_CONTEXT,
        ("SO_SalesOrder_bus", "nGetNextSalesOrderNo", ""),
        ("SO_SalesOrder_bus", "nSetKeyValue", "SalesOrderNo$", "0000123"),
        ("SO_SalesOrder_bus", "nSetKey"),
        ("SO_SalesOrder_bus", "nSetValue", "ARDivisionNo$", "00"),
        ("SO_SalesOrder_bus", "nSetValue", "CustomerNo$", "ACME"),
        ("SO_SalesOrder_bus", "nSetValue", "CustomerPONo$", "PO-1"),
        ("SO_SalesOrder_bus", "nSetValue", "ShipExpireDate$", "20250715"),
        ("oLines", "nAddLine"),
        ("oLines", "nSetValue", "ItemCode$", "WIDGET-100"),
        ("oLines", "nSetValue", "QuantityOrdered", 2.0),
        ("oLines", "nSetValue", "WarehouseCode$", "000"),
        ("oLines", "nWrite"),
        *[("SO_SalesOrder_bus", "nGetValue", name, 0)
          for name in ("TaxableAmt", "NonTaxableAmt", "SalesTaxAmt", "FreightAmt",
                       "DiscountAmt")],
        ("SO_SalesOrder_bus", "nWrite"),
        ("SO_SalesOrder_bus", "DropObject"),
    ]  # fmt: skip
    assert order["SalesOrderNo"] == "0000123" and order["TaxableAmt"] == 12.5
    assert order["lines"][0]["ItemCode"] == "WIDGET-100"


def test_the_session_is_kept_and_each_write_gets_its_task_context(backend, fake):
    assert backend.next_sales_order_number() == "0000123"
    fake.defaults["nSetKey"] = 1  # an existing record
    fake.log.clear()
    backend.update_customer("00", "ACME", {"CreditLimit": 5000, "TelephoneNo": "555"})
    assert fake.log == [
        ("SY_Session", "nSetDate", "A/R", "20250701"),
        ("SY_Session", "nSetModule", "A/R"),
        ("SY_Session", "nLookupTask", "AR_Customer_ui"),
        ("SY_Session", "nSetProgram", 77),
        ("ProvideX.Script", "NewObject", "AR_Customer_bus", "SY_Session"),
        ("AR_Customer_bus", "nSetKeyValue", "ARDivisionNo$", "00"),
        ("AR_Customer_bus", "nSetKeyValue", "CustomerNo$", "ACME"),
        ("AR_Customer_bus", "nSetKey"),
        ("AR_Customer_bus", "nSetValue", "CreditLimit", 5000.0),
        ("AR_Customer_bus", "nSetValue", "TelephoneNo$", "555"),
        ("AR_Customer_bus", "nWrite"),
        ("AR_Customer_bus", "DropObject"),
    ]
    assert fake.scripts_made == 1


def test_updating_a_customer_not_on_file_says_so_and_writes_nothing(backend, fake):
    with pytest.raises(Refused, match="Customer 00-NOPE is not on file"):
        backend.update_customer("00", "NOPE", {"TelephoneNo": "555"})
    assert ("AR_Customer_bus", "nWrite") not in fake.log
    assert fake.log[-2:] == [("AR_Customer_bus", "nClear"), ("AR_Customer_bus", "DropObject")]


def test_a_refused_line_raises_sages_message_discards_the_order_and_releases_it(backend, fake):
    fake.script[("oLines", "nSetValue", "ItemCode$", "NOPE")] = (
        0, "The item code NOPE is not on file.")  # fmt: skip
    with pytest.raises(Refused) as caught:
        backend.create_sales_order(HEADER, [{"ItemCode": "NOPE", "QuantityOrdered": 1}])
    assert caught.value.message == "The item code NOPE is not on file."
    assert ("SO_SalesOrder_bus", "nWrite") not in fake.log
    assert ("oLines", "nWrite") not in fake.log
    assert fake.log[-2:] == [("SO_SalesOrder_bus", "nClear"), ("SO_SalesOrder_bus", "DropObject")]
    backend.create_sales_order(HEADER, LINES)  # the session is still good
    assert fake.scripts_made == 1


def test_a_warning_goes_on_and_is_reported(backend, fake):
    fake.script[("SO_SalesOrder_bus", "nWrite")] = (-1, "Customer is over the credit limit.")
    order = backend.create_sales_order(HEADER, LINES)
    assert order["_warnings"] == ["Customer is over the credit limit."]
    assert fake.log[-1] == ("SO_SalesOrder_bus", "DropObject")


def test_a_com_error_releases_the_object_and_the_next_call_opens_a_new_session(backend, fake):
    fake.script[("SO_SalesOrder_bus", "nWrite")] = ComError("RPC server is unavailable")
    with pytest.raises(BackendUnavailable, match="RPC server is unavailable"):
        backend.create_sales_order(HEADER, LINES)
    assert fake.log[-3:] == [
        ("SO_SalesOrder_bus", "DropObject"),
        ("SY_Session", "nCleanup"),
        ("SY_Session", "DropObject"),
    ]
    del fake.script[("SO_SalesOrder_bus", "nWrite")]
    fake.log.clear()
    backend.create_sales_order(HEADER, LINES)
    assert fake.log[: len(SESSION_OPENING)] == SESSION_OPENING
    assert fake.scripts_made == 2


def test_a_refused_logon_is_unavailable_with_sages_message(backend, fake):
    fake.script[("SY_Session", "nSetUser")] = (0, "Invalid password.")
    with pytest.raises(BackendUnavailable, match="Invalid password"):
        backend.health()
    del fake.script[("SY_Session", "nSetUser")]
    assert backend.health() == {"status": "ok", "backend": "boi", "company": "ABC"}


def test_a_new_customer_gets_a_free_number_from_its_name(backend, fake):
    fake.script[("AR_Customer_bus", "nSetKey")] = [1, 2]  # ORBITALP exists; ORBITA01 is free
    customer = backend.create_customer({"ARDivisionNo": "00", "CustomerName": "Orbital Pumps"})
    assert customer["CustomerNo"] == "ORBITA01"
    assert fake.calls("AR_Customer_bus")[:7] == [
        ("AR_Customer_bus", "nSetKeyValue", "ARDivisionNo$", "00"),
        ("AR_Customer_bus", "nSetKeyValue", "CustomerNo$", "ORBITALP"),
        ("AR_Customer_bus", "nSetKey"),
        ("AR_Customer_bus", "nClear"),
        ("AR_Customer_bus", "nSetKeyValue", "ARDivisionNo$", "00"),
        ("AR_Customer_bus", "nSetKeyValue", "CustomerNo$", "ORBITA01"),
        ("AR_Customer_bus", "nSetKey"),
    ]
    assert ("AR_Customer_bus", "nSetValue", "CustomerName$", "Orbital Pumps") in fake.log


def test_writes_it_cannot_do_yet_are_refused_plainly(backend, fake):
    with pytest.raises(Refused, match="A/R Cash Receipts Entry"):
        backend.post_cash_receipt({"InvoiceNo": "0100006"})
    with pytest.raises(Refused, match="I/M Transaction Entry"):
        backend.set_stock("WIDGET-100", "000", 5)
    assert fake.log == []


SEP = chr(138)
DEAL_FILTER = 'UDF_DEAL_ID$="SAL-1005" AND OrderStatus$<>"X" AND OrderStatus$<>"Z"'


def result_sets(service: str) -> tuple:
    return (service, "nGetResultSets", "SalesOrderNo$", "SalesOrderNo$", "", "", DEAL_FILTER,
            "", "")  # fmt: skip


def test_an_order_for_a_deal_sage_already_has_is_returned_and_nothing_is_written(backend, fake):
    fake.script[result_sets("SO_SalesOrderHistoryInquiry_svc")] = (
        1,
        f"0000042{SEP}",
        f"0000042{SEP}",
    )
    order = backend.create_sales_order({**HEADER, "UDF_DEAL_ID": "SAL-1005"}, LINES, "UDF_DEAL_ID")
    assert order == {"SalesOrderNo": "0000042", "lines": [], "_existed": True}
    assert result_sets("SO_SalesOrder_svc") in fake.log
    assert not fake.calls("SO_SalesOrder_bus")
    assert ("SO_SalesOrderHistoryInquiry_svc", "DropObject") in fake.log


def test_an_order_for_a_new_deal_is_looked_for_then_written(backend, fake):
    order = backend.create_sales_order({**HEADER, "UDF_DEAL_ID": "SAL-1005"}, LINES, "UDF_DEAL_ID")
    assert order["SalesOrderNo"] == "0000123" and "_existed" not in order
    looked = [entry for entry in fake.log if entry[1] == "nGetResultSets"]
    services = ("SO_SalesOrder_svc", "SO_SalesOrderHistoryInquiry_svc")
    assert looked == [result_sets(name) for name in services]
    assert fake.log[-2:] == [("SO_SalesOrder_bus", "nWrite"), ("SO_SalesOrder_bus", "DropObject")]


def test_an_open_order_sage_also_copied_to_history_counts_once(backend, fake):
    for service in ("SO_SalesOrder_svc", "SO_SalesOrderHistoryInquiry_svc"):
        fake.script[result_sets(service)] = (1, "", f"0000042{SEP}")
    order = backend.create_sales_order({**HEADER, "UDF_DEAL_ID": "SAL-1005"}, LINES, "UDF_DEAL_ID")
    assert order == {"SalesOrderNo": "0000042", "lines": [], "_existed": True}
    assert not fake.calls("SO_SalesOrder_bus")


def test_several_orders_for_one_deal_are_refused_with_their_numbers(backend, fake):
    fake.script[result_sets("SO_SalesOrder_svc")] = (1, "", f"0000042{SEP}0000043{SEP}")
    with pytest.raises(
        SeveralMatches, match="2 sales orders with UDF_DEAL_ID SAL-1005: 0000042, 0000043"
    ):
        backend.create_sales_order({**HEADER, "UDF_DEAL_ID": "SAL-1005"}, LINES, "UDF_DEAL_ID")
    assert not fake.calls("SO_SalesOrder_bus")


def test_a_customer_made_for_the_crm_record_is_returned_by_its_key(backend, fake):
    fake.script[("AR_Customer_svc", "nGetResultSets")] = (
        1,
        f"Orbital Pumps{SEP}",
        f"00ORBITALP{SEP}",
    )
    values = {"ARDivisionNo": "00", "CustomerName": "Orbital Pumps", "UDF_CRM_ID": 'org "7"'}
    customer = backend.create_customer(values, "UDF_CRM_ID")
    assert customer == {"ARDivisionNo": "00", "CustomerNo": "ORBITALP",
                        "CustomerName": "Orbital Pumps", "_existed": True}  # fmt: skip
    [lookup] = fake.calls("AR_Customer_svc")[:1]
    assert lookup[6] == 'UDF_CRM_ID$="org ""7"""'
    assert not fake.calls("AR_Customer_bus")


# ---------------------------------------------------------------- S/O invoices

INVOICE_HEADER = {"ARDivisionNo": "00", "CustomerNo": "ACME", "InvoiceDate": "2025-07-01",
                  "UDF_DEAL_ID": "SRV-2023"}  # fmt: skip
INVOICE_LINES = [{"ItemCode": "SERV-INSTALL", "QuantityOrdered": 5, "UnitPrice": 450}]
INVOICE_FILTER = 'UDF_DEAL_ID$="SRV-2023"'
INVOICE_LOOKUPS = [
    ("SO_Invoice_svc", "nGetResultSets", "InvoiceNo$", "InvoiceNo$", "", "", INVOICE_FILTER,
     "", ""),
    ("AR_InvoiceHistoryInquiry_svc", "nGetResultSets", "InvoiceNo$",
     "InvoiceNo$+HeaderSeqNo$", "", "", INVOICE_FILTER, "", ""),
]  # fmt: skip


def test_an_invoice_is_looked_for_then_written_on_so_invoice_bus_as_shipped(backend, fake):
    invoice = backend.create_invoice(INVOICE_HEADER, INVOICE_LINES, "UDF_DEAL_ID")
    assert [entry for entry in fake.log if entry[1] == "nGetResultSets"] == INVOICE_LOOKUPS
    task = ("SY_Session", "nLookupTask", "SO_Invoice_ui")  # the look-up's, then the write's
    start = len(fake.log) - 1 - fake.log[::-1].index(task)
    assert fake.log[start + 1 :] == [
        ("SY_Session", "nSetProgram", 77),
        ("ProvideX.Script", "NewObject", "SO_Invoice_bus", "SY_Session"),
        ("SO_Invoice_bus", "nGetNextInvoiceNo", ""),
        ("SO_Invoice_bus", "nSetKeyValue", "InvoiceNo$", "0100070"),
        ("SO_Invoice_bus", "nSetKey"),
        ("SO_Invoice_bus", "nSetValue", "ARDivisionNo$", "00"),
        ("SO_Invoice_bus", "nSetValue", "CustomerNo$", "ACME"),
        ("SO_Invoice_bus", "nSetValue", "InvoiceType$", "IN"),
        ("SO_Invoice_bus", "nSetValue", "InvoiceDate$", "20250701"),
        ("SO_Invoice_bus", "nSetValue", "UDF_DEAL_ID$", "SRV-2023"),
        ("oLines", "nAddLine"),
        ("oLines", "nSetValue", "ItemCode$", "SERV-INSTALL"),
        ("oLines", "nSetValue", "QuantityOrdered", 5.0),
        ("oLines", "nSetValue", "UnitPrice", 450.0),
        ("oLines", "nSetValue", "QuantityShipped", 5.0),
        ("oLines", "nWrite"),
        *[("SO_Invoice_bus", "nGetValue", name, 0)
          for name in ("TaxableSalesAmt", "NonTaxableSalesAmt", "SalesTaxAmt", "FreightAmt",
                       "DiscountAmt")],
        ("SO_Invoice_bus", "nWrite"),
        ("SO_Invoice_bus", "DropObject"),
    ]  # fmt: skip
    assert invoice["InvoiceNo"] == "0100070" and "_existed" not in invoice
    assert invoice["lines"][0]["QuantityShipped"] == 5


def test_an_invoice_sage_posted_for_the_deal_is_returned_and_nothing_is_written(backend, fake):
    fake.script[INVOICE_LOOKUPS[1]] = (1, f"0100042{SEP}", f"0100042000000{SEP}")
    invoice = backend.create_invoice(INVOICE_HEADER, INVOICE_LINES, "UDF_DEAL_ID")
    assert invoice == {"InvoiceNo": "0100042", "lines": [], "_existed": True}
    assert not fake.calls("SO_Invoice_bus")
    assert ("AR_InvoiceHistoryInquiry_svc", "DropObject") in fake.log


def test_a_refused_invoice_line_discards_the_invoice_with_sages_message(backend, fake):
    fake.script[("oLines", "nSetValue", "ItemCode$", "SERV-NOPE")] = (
        0,
        "SERV-NOPE is not on file.",
    )
    with pytest.raises(Refused, match=r"SERV-NOPE is not on file\."):
        backend.create_invoice(INVOICE_HEADER, [{"ItemCode": "SERV-NOPE", "QuantityOrdered": 1}])
    assert ("SO_Invoice_bus", "nClear") in fake.log
    assert ("SO_Invoice_bus", "nWrite") not in fake.log
    assert fake.log[-1] == ("SO_Invoice_bus", "DropObject")
