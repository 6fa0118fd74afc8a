"""Salesforce defaults: Opportunity (+ Account, lines, Contact) → Customer and
SalesOrder/Invoice; order status and stock back to Salesforce.

An activated Order reaches these mappings in the Opportunity's shape (connectors/salesforce/
deals.py), so the same rules serve it; `PoNumber` is an Order's own field (an opportunity has
none, and reads as empty). Status goes back to the deal's `Sage_Order_Status__c` picklist and
number field, on an order and on its opportunity."""

from mappings.defaults.base import OUT, PHONE, DefaultMapping, constant, rule

# Canonical order status → the Sage_Order_Status__c picklist values.
STATUS_TO_SALESFORCE = {"mapping": {"new": "New", "open": "Open", "on_hold": "On Hold",
                                    "back_order": "Back Order", "completed": "Completed",
                                    "deleted": "Cancelled", "quote": "Quote"}}  # fmt: skip
# Product family (queried as OpportunityLineItems.Product2.Family) → sales GL account.
FAMILY_TO_GL = {"mapping": {"Widgets": "4000", "Gadgets": "4000", "Kits": "4000",
                            "Services": "4100"}, "default": "4000"}  # fmt: skip


def salesforce_address(target: str, prefix: str) -> list[dict]:
    return [
        rule(f"{target}.lines", f"Account.{prefix}Street", ("split", {"separator": "\n"})),
        rule(f"{target}.city", f"Account.{prefix}City", "trim"),
        rule(f"{target}.state", f"Account.{prefix}State", "trim"),
        rule(f"{target}.zip", f"Account.{prefix}PostalCode", "trim"),
        rule(f"{target}.country", f"Account.{prefix}Country", "country_code"),
    ]


def salesforce_customer() -> tuple[dict, ...]:
    return (
        rule("name", "Account.Name", "trim", required=True),
        rule("email", "Contact.Email", "trim", "lower"),
        rule("phone", "Account.Phone", PHONE),
        *salesforce_address("billing_address", "Billing"),
        *salesforce_address("shipping_address", "Shipping"),
        rule("contacts", "Contact", rules=[
            rule("name", "FirstName", ("concat", {"fields": ["LastName"]})),
            rule("email", "Email", "trim", "lower"),
            rule("phone", "Phone", PHONE),
            rule("title", "Title", "trim"),
        ]),
        rule("currency", "CurrencyIsoCode", "upper"),
        rule("external_refs.crm", "Account.Id"),
        rule("custom.industry", "Account.Industry"),
        rule("custom.account_number", "Account.AccountNumber"),
    )  # fmt: skip


def salesforce_document(document: str) -> tuple[dict, ...]:
    date_target = "order_date" if document == "SalesOrder" else "invoice_date"
    line_keys = {"sku_key": "ProductCode", "quantity_key": "Quantity", "price_key": "UnitPrice",
                 "description_key": "Name", "amount_key": "TotalPrice"}  # fmt: skip
    rules = [
        rule("customer_name", "Account.Name", "trim"),
        rule("customer_email", "Contact.Email", "trim", "lower"),
        rule("crm_deal_id", "ExternalID__c", ("default_when_empty", {"field": "Id"})),
        rule("external_refs.crm", "Id"),
        rule(date_target, "CloseDate", "date"),
        rule("currency", "CurrencyIsoCode", "upper"),
        rule("total", "Amount", ("round", {"places": 2})),
        rule("total_base", "Amount", ("convert_currency", {"currency": "CurrencyIsoCode"})),
        rule("notes", "Name", "trim"),
        rule("po_number", "PoNumber", "trim"),
        rule("custom.owner", "OwnerId"),
        *salesforce_address("billing_address", "Billing"),
        rule("lines", "OpportunityLineItems", ("parse_lines", line_keys), rules=[
            rule("sku", "sku", "trim", "upper"),
            rule("description", "description", "trim"),
            rule("quantity", "quantity", "number"),
            rule("unit_price", "unit_price", ("round", {"places": 2})),
            rule("amount", "amount", ("round", {"places": 2})),
            rule("gl_account", "custom.Product2.Family", ("map_value", FAMILY_TO_GL)),
        ]),
    ]  # fmt: skip
    if document == "SalesOrder":
        rules += [*salesforce_address("shipping_address", "Shipping"), constant("status", "open")]
    return tuple(rules)


def salesforce_out(erp: str) -> list[DefaultMapping]:
    """Sage 100's order numbers; stock from the Sages that keep it (Sage 100, Sage 50
    desktop); Sage Accounting has neither to send back."""
    label = {"sage100": "Sage 100", "sage50desktop": "Sage 50"}.get(erp)
    if label is None:
        return []
    stock = DefaultMapping(
        f"{label} stock → Salesforce product",
        OUT,
        "salesforce",
        "InventoryLevel",
        "Product2",
        (rule("ProductCode", "sku"), rule("Quantity_On_Hand__c", "on_hand", "integer")),
    )
    if erp != "sage100":
        return [stock]
    return [
        DefaultMapping("Sage 100 order status → Salesforce opportunity", OUT, "salesforce",
                       "OrderStatus", "Opportunity", (
                           rule("Sage_Order_No__c", "order_number"),
                           rule("Sage_Order_Status__c", "status",
                                ("map_value", STATUS_TO_SALESFORCE)),
                       )),
        stock,
    ]  # fmt: skip
