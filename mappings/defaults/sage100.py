"""Sage 100 defaults: canonical → AR_Customer, SO_SalesOrderHeader (+ SO_SalesOrderDetail
lines, as the bridge takes them) and SO_InvoiceHeader (+ SO_InvoiceDetail, an invoice made
without an order); order status, stock and cash receipts → canonical.

Column names and lengths are Sage 100's (7.x); truncate takes the length from the target
schema, so a long name is cut with a warning instead of refused by Sage.
"""

from mappings.defaults.base import (
    IN,
    ISO_TO_SAGE100_COUNTRY,
    OUT,
    SAGE100_STATUS,
    TERMS_TO_SAGE100,
    DefaultMapping,
    constant,
    rule,
)
from mappings.salespeople import SALESPEOPLE_TABLE

COUNTRY = ("map_value", {"mapping": ISO_TO_SAGE100_COUNTRY})
# A deal's owner (the CRM mapping's `custom.owner`: a Streak assignee's email, a Salesforce
# OwnerId) → SalespersonNo, filled by "Fill salespeople"; an owner not in it leaves the
# order to the customer's own salesperson (the table's empty default), with a warning.


def address_columns(source: str, columns: dict[str, str]) -> list[dict]:
    """An address's lines, city, state, zip and country into the given columns."""
    return [
        rule(columns["line1"], f"{source}.lines[0]", "trim", "truncate"),
        rule(columns["line2"], f"{source}.lines[1]", "trim", "truncate"),
        rule(columns["line3"], f"{source}.lines[2]", "trim", "truncate"),
        rule(columns["city"], f"{source}.city", "trim", "truncate"),
        rule(columns["state"], f"{source}.state", "upper", "truncate"),
        rule(columns["zip"], f"{source}.zip", "trim", "truncate"),
        rule(columns["country"], f"{source}.country", "upper", COUNTRY),
    ]


CUSTOMER_ADDRESS = {"line1": "AddressLine1", "line2": "AddressLine2", "line3": "AddressLine3",
                    "city": "City", "state": "State", "zip": "ZipCode",
                    "country": "CountryCode"}  # fmt: skip
SHIP_TO_ADDRESS = {"line1": "ShipToAddress1", "line2": "ShipToAddress2",
                   "line3": "ShipToAddress3", "city": "ShipToCity", "state": "ShipToState",
                   "zip": "ShipToZipCode", "country": "ShipToCountryCode"}  # fmt: skip


def customer(crm: str) -> tuple[dict, ...]:
    rules = [
        constant("ARDivisionNo", "00"),
        rule("CustomerName", "name", "trim", "truncate", required=True),
        *address_columns("billing_address", CUSTOMER_ADDRESS),
        rule("TelephoneNo", "phone", "truncate"),
        rule("EmailAddress", "email", "trim", "truncate"),
        rule("TermsCode", "terms", ("lookup", {"table": TERMS_TO_SAGE100})),
        rule("CreditLimit", "credit_limit", ("round", {"places": 2})),
        constant("CustomerStatus", "A"),
    ]
    if crm == "salesforce":  # Streak keys are longer than UDF_CRM_ID's 40 characters
        rules.append(rule("UDF_CRM_ID", "external_refs.crm"))
    return tuple(rules)


SALES_ORDER = (
    rule("ARDivisionNo", "customer_ref", ("split", {"separator": "-", "index": 0}),
         default="00"),
    rule("CustomerNo", "customer_ref", ("split", {"separator": "-", "index": -1}), "upper",
         required=True),
    rule("OrderDate", "order_date", "date"),
    rule("CustomerPONo", "po_number", "trim", "truncate"),
    rule("UDF_DEAL_ID", "crm_deal_id", "trim"),
    rule("Comment", "notes", "trim", "truncate"),
    rule("EmailAddress", "customer_email", "truncate"),
    constant("WarehouseCode", "000"),
    rule("SalespersonNo", "custom.owner", ("lookup", {"table": SALESPEOPLE_TABLE})),
    rule("ShipToName", "customer_name", "trim", "truncate"),
    *address_columns("shipping_address", SHIP_TO_ADDRESS),
    rule("lines", "lines", required=True, rules=[
        rule("ItemCode", "sku", "trim", "upper", "truncate", required=True),
        rule("ItemCodeDesc", "description", "trim", "truncate"),
        rule("QuantityOrdered", "quantity", "number", required=True),
        rule("UnitPrice", "unit_price", ("round", {"places": 2})),
    ]),
)  # fmt: skip

