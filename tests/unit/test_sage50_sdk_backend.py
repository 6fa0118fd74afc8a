"""The Sage 50 SDK backend against a recording stand-in of `Sage.Peachtree.API` (.NET cannot
run here): the documented call order, refusals that write nothing, .NET exceptions mapped by
type name, the one-time approval, conditional creates and sessions reopened after a failure."""

from datetime import date
from decimal import Decimal
from itertools import count
from types import SimpleNamespace

import pytest

from agent.backend import BackendUnavailable, RecordInUse, Refused, SeveralMatches
from agent.sage50.sdk import Sdk, SdkBackend

COMPANY_PATH = r"C:\Sage\Peachtree\Company\CEDARRID"
APPROVAL = (
    "An admin must approve Clarity Connect in Sage 50 once: open the company as an admin and "
    "allow access when asked (AuthorizationResult Pending)."
)


def net_exception(type_name: str, message: str, problems: list | None = None) -> Exception:
    """A .NET exception as pythonnet raises it: a class named as the .NET type, with the
    exception's Message (and a ValidationException's ProblemList)."""
    exception = type(type_name, (Exception,), {})(message)
    exception.Message, exception.ProblemList = message, problems
    return exception


def problem(message: str, property_name: str) -> SimpleNamespace:
    return SimpleNamespace(Message=message, PropertyName=property_name)


class Collection(list):
    @property
    def Count(self) -> int:  # .NET name
        return len(self)


class NetObject:
    """A .NET object: each property set is logged as (object, "=", property, value)."""

    def __init__(self, fake: "FakeSdk", name: str, **values) -> None:
        object.__setattr__(self, "_fake", fake)
        object.__setattr__(self, "_name", name)
        for prop, value in values.items():
            object.__setattr__(self, prop, value)

    def __setattr__(self, prop: str, value) -> None:
        self._fake.log.append((self._name, "=", prop, value))
        object.__setattr__(self, prop, value)

    def _call(self, method: str, *args) -> None:
        self._fake.call(self._name, method, *args)


class Entity(NetObject):
    """A Customer, SalesInvoice, SalesOrder, InventoryItem or Account."""

    def __init__(self, fake: "FakeSdk", entity: str, **values) -> None:
        def address(owner: str) -> NetObject:
            return NetObject(fake, owner, Address=NetObject(fake, f"{owner}.Address"))

        defaults = dict(
            Key=SimpleNamespace(Guid=f"{entity}-{next(fake.keys):04d}"),  # an EntityReference
            IsInactive=False,
            BillToContact=address(f"{entity}.BillToContact"),
            ShipToAddress=address(f"{entity}.ShipToAddress"),
            PhoneNumbers=Collection(NetObject(fake, f"{entity}.Phone") for _ in "123"),
            CustomFieldValues=Collection(
                NetObject(fake, f"{entity}.CustomField", Value="") for _ in "12345"
            ),
            Terms=terms(fake, "DueInNumberOfDays", 30, False, 0, Decimal(0), Decimal(0), False),
            FreightAmount=Decimal(0),
            Amount=Decimal(0),
        )
        super().__init__(fake, entity, **{**defaults, **values})
        object.__setattr__(self, "lines", [])

    def _add(self, method: str, entity: str) -> NetObject:
        if self._name != entity:
            raise AttributeError(f"{self._name} has no {method}")
        self._call(method)
        line = NetObject(self._fake, f"{entity}Line", Amount=Decimal(0))
        self.lines.append(line)
        return line

    def AddSalesLine(self) -> NetObject:  # .NET names from here on
        return self._add("AddSalesLine", "SalesInvoice")

    def AddLine(self) -> NetObject:
        return self._add("AddLine", "SalesOrder")

    def Save(self) -> None:
        self._call("Save")
        total = sum((line.Amount for line in self.lines), self.FreightAmount)
        object.__setattr__(self, "Amount", total)
        if self not in self._fake.records[self._name]:
            self._fake.records[self._name].append(self)


class EntityList(NetObject):
    def __init__(self, fake: "FakeSdk", entity: str) -> None:
        super().__init__(fake, f"{entity}List", _entity=entity, _loaded=[])

    def Load(self, modifiers=None) -> None:
        records = self._fake.records[self._entity]
        if modifiers is None:
            self._call("Load")
        else:
            prop, value = modifiers.Filters
            self._call("Load", prop, value)
            name = prop.split(".", 1)[1]
            records = [r for r in records if str(getattr(r, name)) == value]
        self._loaded[:] = records

    def __iter__(self):
        return iter(self._loaded)


