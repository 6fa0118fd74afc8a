"""The Sage 100 tables the sandbox keeps, with Sage's own names, keys and field lengths.

Declared types are chosen for what pyodbc gets through unixODBC and the SQLite3 driver:
VARCHAR(n) -> str, DATE -> datetime.date, NUMERIC(p,s) -> float (DECIMAL would come back
as str), INTEGER -> int. Times are VARCHAR(8) decimal hours ("14.25" = 14:15), as in Sage.
Lengths are the newer (7.x) ones from the reference; the sandbox backend enforces them.
"""

from dataclasses import dataclass

from sandbox.core.company import DATE
from sandbox.core.company import Table as CompanyTable


def text(length: int) -> str:
    return f"VARCHAR({length})"


TIME = "VARCHAR(8)"
FLAG = "VARCHAR(1)"
MONEY = "NUMERIC(13,2)"
QUANTITY = "NUMERIC(15,6)"
PRICE = "NUMERIC(16,6)"
PERCENT = "NUMERIC(7,3)"
BREAK_QUANTITY = "NUMERIC(8,0)"
PRICE_CODE_KEY = (
    "PriceCodeRecord", "PriceCode", "ItemCode", "CustomerPriceLevel", "ARDivisionNo", "CustomerNo",
)  # fmt: skip

AUDIT_COLUMNS = [
    ("DateCreated", DATE), ("TimeCreated", TIME), ("UserCreatedKey", text(10)),
    ("DateUpdated", DATE), ("TimeUpdated", TIME), ("UserUpdatedKey", text(10)),
]  # fmt: skip

ADDRESS = [
    ("AddressLine1", text(40)), ("AddressLine2", text(40)), ("AddressLine3", text(40)),
    ("City", text(30)), ("State", text(2)), ("ZipCode", text(10)), ("CountryCode", text(3)),
]  # fmt: skip


def party(prefix: str) -> list[tuple[str, str]]:
    """Bill-to / ship-to name and address columns of a sales document."""
    return [
        (f"{prefix}Name", text(50)), (f"{prefix}Address1", text(40)),
        (f"{prefix}Address2", text(40)), (f"{prefix}Address3", text(40)),
        (f"{prefix}City", text(30)), (f"{prefix}State", text(2)),
        (f"{prefix}ZipCode", text(10)), (f"{prefix}CountryCode", text(3)),
    ]  # fmt: skip


@dataclass(frozen=True)
class Table(CompanyTable):
    """A Sage 100 table: most rows carry the six audit columns after their own."""

    audited: bool = True  # has Date/Time/User Created/Updated

    @property
    def all_columns(self) -> list[tuple[str, str]]:
        return self.columns + (AUDIT_COLUMNS if self.audited else [])


SALES_ORDER_HEADER_COLUMNS = [
    ("SalesOrderNo", text(7)), ("OrderDate", DATE), ("OrderType", FLAG), ("OrderStatus", FLAG),
    ("ShipExpireDate", DATE), ("ARDivisionNo", text(2)), ("CustomerNo", text(20)),
    *party("BillTo"), ("ShipToCode", text(4)), *party("ShipTo"), ("ShipVia", text(15)),
    ("CustomerPONo", text(30)), ("WarehouseCode", text(3)), ("Comment", text(30)),
    ("TermsCode", text(2)), ("TaxSchedule", text(9)), ("SalespersonNo", text(4)),
    ("EmailAddress", text(250)), ("DiscountAmt", MONEY), ("TaxableAmt", MONEY),
    ("NonTaxableAmt", MONEY), ("SalesTaxAmt", MONEY), ("FreightAmt", MONEY),
    ("DepositAmt", MONEY), ("UDF_DEAL_ID", text(40)),
]  # fmt: skip

SALES_ORDER_DETAIL_COLUMNS = [
    ("SalesOrderNo", text(7)), ("LineKey", text(6)), ("LineSeqNo", text(14)),
    ("ItemCode", text(30)), ("ItemType", FLAG), ("ItemCodeDesc", text(30)),
    ("WarehouseCode", text(3)), ("UnitOfMeasure", text(4)), ("PriceLevel", FLAG),
    ("SalesAcctKey", text(9)), ("CostOfGoodsSoldAcctKey", text(9)),
    ("QuantityOrdered", QUANTITY), ("QuantityShipped", QUANTITY),
    ("QuantityBackordered", QUANTITY), ("UnitPrice", PRICE), ("UnitCost", PRICE),
    ("ExtensionAmt", MONEY), ("LineDiscountPercent", PERCENT), ("PromiseDate", DATE),
    ("TaxClass", text(2)), ("CommentText", text(2048)),
]  # fmt: skip