# A service deal billed at once: InvoiceType IN; each line's quantity is shipped as ordered.
# The line's ledger (SalesAcctKey) is added from the flow's ledger step, not mapped here.
INVOICE = (
    rule("ARDivisionNo", "customer_ref", ("split", {"separator": "-", "index": 0}),
         default="00"),
    rule("CustomerNo", "customer_ref", ("split", {"separator": "-", "index": -1}), "upper",
         required=True),
    constant("InvoiceType", "IN"),
    rule("InvoiceDate", "order_date", "date"),
    rule("CustomerPONo", "po_number", "trim", "truncate"),
    rule("UDF_DEAL_ID", "crm_deal_id", "trim", required=True),
    rule("Comment", "notes", "trim", "truncate"),
    rule("EmailAddress", "customer_email", "truncate"),
    rule("ShipToName", "customer_name", "trim", "truncate"),
    *address_columns("shipping_address", SHIP_TO_ADDRESS),
    rule("lines", "lines", required=True, rules=[
        rule("ItemCode", "sku", "trim", "upper", "truncate", required=True),
        rule("ItemCodeDesc", "description", "trim", "truncate"),
        rule("QuantityOrdered", "quantity", "number", required=True),
        rule("QuantityShipped", "quantity", "number", required=True),
        rule("UnitPrice", "unit_price", ("round", {"places": 2})),
    ]),
)  # fmt: skip

ORDER_STATUS = (
    rule("order_number", "SalesOrderNo", "trim"),
    rule("crm_deal_id", "UDF_DEAL_ID", "trim"),
    rule("erp_status", "OrderStatus"),
    rule("status", "OrderStatus", ("map_value", {"mapping": SAGE100_STATUS})),
    rule("invoice_number", "InvoiceNo"),
    rule("updated_on", "DateUpdated", "date"),
)

STOCK = (
    rule("sku", "ItemCode", "trim"),
    rule("warehouse", "WarehouseCode"),
    rule("on_hand", "QuantityOnHand", "number"),
    rule("on_order", "QuantityOnPurchaseOrder", "number"),
    rule("committed", "QuantityOnSalesOrder", "number"),
)

CASH_RECEIPT = (
    rule("amount", "CashAmountApplied", ("round", {"places": 2})),
    rule("payment_date", "DepositDate", "date"),
    {"target": "customer_ref", "template": "{ARDivisionNo}-{CustomerNo}"},
    rule("invoice_number", "InvoiceNo"),
    rule("reference", "CheckNo", "trim"),
    rule("method", "PaymentType", "trim"),
)


def sage100_mappings(crm: str) -> list[DefaultMapping]:
    return [
        DefaultMapping("Customer → Sage 100 customer", OUT, "sage100", "Customer",
                       "AR_Customer", customer(crm)),
        DefaultMapping("Sales order → Sage 100 sales order", OUT, "sage100", "SalesOrder",
                       "SO_SalesOrderHeader", SALES_ORDER),
        DefaultMapping("Invoice → Sage 100 S/O invoice", OUT, "sage100", "Invoice",
                       "SO_InvoiceHeader", INVOICE),
        DefaultMapping("Sage 100 order → order status", IN, "sage100", "SO_SalesOrderHeader",
                       "OrderStatus", ORDER_STATUS),
        DefaultMapping("Sage 100 stock → inventory level", IN, "sage100", "IM_ItemWarehouse",
                       "InventoryLevel", STOCK),
        DefaultMapping("Sage 100 cash receipt → payment", IN, "sage100",
                       "AR_CashReceiptsHistory", "Payment", CASH_RECEIPT),
    ]  # fmt: skip
