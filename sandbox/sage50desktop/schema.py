"""The Sage 50 US company tables the sandbox keeps, with the names Sage 50's ODBC layer
(Pervasive/Actian Zen) shows, as agreed with the connector (DESIGN.md §7, reference §1.2).

Declared types are the ones the SQLite3 ODBC driver reports back in its catalog: INTEGER,
SMALLINT, VARCHAR(n) (size in `column_size`) and DATE keep their SQL types; DECIMAL(p,s)
keeps its name in `type_name` but the driver reports it as SQL_VARCHAR, so pyodbc reads
those columns as text ("1234.5"), which `Decimal()` takes exactly. Inside SQLite a DECIMAL
column has numeric affinity: values written as text are stored as numbers.

Columns marked (u) in the agreement are not confirmed for a real company (SalesPrice1-5,
GLSalesAcct, QuantityOnHand, DueDate, InternalNote, Employee.EMail, IsClosed,
PaymentMethod, Company's counters and FirstOpenPeriodStart): the sandbox keeps them so the
connector can read them.
"""

from sandbox.core.company import DATE, Table

INTEGER = "INTEGER"
SMALLINT = "SMALLINT"
MONEY = "DECIMAL(19,2)"
QUANTITY = "DECIMAL(19,5)"
RATE = "DECIMAL(9,5)"


def text(length: int) -> str:
    return f"VARCHAR({length})"


def custom_fields() -> list[tuple[str, str]]:
    return [(f"CustomField{n}", text(20)) for n in range(1, 6)]


ADDRESS_COLUMNS = [
    ("AddressLine1", text(30)), ("AddressLine2", text(30)), ("City", text(20)),
    ("State", text(2)), ("Zip", text(12)), ("Country", text(15)),
]  # fmt: skip

TABLES: list[Table] = [
    Table("Company", ("CompanyName",), [
        ("CompanyName", text(40)), ("FirstOpenPeriodStart", DATE),
        ("NextInvoiceNumber", INTEGER), ("NextSalesOrderNumber", INTEGER),
    ]),
    Table("Employee", ("EmpRecordNumber",), [
        ("EmpRecordNumber", INTEGER), ("EmployeeID", text(20)), ("EmployeeName", text(30)),
        ("EMail", text(64)), ("IsSalesRep", SMALLINT),
    ]),
    Table("Chart", ("GLAcntNumber",), [
        ("GLAcntNumber", INTEGER), ("AccountID", text(15)), ("AccountDescription", text(30)),
        ("AccountIsInactive", SMALLINT), ("AccountType", SMALLINT),
    ], unique=("AccountID",)),
    Table("Tax_Code", ("TaxCodeID",), [
        ("TaxCodeID", text(8)), ("Description", text(30)), ("Rate", RATE),
    ]),
    Table("Customers", ("CustomerRecordNumber",), [
        ("CustomerRecordNumber", INTEGER), ("CustomerID", text(20)),
        ("Customer_Bill_Name", text(39)), ("Customer_Type", text(8)), ("Contact", text(20)),
        ("Phone_Number", text(20)), ("FAX_Number", text(20)), ("eMail_Address", text(64)),
        ("CustomerIsInactive", SMALLINT), ("PriceLevel", SMALLINT), ("Terms_DueDays", SMALLINT),
        ("Terms_CreditLimit", MONEY), ("Balance", MONEY), ("EmpRecordNumber", INTEGER),
        ("SalesTaxCode", text(8)), ("CustomerSince", DATE), ("LastInvoiceDate", DATE),
        *custom_fields(), ("GUID", text(36)),
    ], unique=("CustomerID",)),
    Table("Address", ("AddressRecordNumber",), [
        ("AddressRecordNumber", INTEGER), ("CustomerRecordNumber", INTEGER),
        ("AddressTypeNumber", SMALLINT), *ADDRESS_COLUMNS,
    ]),
    Table("Contacts", ("ContactRecordNumber",), [
        ("ContactRecordNumber", INTEGER), ("CustomerRecordNumber", INTEGER),
        ("IsPrimaryContact", SMALLINT), ("FirstName", text(20)), ("LastName", text(20)),
        ("Title", text(20)), ("Email", text(64)), ("Phone", text(20)),
    ]),
    Table("LineItem", ("ItemRecordNumber",), [
        ("ItemRecordNumber", INTEGER), ("ItemID", text(20)), ("ItemDescription", text(30)),
        ("ItemClass", SMALLINT), ("ItemIsInactive", SMALLINT), ("ItemType", text(8)),
        ("StockUM", text(6)), *[(f"SalesPrice{n}", MONEY) for n in range(1, 6)],
        ("GLSalesAcct", INTEGER), ("GLInventoryAcct", INTEGER), ("GLCostSalesAcct", INTEGER),
        ("QuantityOnHand", QUANTITY), *custom_fields(),
    ], unique=("ItemID",)),
    Table("JrnlHdr", ("PostOrder",), [
        ("PostOrder", INTEGER), ("JrnlKey_Journal", SMALLINT), ("JournalEx", SMALLINT),
        ("Module", text(1)), ("Reference", text(20)), ("TransactionDate", DATE),
        ("DueDate", DATE), ("MainAmount", MONEY), ("AmountPaid", MONEY),
        ("CustVendId", INTEGER), ("EmpRecordNumber", INTEGER), ("PurchOrder", text(20)),
        ("INV_POSOOrderNumber", text(20)), ("SalesTaxCode", text(8)),
        ("InternalNote", text(2000)), ("ShipToName", text(39)),
        ("ShipToAddressLine1", text(30)), ("ShipToAddressLine2", text(30)),
        ("ShipToCity", text(20)), ("ShipToState", text(2)), ("ShipToZip", text(12)),
        ("ShipToCountry", text(15)), ("IsClosed", SMALLINT), ("PaymentMethod", text(20)),
        ("GUID", text(36)),
    ]),
    Table("JrnlRow", ("PostOrder", "RowNumber"), [
        ("PostOrder", INTEGER), ("RowNumber", SMALLINT), ("RowType", SMALLINT),
        ("Journal", SMALLINT), ("GLAcntNumber", INTEGER), ("Amount", MONEY),
        ("Quantity", QUANTITY), ("UnitCost", QUANTITY), ("RowDescription", text(160)),
        ("ItemRecordNumber", INTEGER), ("CustomerRecordNumber", INTEGER),
        ("JobRecordNumber", INTEGER), ("LinkToAnotherTrx", INTEGER),
        ("SalesTaxType", SMALLINT), ("TaxAuthorityCode", text(8)), ("RowDate", DATE),
    ]),
]  # fmt: skip

TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}
