"""Sage 50 US (desktop) defaults: canonical → Customers (+ the main Address) and the sales
invoice or sales order as the Clarity agent takes them; cash receipts and stock →
canonical.

Customer names are the ODBC columns of `Customers` and `Address`; documents use the agent's
names (the SDK's: CustomerID, Date, ReferenceNumber, lines of ItemID, AccountID…). The deal's
ID goes into the document's InternalNote, which the agent's conditional create matches on.
The CRM id is not mapped: the connector writes it to the customer's reference column
(CustomField5 by default) in the form that column can hold.
"""

from mappings.defaults.base import (
    GL_TO_SAGE50_ACCOUNT,
    IN,
    OUT,
    TERMS_TO_DAYS,
    DefaultMapping,
    constant,
    rule,
)
from mappings.salespeople import SALESPEOPLE_TABLE

# Sage 50 US keeps the country as text (15 characters): the name its users type.
ISO_TO_COUNTRY = {"mapping": {
    "US": "USA", "CA": "Canada", "MX": "Mexico", "GB": "United Kingdom", "IE": "Ireland",
    "DE": "Germany", "FR": "France", "NL": "Netherlands", "BE": "Belgium", "AT": "Austria",
    "CH": "Switzerland", "ES": "Spain", "IT": "Italy", "SE": "Sweden", "DK": "Denmark",
}}  # fmt: skip

CUSTOMER = (
    rule("Customer_Bill_Name", "name", "trim", "truncate", required=True),
    rule("eMail_Address", "email", "trim", "truncate"),
    rule("Phone_Number", "phone", "truncate"),
    rule("Contact", "contacts[0].name", "trim", "truncate"),
    rule("AddressLine1", "billing_address.lines[0]", "trim", "truncate"),
    rule("AddressLine2", "billing_address.lines[1]", "trim", "truncate"),
    rule("City", "billing_address.city", "trim", "truncate"),
    rule("State", "billing_address.state", "upper", "truncate"),
    rule("Zip", "billing_address.zip", "trim", "truncate"),
    rule("Country", "billing_address.country", "upper", ("map_value", ISO_TO_COUNTRY)),
    rule("Terms_DueDays", "terms", ("lookup", {"table": TERMS_TO_DAYS}), "integer"),
    rule("Terms_CreditLimit", "credit_limit", ("round", {"places": 2})),
    constant("CustomerIsInactive", 0),
)

# A deal's owner (`custom.owner`) → the EmployeeID of a sales rep, filled by "Fill
# salespeople"; an owner not in it leaves the document the customer's own sales rep.
SALES_REP = rule("SalesRepID", "custom.owner", ("lookup", {"table": SALESPEOPLE_TABLE}))

LINES = [
    rule("ItemID", "sku", "trim", "upper", required=True),
    rule("Description", "description", "trim", ("default_when_empty", {"field": "sku"})),
    rule("Quantity", "quantity", "number", required=True),
    rule("UnitPrice", "unit_price", ("round", {"places": 2})),
    rule("Amount", "amount", ("round", {"places": 2})),
]  # fmt: skip

SALES_INVOICE = (
    rule("CustomerID", "customer_ref", required=True),
    rule("Date", "invoice_date", "date"),
    rule("DateDue", "due_date", "date"),
    rule("CustomerPurchaseOrderNumber", "po_number", "trim", "truncate"),
    rule("InternalNote", "crm_deal_id", "trim"),
    SALES_REP,
    rule("lines", "lines", required=True, rules=[
        *LINES,
        rule("AccountID", "gl_account", ("lookup", {"table": GL_TO_SAGE50_ACCOUNT})),
    ]),
)  # fmt: skip

SHIP_TO = (
    rule("ShipToName", "customer_name", "trim", "truncate"),
    rule("ShipToAddressLine1", "shipping_address.lines[0]", "trim", "truncate"),
    rule("ShipToAddressLine2", "shipping_address.lines[1]", "trim", "truncate"),
    rule("ShipToCity", "shipping_address.city", "trim", "truncate"),
    rule("ShipToState", "shipping_address.state", "upper", "truncate"),
    rule("ShipToZip", "shipping_address.zip", "trim", "truncate"),
    rule("ShipToCountry", "shipping_address.country", "upper", ("map_value", ISO_TO_COUNTRY)),
)

SALES_ORDER = (
    rule("CustomerID", "customer_ref", required=True),
    rule("Date", "order_date", "date"),
    rule("CustomerPurchaseOrderNumber", "po_number", "trim", "truncate"),
    rule("InternalNote", "crm_deal_id", "trim"),
    SALES_REP,
    *SHIP_TO,
    rule("lines", "lines", required=True, rules=LINES),
)

CASH_RECEIPT = (
    rule("amount", "MainAmount", ("round", {"places": 2})),
    rule("payment_date", "TransactionDate", "date"),
    rule("reference", "Reference", "trim"),
    rule("customer_ref", "CustomerID", "trim"),
    rule("invoice_number", "InvoiceNumber", "trim"),
    rule("method", "PaymentMethod", "trim"),
    constant("currency", "USD"),
)

STOCK = (
    rule("sku", "ItemID", "trim"),
    rule("on_hand", "QuantityOnHand", "number"),
)


def sage50desktop_mappings() -> list[DefaultMapping]:
    return [
        DefaultMapping("Customer → Sage 50 customer", OUT, "sage50desktop", "Customer",
                       "Customers", CUSTOMER),
        DefaultMapping("Invoice → Sage 50 sales invoice", OUT, "sage50desktop", "Invoice",
                       "SalesInvoices", SALES_INVOICE),
        DefaultMapping("Sales order → Sage 50 sales order", OUT, "sage50desktop", "SalesOrder",
                       "SalesOrders", SALES_ORDER),
        DefaultMapping("Sage 50 receipt → payment", IN, "sage50desktop", "CashReceipt",
                       "Payment", CASH_RECEIPT),
        DefaultMapping("Sage 50 stock → inventory level", IN, "sage50desktop", "LineItem",
                       "InventoryLevel", STOCK),
    ]  # fmt: skip