def terms(fake: "FakeSdk", *values) -> NetObject:
    """PaymentTerms, as PaymentTermsFactory.Create takes them."""
    names = ("PaymentTimeFrame", "DueDays", "UseDiscounts", "DiscountDays", "DiscountPercent",
             "CreditLimit", "ChargeInterest")  # fmt: skip
    return NetObject(fake, "Terms", **dict(zip(names, values, strict=True)))


class Factory(NetObject):
    def List(self) -> EntityList:  # .NET names
        self._call("List")
        return EntityList(self._fake, self._name.removesuffix("Factory"))

    def Create(self, *args) -> NetObject:
        self._call("Create", *args)
        if self._name == "PaymentTermsFactory":
            return terms(self._fake, *args)
        return Entity(self._fake, self._name.removesuffix("Factory"))


class Factories:
    def __init__(self, fake: "FakeSdk") -> None:
        self._fake = fake

    def __getattr__(self, factory: str) -> Factory:
        return Factory(self._fake, factory)


FILTER_EXPRESSION = SimpleNamespace(Property=str, Constant=str, Equal=lambda *pair: pair)
LOAD_MODIFIERS = SimpleNamespace(Create=lambda: SimpleNamespace(Filters=None))


class FakeSdk:
    """Sage.Peachtree.API and its company. `faults` maps (object, method) to an exception
    to raise; `access` and `requested` are what VerifyAccess and RequestAccess answer."""

    def __init__(self) -> None:
        self.log: list[tuple] = []
        self.faults: dict[tuple, Exception] = {}
        self.access = self.requested = "Granted"
        self.sessions = 0
        self.keys = count(1)
        self.records: dict[str, list] = {name: [] for name in (
            "Customer", "SalesInvoice", "SalesOrder", "InventoryItem", "Account")}  # fmt: skip
        self.company_id = NetObject(self, "CompanyIdentifier", CompanyName="Cedar Ridge Supply")
        self.company = NetObject(self, "Company", Factories=Factories(self))
        accounts = {code: self.add("Account", ID=code) for code in ("40000", "40200")}
        self.add("Account", ID="49000", IsInactive=True)
        self.add("Customer", ID="ACME", Name="Acme Hardware")
        self.add("Customer", ID="OLDCO", Name="Old Co", IsInactive=True)
        self.add("InventoryItem", ID="WIDGET-100", SalesAccountReference=accounts["40000"].Key)
        self.add("SalesInvoice", ReferenceNumber="10050", InternalNote="SAL-1005")

    def add(self, entity: str, **values) -> Entity:
        record = Entity(self, entity, **values)
        self.records[entity].append(record)
        return record

    def call(self, obj: str, method: str, *args) -> None:
        self.log.append((obj, method, *args))
        if (obj, method) in self.faults:
            raise self.faults.pop((obj, method))

    def calls(self) -> list[tuple]:
        return [entry for entry in self.log if entry[1] != "="]

    def sets(self, obj: str) -> dict:
        return {entry[2]: entry[3] for entry in self.log if entry[0] == obj and entry[1] == "="}

    def sdk(self) -> Sdk:
        return Sdk(self.new_session, FILTER_EXPRESSION, LOAD_MODIFIERS, lambda d: d, Decimal,
                   lambda d: d)  # fmt: skip

    def new_session(self) -> "Session":
        self.sessions += 1
        self.log.append(("PeachtreeSession", "new"))
        return Session(self)


class Session:
    def __init__(self, fake: FakeSdk) -> None:
        self.fake = fake

    def __getattr__(self, method: str):  # Begin, End, Close, Dispose and the rest
        def call(*args):
            fake = self.fake
            fake.call("PeachtreeSession", method, *(getattr(a, "_name", a) for a in args))
            return {"LookupCompanyIdentifier": fake.company_id, "CompanyList": [fake.company_id],
                    "VerifyAccess": fake.access, "RequestAccess": fake.requested,
                    "Open": fake.company}.get(method)  # fmt: skip

        return call


@pytest.fixture
def fake() -> FakeSdk:
    return FakeSdk()


@pytest.fixture
def backend(fake):
    sage = SdkBackend(COMPANY_PATH, "SAGESRV", "app-key", fake.sdk, lambda: date(2025, 7, 1))
    yield sage
    sage.close()


