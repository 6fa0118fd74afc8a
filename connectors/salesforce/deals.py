"""What a Salesforce deal is: an Opportunity (ids 006…) or an Order (801…), what is read of
each, and how the mappings see it.

An Order is handed over in the Opportunity's shape (`opportunity_shaped`), so one deal
mapping serves both objects and the shipped defaults need no second set: admins edit one
mapping, the designer lists the Opportunity's fields, and an Order's own fields are there
under their own names too (PoNumber, OrderNumber, custom ones).

The paths the pair's mappings read are sorted here by what they read (`wanted`); the
connector checks each against the org's describe before it queries it.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from connectors.base import Record

OPPORTUNITY, ORDER = "Opportunity", "Order"
ORDER_WON_STATUS = "Activated"
WON_DEAL_SOURCES = {
    "opportunities": (OPPORTUNITY,),
    "orders": (ORDER,),
    "both": (OPPORTUNITY, ORDER),
}
OPPORTUNITY_FIELDS = (
    "Id", "Name", "StageName", "CloseDate", "Amount", "CurrencyIsoCode", "ExternalID__c",
    "AccountId", "Description",
)  # fmt: skip
ORDER_FIELDS = (
    "Id", "Name", "OrderNumber", "Status", "EffectiveDate", "TotalAmount", "CurrencyIsoCode",
    "AccountId", "OpportunityId", "BillToContactId", "PoNumber", "Description",
    "Opportunity.StageName",
)  # fmt: skip
ACCOUNT_FIELDS = (
    "Id", "Name", "Phone", "Industry", "AccountNumber", "BillingStreet", "BillingCity",
    "BillingState", "BillingPostalCode", "BillingCountry", "ShippingStreet", "ShippingCity",
    "ShippingState", "ShippingPostalCode", "ShippingCountry",
)  # fmt: skip
LINE_FIELDS = ("ProductCode", "Name", "Quantity", "UnitPrice", "TotalPrice", "Product2.Family")
# An order line's product through its price book entry: PricebookEntryId is on every OrderItem
# of every API version, its Product2Id only in the newer ones (not in shared/reference).
ORDER_LINE_FIELDS = (
    "Quantity", "UnitPrice", "TotalPrice", "Description", "PricebookEntry.Product2.ProductCode",
    "PricebookEntry.Product2.Name", "PricebookEntry.Product2.Family",
)  # fmt: skip
CONTACT_FIELDS = ("FirstName", "LastName", "Email", "Phone", "Title")
LINE_GROUPS = {"OpportunityLineItems", "OrderItems"}  # either names the deal's lines
LINE_KEYS = {"sku", "description", "quantity", "unit_price", "amount"}  # parse_lines' own
RECORD_ID = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
SUBJECT_END = re.compile(r":\s|\.\s|\sfor\s")  # where a note's first clause ends
POLLED_OPPORTUNITY, POLLED_ORDER = "salesforce.opportunity", "salesforce.order"


@dataclass(frozen=True)
class DealObject:
    """One sObject deals can be: what is always read of it, its lines, its stage field."""

    name: str
    noun: str
    key_prefix: str
    fields: tuple[str, ...]
    lines: str  # the child relationship of its lines
    line_object: str
    line_fields: tuple[str, ...]
    stage_field: str
    polled: str  # the kind of its polled changes
    never: tuple[str, ...]  # the other deal object's fields it has not: no describe for them


DEALS = {
    OPPORTUNITY: DealObject(
        OPPORTUNITY, "opportunity", "006", OPPORTUNITY_FIELDS, "OpportunityLineItems",
        "OpportunityLineItem", LINE_FIELDS, "StageName", POLLED_OPPORTUNITY,
        ("OrderNumber", "Status", "EffectiveDate", "TotalAmount", "OpportunityId",
         "BillToContactId", "PoNumber"),
    ),
    ORDER: DealObject(
        ORDER, "order", "801", ORDER_FIELDS, "OrderItems", "OrderItem", ORDER_LINE_FIELDS,
        "Status", POLLED_ORDER,
        ("StageName", "CloseDate", "Amount", "Probability", "IsWon", "IsClosed"),
    ),
}  # fmt: skip


def deal_object(key: str) -> DealObject:
    """Which object a deal key is, by its id's key prefix (an Opportunity unless 801)."""
    return DEALS[ORDER] if key.startswith(DEALS[ORDER].key_prefix) else DEALS[OPPORTUNITY]


@dataclass
class Wanted:
    """The fields the mappings read, by where: the deal and its parents, its lines (as
    paths from a line), its contact."""

    deal: set[str]
    lines: set[str]
    contact: set[str]


def wanted(paths: Iterable[str]) -> Wanted:
    """Mapped source paths sorted by what they read. A line rule's paths come as
    `OpportunityLineItems[].…`, `custom.` first when `parse_lines` kept the field there, the
    canonical line keys being none of Salesforce's; the contact is `Contact.…` (or
    `Contact[].…` inside the contacts rule)."""
    found = Wanted(set(), set(), set())
    for path in paths:
        group, nested, inner = path.partition("[].")
        head, _, rest = group.partition(".")
        if head in LINE_GROUPS:
            line_field = inner.removeprefix("custom.")
            if nested and line_field not in LINE_KEYS:
                found.lines.add(line_field)
        elif head == "Contact":
            found.contact.add(inner if nested else rest)
        elif not nested:
            found.deal.add(path)
    found.contact.discard("")
    return found


def opportunity_shaped(order: Record, contact: Record) -> Record:
    """An Order as the deal mappings read an Opportunity: its own fields, plus `Name` (the
    order's name, else "Order <number>"), `CloseDate` (its start date), `Amount` (its total)
    and its products as `OpportunityLineItems` (also as `OrderItems`), each with its product
    as `Product2` (as an opportunity's line has it), the product's ProductCode, and its
    description or the product's Name as `Name`."""
    items = [
        {**item, "Product2": product, "ProductCode": product.get("ProductCode"),
         "Name": item.get("Description") or product.get("Name")}
        for item in (order.get("OrderItems") or {}).get("records") or []
        for product in [product_of(item)]
    ]  # fmt: skip
    lines = {"totalSize": len(items), "done": True, "records": items}
    return {
        **order, "Name": order.get("Name") or f"Order {order.get('OrderNumber')}",
        "CloseDate": order.get("EffectiveDate"), "Amount": order.get("TotalAmount"),
        "OrderItems": lines, "OpportunityLineItems": lines, "Contact": contact,
    }  # fmt: skip


def product_of(item: Record) -> Record:
    """An order line's product: its price book entry's, with what the mappings read of the
    line's own Product2 over it."""
    entry = item.get("PricebookEntry") or {}
    return {**(entry.get("Product2") or {}), **(item.get("Product2") or {})}


def task_subject(message: str) -> str:
    """What happened, in the words a task list shows: the message's first clause
    ("Sage 100 sales order 0001234 created" of "… created for Acme (00-ACME): 10.00 USD.")."""
    text = message.strip()
    return (SUBJECT_END.split(text, maxsplit=1)[0].rstrip(".") or text)[:255]