INVOICE_TOTAL_COLUMNS = [
    ("TaxableSalesAmt", MONEY), ("NonTaxableSalesAmt", MONEY), ("SalesTaxAmt", MONEY),
    ("FreightAmt", MONEY), ("DiscountAmt", MONEY), ("DepositAmt", MONEY),
]  # fmt: skip

# S/O Invoice Data Entry: an invoice entered and not yet posted (posting copies it to
# AR_InvoiceHistoryHeader and opens its balance in AR_OpenInvoice).
SO_INVOICE_HEADER_COLUMNS = [
    ("InvoiceNo", text(7)), ("InvoiceType", text(2)), ("InvoiceDate", DATE),
    ("InvoiceDueDate", DATE), ("BatchNo", text(5)), ("ARDivisionNo", text(2)),
    ("CustomerNo", text(20)), ("SalesOrderNo", text(7)), ("CustomerPONo", text(30)),
    *party("BillTo"), ("ShipToCode", text(4)), *party("ShipTo"), ("Comment", text(30)),
    ("TermsCode", text(2)), ("TaxSchedule", text(9)), ("SalespersonNo", text(4)),
    ("EmailAddress", text(250)), *INVOICE_TOTAL_COLUMNS, ("UDF_DEAL_ID", text(40)),
]  # fmt: skip

SO_INVOICE_DETAIL_COLUMNS = [
    ("InvoiceNo", text(7)), ("LineKey", text(6)), ("LineSeqNo", text(14)),
    ("ItemCode", text(30)), ("ItemType", FLAG), ("ItemCodeDesc", text(30)),
    ("WarehouseCode", text(3)), ("UnitOfMeasure", text(4)), ("SalesAcctKey", text(9)),
    ("CostOfGoodsSoldAcctKey", text(9)), ("QuantityOrdered", QUANTITY),
    ("QuantityShipped", QUANTITY), ("QuantityBackordered", QUANTITY), ("UnitPrice", PRICE),
    ("UnitCost", PRICE), ("ExtensionAmt", MONEY), ("LineDiscountPercent", PERCENT),
    ("TaxClass", text(2)), ("CommentText", text(2048)),
]  # fmt: skip

# Purchase Order Entry. UDF_SO_REF names the sales order and vendor a back-to-back order
# was made for ("0000216-00-ALLENCO"): its external reference, as UDF_DEAL_ID is an order's.
PURCHASE_ORDER_HEADER_COLUMNS = [
    ("PurchaseOrderNo", text(7)), ("PurchaseOrderDate", DATE), ("OrderType", FLAG),
    ("OrderStatus", FLAG), ("APDivisionNo", text(2)), ("VendorNo", text(7)),
    ("PurchaseName", text(30)), ("ShipToCode", text(4)), ("WarehouseCode", text(3)),
    ("RequiredExpireDate", DATE), ("Comment", text(30)), ("UDF_SO_REF", text(20)),
]  # fmt: skip

PURCHASE_ORDER_DETAIL_COLUMNS = [
    ("PurchaseOrderNo", text(7)), ("LineKey", text(6)), ("ItemCode", text(30)),
    ("ItemType", FLAG), ("ItemCodeDesc", text(30)), ("WarehouseCode", text(3)),
    ("RequiredDate", DATE), ("QuantityOrdered", QUANTITY), ("UnitCost", PRICE),
    ("ExtensionAmt", MONEY), ("SalesOrderNo", text(7)), ("CommentText", text(2048)),
]  # fmt: skip