OPENING = [
    ("PeachtreeSession", "new"),
    ("PeachtreeSession", "Begin", "app-key"),
    ("PeachtreeSession", "LookupCompanyIdentifier", "SAGESRV", COMPANY_PATH),
    ("PeachtreeSession", "VerifyAccess", "CompanyIdentifier"),
    ("PeachtreeSession", "Open", "CompanyIdentifier"),
]
CLOSING = [
    ("PeachtreeSession", "Close", "Company"),
    ("PeachtreeSession", "End"),
    ("PeachtreeSession", "Dispose"),
]
HEADER = {"CustomerID": "ACME", "Date": "2025-07-02", "CustomerPurchaseOrderNumber": "PO-7"}
LINES = [{"ItemID": "WIDGET-100", "Quantity": Decimal(2), "UnitPrice": Decimal("12.50")},
         {"AccountID": "40200", "Description": "Setup", "Quantity": Decimal(1),
          "UnitPrice": Decimal("40"), "Amount": Decimal("40.00")}]  # fmt: skip


def test_an_invoice_is_written_in_the_documented_order(backend, fake):
    invoice = backend.create_sales_invoice(HEADER, LINES)
    backend.close()
    assert fake.calls() == [
        *OPENING,
        ("CustomerFactory", "List"),
        ("CustomerList", "Load", "Customer.ID", "ACME"),
        ("InventoryItemFactory", "List"),
        ("InventoryItemList", "Load", "InventoryItem.ID", "WIDGET-100"),
        ("AccountFactory", "List"),
        ("AccountList", "Load", "Account.ID", "40200"),
        ("SalesInvoiceFactory", "List"),
        ("SalesInvoiceList", "Load"),
        ("SalesInvoiceFactory", "Create"),
        ("SalesInvoice", "AddSalesLine"),
        ("SalesInvoice", "AddSalesLine"),
        ("SalesInvoice", "Save"),
        *CLOSING,
    ]
    acme, widget = fake.records["Customer"][0], fake.records["InventoryItem"][0]
    header = fake.sets("SalesInvoice")
    assert header["CustomerReference"] == acme.Key
    assert header["Date"] == date(2025, 7, 2) and header["ReferenceNumber"] == "10051"
    first_line, second_line = fake.records["SalesInvoice"][-1].lines
    assert first_line.InventoryItemReference == widget.Key
    assert first_line.AccountReference == widget.SalesAccountReference  # the item's account
    assert (first_line.Quantity, first_line.Amount) == (Decimal(2), Decimal("25.00"))
    assert second_line.AccountReference == fake.records["Account"][1].Key
    assert invoice["ReferenceNumber"] == "10051" and invoice["MainAmount"] == Decimal("65.00")
    assert [line["Amount"] for line in invoice["lines"]] == [Decimal("25.00"), Decimal("40.00")]
    assert invoice["lines"][0]["ItemID"] == "WIDGET-100"


@pytest.mark.parametrize(
    ("header", "lines", "field", "message"),
    [
        ({"CustomerID": "NOPE"}, LINES, "CustomerID", "Customer ID 'NOPE' was not found."),
        ({"CustomerID": "OLDCO"}, LINES, "CustomerID", "Customer ID 'OLDCO' is inactive."),
        (HEADER, [{"ItemID": "NOPE", "Quantity": Decimal(1)}], "ItemID",
         "Line 1: item 'NOPE' was not found."),
        (HEADER, [LINES[0], {"AccountID": "49000", "Quantity": Decimal(1)}], "AccountID",
         "Line 2: GL account '49000' is inactive."),
        (HEADER, [{"ItemID": "WIDGET-100"}], "Quantity",
         "Line 1: Quantity must be a number more than 0."),
        (HEADER, [{**LINES[0], "Amount": Decimal("24.00")}], "Amount",
         "Line 1: Amount 24.00 is not Quantity times UnitPrice (25.00)."),
        ({**HEADER, "Colour": "red"}, LINES, "Colour",
         "Colour is not a value Clarity sets on a sales invoice in Sage 50."),
    ],
)  # fmt: skip
def test_a_refused_invoice_writes_nothing(backend, fake, header, lines, field, message):
    with pytest.raises(Refused) as refused:
        backend.create_sales_invoice(header, lines)
    assert (refused.value.message, refused.value.field) == (message, field)
    assert ("SalesInvoice", "Save") not in fake.calls()
    assert len(fake.records["SalesInvoice"]) == 1
    assert fake.sessions == 1  # a refusal keeps the company open