TABLES: list[Table] = [
    Table("AR_Division", ("ARDivisionNo",), [
        ("ARDivisionNo", text(2)), ("DivisionDesc", text(30)),
    ]),
    Table("AR_TermsCode", ("TermsCode",), [
        ("TermsCode", text(2)), ("TermsCodeDesc", text(30)), ("DaysBeforeDue", "INTEGER"),
        ("DiscountDays", "INTEGER"), ("DiscountRate", PERCENT),
    ]),
    Table("AR_Customer", ("ARDivisionNo", "CustomerNo"), [
        ("ARDivisionNo", text(2)), ("CustomerNo", text(20)), ("CustomerName", text(50)),
        *ADDRESS, ("TelephoneNo", text(20)), ("TelephoneExt", text(5)), ("FaxNo", text(20)),
        ("EmailAddress", text(250)), ("URLAddress", text(50)), ("ContactCode", text(10)),
        ("ShipMethod", text(15)), ("TaxSchedule", text(9)), ("TermsCode", text(2)),
        ("SalespersonNo", text(4)), ("CustomerType", text(4)), ("PriceLevel", FLAG),
        ("CreditHold", FLAG), ("CustomerStatus", FLAG), ("CreditLimit", MONEY),
        ("CurrentBalance", MONEY), ("AgingCategory1", MONEY), ("AgingCategory2", MONEY),
        ("AgingCategory3", MONEY), ("AgingCategory4", MONEY), ("OpenOrderAmt", MONEY),
        ("DateEstablished", DATE), ("PrimaryShipToCode", text(4)), ("UDF_CRM_ID", text(40)),
    ]),
    Table("AR_Salesperson", ("SalespersonDivisionNo", "SalespersonNo"), [
        ("SalespersonDivisionNo", text(2)), ("SalespersonNo", text(4)),
        ("SalespersonName", text(30)), ("EmailAddress", text(250)),
    ]),
    Table("AR_CustomerContact", ("ARDivisionNo", "CustomerNo", "ContactCode"), [
        ("ARDivisionNo", text(2)), ("CustomerNo", text(20)), ("ContactCode", text(10)),
        ("ContactName", text(50)), *ADDRESS, ("ContactTitle", text(15)),
        ("TelephoneNo1", text(20)), ("TelephoneNo2", text(20)), ("FaxNo", text(20)),
        ("EmailAddress", text(50)),
    ]),
    Table("GL_Account", ("AccountKey",), [
        ("AccountKey", text(9)), ("Account", text(41)), ("AccountDesc", text(50)),
        ("RawAccount", text(32)), ("MainAccountCode", text(15)), ("Status", FLAG),
        ("AccountType", text(2)), ("AccountGroup", text(15)), ("AccountCategory", FLAG),
    ]),
    Table("IM_Warehouse", ("WarehouseCode",), [
        ("WarehouseCode", text(3)), ("WarehouseDesc", text(30)), *ADDRESS,
    ]),
    Table("CI_Item", ("ItemCode",), [
        ("ItemCode", text(30)), ("ItemType", FLAG), ("ItemCodeDesc", text(30)),
        ("ProductLine", text(4)), ("ProductType", FLAG), ("Valuation", FLAG),
        ("StandardUnitOfMeasure", text(4)), ("SalesUnitOfMeasure", text(4)),
        ("SalesAcctKey", text(9)), ("CostOfGoodsSoldAcctKey", text(9)),
        ("InventoryAcctKey", text(9)), ("TaxClass", text(2)), ("DefaultWarehouseCode", text(3)),
        ("PrimaryAPDivisionNo", text(2)),
        ("PrimaryVendorNo", text(7)), ("PriceCode", text(4)), ("StandardUnitPrice", PRICE),
        ("StandardUnitCost", PRICE),
        ("SuggestedRetailPrice", PRICE), ("TotalQuantityOnHand", QUANTITY),
        ("InactiveItem", FLAG), ("UDF_CATEGORY", text(20)),
    ]),
    # Prices by customer price level: PriceCodeRecord 0 for a price code shared by items
    # (CI_Item.PriceCode), 1 for one item, 2 for one item sold to one customer.
    Table("IM_PriceCode", PRICE_CODE_KEY, [
        ("PriceCodeRecord", FLAG), ("PriceCode", text(4)), ("ItemCode", text(30)),
        ("CustomerPriceLevel", FLAG), ("ARDivisionNo", text(2)), ("CustomerNo", text(20)),
        ("PriceCodeDesc", text(25)), ("PricingMethod", FLAG),
        *[(f"BreakQuantity{n}", BREAK_QUANTITY) for n in range(1, 6)],
        *[(f"DiscountMarkup{n}", PRICE) for n in range(1, 6)],
    ]),
    Table("IM_ItemWarehouse", ("ItemCode", "WarehouseCode"), [
        ("ItemCode", text(30)), ("WarehouseCode", text(3)), ("BinLocation", text(10)),
        ("QuantityOnHand", QUANTITY), ("QuantityOnPurchaseOrder", QUANTITY),
        ("QuantityOnSalesOrder", QUANTITY), ("QuantityOnBackOrder", QUANTITY),
        ("QuantityOnWorkOrder", QUANTITY), ("ReorderPointQty", QUANTITY),
        ("AverageCost", PRICE),
    ]),
    Table("SO_SalesOrderHeader", ("SalesOrderNo",), SALES_ORDER_HEADER_COLUMNS),
    Table("SO_SalesOrderDetail", ("SalesOrderNo", "LineKey"), SALES_ORDER_DETAIL_COLUMNS,
          audited=False),
    Table("SO_SalesOrderHistoryHeader", ("SalesOrderNo",), SALES_ORDER_HEADER_COLUMNS),
    Table("SO_SalesOrderHistoryDetail", ("SalesOrderNo", "LineKey"), SALES_ORDER_DETAIL_COLUMNS,
          audited=False),
    Table("AR_InvoiceHistoryHeader", ("InvoiceNo", "HeaderSeqNo"), [
        ("InvoiceNo", text(7)), ("HeaderSeqNo", text(6)), ("InvoiceType", text(2)),
        ("ModuleCode", text(3)), ("InvoiceDate", DATE), ("InvoiceDueDate", DATE),
        ("ARDivisionNo", text(2)), ("CustomerNo", text(20)), ("SalesOrderNo", text(7)),
        ("CustomerPONo", text(30)), *party("BillTo"), *party("ShipTo"),
        ("TermsCode", text(2)), *INVOICE_TOTAL_COLUMNS, ("UDF_DEAL_ID", text(40)),
    ]),
    Table("SO_InvoiceHeader", ("InvoiceNo",), SO_INVOICE_HEADER_COLUMNS),
    Table("SO_InvoiceDetail", ("InvoiceNo", "LineKey"), SO_INVOICE_DETAIL_COLUMNS,
          audited=False),
    Table("AR_OpenInvoice", ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType"), [
        ("ARDivisionNo", text(2)), ("CustomerNo", text(20)), ("InvoiceNo", text(7)),
        ("InvoiceType", text(2)), ("InvoiceDate", DATE), ("InvoiceDueDate", DATE),
        ("InvoiceAmt", MONEY), ("Balance", MONEY),
    ]),
    Table("AR_CashReceiptsHistory", (
        "BankCode", "DepositDate", "DepositNo", "DepositType", "ARDivisionNo", "CustomerNo",
        "CreditCardEntryNo", "CheckNo", "SequenceNo",
    ), [
        ("BankCode", FLAG), ("DepositDate", DATE), ("DepositNo", text(5)),
        ("DepositType", FLAG), ("ARDivisionNo", text(2)), ("CustomerNo", text(20)),
        ("CreditCardEntryNo", text(6)), ("CheckNo", text(10)), ("SequenceNo", text(6)),
        ("PostingDate", DATE), ("TransactionType", FLAG), ("InvoiceNo", text(7)),
        ("InvoiceType", text(2)), ("AccountKey", text(9)), ("CashAmountApplied", MONEY),
        ("DiscountAmountApplied", MONEY), ("InvoiceBalance", MONEY), ("PaymentType", text(5)),
    ]),
    Table("SO_Options", ("SOOptionsKey",), [
        ("SOOptionsKey", FLAG), ("NextSalesOrderNo", text(7)), ("NextInvoiceNo", text(7)),
    ], audited=False),
    # Purchasing (back-to-back purchase orders for a sales order's short lines).
    Table("AP_Vendor", ("APDivisionNo", "VendorNo"), [
        ("APDivisionNo", text(2)), ("VendorNo", text(7)), ("VendorName", text(30)), *ADDRESS,
        ("TelephoneNo", text(17)), ("EmailAddress", text(250)), ("TermsCode", text(2)),
    ]),
    Table("PO_PurchaseOrderHeader", ("PurchaseOrderNo",), PURCHASE_ORDER_HEADER_COLUMNS),
    Table("PO_PurchaseOrderDetail", ("PurchaseOrderNo", "LineKey"),
          PURCHASE_ORDER_DETAIL_COLUMNS, audited=False),
    Table("PO_Options", ("POOptionsKey",), [
        ("POOptionsKey", FLAG), ("NextPurchaseOrderNo", text(7)),
    ], audited=False),
]  # fmt: skip

TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}