def test_a_record_in_use_is_retried_later_on_the_same_session(backend, fake):
    fake.faults[("SalesInvoice", "Save")] = net_exception(
        "RecordInUseException", "Customer ACME is in use."
    )
    with pytest.raises(RecordInUse, match="Customer ACME is in use"):
        backend.create_sales_invoice(HEADER, LINES)
    assert backend.create_sales_invoice(HEADER, LINES)["ReferenceNumber"] == "10051"
    assert fake.sessions == 1


def test_a_validation_exception_is_refused_naming_the_field(backend, fake):
    refused_for = problem("Reference number 10050 already exists.", "ReferenceNumber")
    fake.faults[("SalesInvoice", "Save")] = net_exception(
        "ValidationException", "Validation failed.", [refused_for]
    )
    with pytest.raises(Refused) as refused:
        backend.create_sales_invoice({**HEADER, "ReferenceNumber": "10050"}, LINES)
    assert refused.value.message == "Reference number 10050 already exists."
    assert refused.value.field == "ReferenceNumber"
    refused_for = problem("The customer is required.", "CustomerReference")  # the SDK's name
    fake.faults[("SalesInvoice", "Save")] = net_exception(
        "ValidationException", "Validation failed.", [refused_for]
    )
    with pytest.raises(Refused) as refused:
        backend.create_sales_invoice(HEADER, LINES)
    assert refused.value.field == "CustomerID"
    assert fake.sessions == 1


def test_an_application_not_yet_approved_gets_the_plain_message(backend, fake):
    fake.access = fake.requested = "Pending"
    with pytest.raises(BackendUnavailable) as unavailable:
        backend.health()
    assert str(unavailable.value) == APPROVAL
    assert fake.calls()[-4:] == [
        ("PeachtreeSession", "VerifyAccess", "CompanyIdentifier"),
        ("PeachtreeSession", "RequestAccess", "CompanyIdentifier"),
        ("PeachtreeSession", "End"),
        ("PeachtreeSession", "Dispose"),
    ]
    assert ("PeachtreeSession", "Open", "CompanyIdentifier") not in fake.calls()
    fake.access = "Granted"  # the admin allowed it in Sage 50
    health = backend.health()
    assert health == {"status": "ok", "backend": "sdk", "company": "Cedar Ridge Supply"}
    assert fake.sessions == 2


def test_an_invoice_for_a_deal_sage_already_has_is_returned_without_a_create(backend, fake):
    header = {**HEADER, "InternalNote": "SAL-1005"}
    invoice = backend.create_sales_invoice(header, LINES, "InternalNote")
    assert invoice == {"ReferenceNumber": "10050", "InternalNote": "SAL-1005",
                       "MainAmount": Decimal(0), "GUID": invoice["GUID"], "lines": [],
                       "_existed": True}  # fmt: skip
    assert ("SalesInvoiceList", "Load", "SalesInvoice.InternalNote", "SAL-1005") in fake.calls()
    assert ("SalesInvoiceFactory", "Create") not in fake.calls()


def test_a_new_deal_is_looked_for_then_written_and_found_the_second_time(backend, fake):
    header = {**HEADER, "InternalNote": "SAL-2001"}
    first = backend.create_sales_invoice(header, LINES, "InternalNote")
    second = backend.create_sales_invoice(header, LINES, "InternalNote")
    assert "_existed" not in first and second["_existed"] is True
    assert second["ReferenceNumber"] == first["ReferenceNumber"] == "10051"
    assert fake.calls().count(("SalesInvoiceFactory", "Create")) == 1
    fake.add("SalesInvoice", ReferenceNumber="10060", InternalNote="SAL-2001")
    with pytest.raises(SeveralMatches, match="2 sales invoices with InternalNote SAL-2001: "
                       "10051, 10060"):  # fmt: skip
        backend.create_sales_invoice(header, LINES, "InternalNote")


def test_after_an_unexpected_exception_the_next_call_opens_a_new_session(backend, fake):
    fake.faults[("SalesInvoice", "Save")] = net_exception(
        "COMException", "The RPC server is unavailable."
    )
    with pytest.raises(BackendUnavailable, match="COMException: The RPC server is unavailable"):
        backend.create_sales_invoice(HEADER, LINES)
    assert fake.calls()[-4:] == [("SalesInvoice", "Save"), *CLOSING]
    fake.log.clear()
    backend.create_sales_invoice(HEADER, LINES)
    assert fake.calls()[: len(OPENING)] == OPENING
    assert fake.sessions == 2


def test_a_sales_order_adds_lines_its_own_way_and_takes_no_due_date(backend, fake):
    order = backend.create_sales_order({**HEADER, "ShipToCity": "Dayton"}, LINES[:1])
    assert ("SalesOrder", "AddLine") in fake.calls()
    assert fake.sets("SalesOrder.ShipToAddress.Address")["City"] == "Dayton"
    assert order["ReferenceNumber"] == "1" and order["MainAmount"] == Decimal("25.00")
    with pytest.raises(Refused) as refused:
        backend.create_sales_order({**HEADER, "DateDue": "2025-08-01"}, LINES[:1])
    assert refused.value.field == "DateDue"


def test_a_new_customer_gets_its_id_from_its_name_and_its_address_on_the_bill_to(backend, fake):
    fake.add("Customer", ID="ORBITALP", Name="Orbital Pumps (old)")
    values = {"Customer_Bill_Name": "Orbital Pumps", "Contact": "Jane van Dyke",
              "AddressLine1": "1 Main St", "City": "Dayton", "Phone_Number": "555-0100",
              "CustomField5": "org-7", "Terms_CreditLimit": Decimal("5000.00"),
              "CustomerIsInactive": 0}  # fmt: skip
    customer = backend.create_customer(values, "CustomField5")
    assert customer["CustomerID"] == "ORBITA01" and "_existed" not in customer
    assert fake.sets("Customer")["ID"] == "ORBITA01"
    assert fake.sets("Customer")["IsInactive"] is False
    assert fake.sets("Customer.BillToContact") == {"FirstName": "Jane", "LastName": "van Dyke"}
    assert fake.sets("Customer.BillToContact.Address") == {"Address1": "1 Main St",
                                                           "City": "Dayton"}  # fmt: skip
    saved = fake.records["Customer"][-1]
    assert saved.PhoneNumbers[0].Number == "555-0100"
    assert saved.CustomFieldValues[4].Value == "org-7"
    assert (saved.Terms.DueDays, saved.Terms.CreditLimit) == (30, Decimal("5000.00"))
    assert ("PaymentTermsFactory", "Create", "DueInNumberOfDays", 30, False, 0, Decimal(0),
            Decimal("5000.00"), False) in fake.calls()  # the rest of the terms kept  # fmt: skip
    again = backend.create_customer(values, "CustomField5")
    assert again["_existed"] is True and again["CustomerID"] == "ORBITA01"
    assert fake.calls().count(("CustomerFactory", "Create")) == 1


def test_updating_a_customer_not_on_file_says_so_and_writes_nothing(backend, fake):
    with pytest.raises(Refused) as refused:
        backend.update_customer("NOPE", {"eMail_Address": "a@example.com"})
    assert (refused.value.message, refused.value.field) == (
        "Customer ID 'NOPE' was not found.", "CustomerID")  # fmt: skip
    assert ("Customer", "Save") not in fake.calls()
    backend.update_customer("ACME", {"eMail_Address": "ap@acme.example"})
    assert fake.records["Customer"][0].Email == "ap@acme.example"
    assert fake.calls()[-1] == ("Customer", "Save")


def test_a_company_named_rather_than_by_path_is_found_in_the_company_list(fake):
    sage = SdkBackend("cedar ridge supply", "SAGESRV", "app-key", fake.sdk)
    try:
        assert sage.health()["company"] == "Cedar Ridge Supply"
    finally:
        sage.close()
    assert ("PeachtreeSession", "CompanyList") in fake.calls()


def test_an_invoice_names_its_sales_rep_and_an_unknown_one_is_refused(backend, fake):
    fake.records["Employee"] = []
    rep = fake.add("Employee", ID="PRAMAN")
    backend.create_sales_invoice({**HEADER, "SalesRepID": "PRAMAN"}, LINES)
    assert fake.sets("SalesInvoice")["SalesRepresentativeReference"] == rep.Key
    with pytest.raises(Refused) as refused:
        backend.create_sales_invoice({**HEADER, "SalesRepID": "NOBODY"}, LINES)
    assert refused.value.message == "Sales rep 'NOBODY' was not found."
    assert refused.value.field == "SalesRepID"


def test_an_empty_sales_rep_leaves_the_customers_own(backend, fake):
    backend.create_sales_invoice({**HEADER, "SalesRepID": ""}, LINES)
    assert "SalesRepresentativeReference" not in fake.sets("SalesInvoice")
