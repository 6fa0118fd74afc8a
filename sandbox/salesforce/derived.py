"""Fields Salesforce computes on save: IsWon from the stage, Contact.Name and User.Name, line
prices and totals, order numbers, a task's IsClosed and AccountId; plus the rules that go
with them (price book of a line, activated orders are locked). One function per object, called by
`Records.save` before the write.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.schema import STAGE_INFO, sobject

if TYPE_CHECKING:
    from sandbox.salesforce.records import Records

Record = dict[str, Any]


def integrity(field: str, message: str) -> ApiError:
    return ApiError(
        400, "FIELD_INTEGRITY_EXCEPTION", f"field integrity exception: {message}", [field]
    )


def derive_full_name(records: "Records", record: Record, old: Record | None) -> None:
    """A contact's or user's Name: first and last name."""
    record["Name"] = " ".join(p for p in (record.get("FirstName"), record["LastName"]) if p)


def derive_opportunity(records: "Records", record: Record, old: Record | None) -> None:
    """IsClosed/IsWon follow the stage; so does Probability unless the caller set it."""
    probability, closed, won = STAGE_INFO[record["StageName"]]
    record["IsClosed"], record["IsWon"] = closed, won
    record["HasOpportunityLineItem"] = bool(record.get("HasOpportunityLineItem"))
    if old is None:
        if record.get("Probability") is None:
            record["Probability"] = probability
    elif old["StageName"] != record["StageName"] and record.get("Probability") == old.get(
        "Probability"
    ):
        record["Probability"] = probability


def derive_pricebook_entry(records: "Records", record: Record, old: Record | None) -> None:
    product = records.get(sobject("Product2"), record["Product2Id"])
    record["Name"], record["ProductCode"] = product["Name"], product.get("ProductCode")
    if old is not None:
        return
    entry_obj = sobject("PricebookEntry")
    same = [
        e for e in records.all(entry_obj)
        if e["Product2Id"] == record["Product2Id"] and e["Pricebook2Id"] == record["Pricebook2Id"]
        and e["CurrencyIsoCode"] == record["CurrencyIsoCode"]
    ]  # fmt: skip
    if same:
        raise ApiError(
            400, "DUPLICATE_VALUE", "This price definition already exists in this price book"
        )


def derive_line(records: "Records", record: Record, old: Record | None, parent_field: str) -> None:
    entry = records.get(sobject("PricebookEntry"), record["PricebookEntryId"])
    record["Product2Id"], record["ListPrice"] = entry["Product2Id"], entry["UnitPrice"]
    parent_obj = sobject(parent_field.removesuffix("Id"))
    parent = records.get(parent_obj, record[parent_field])
    if parent.get("StatusCode") == "Activated":
        raise integrity(parent_field, "You can't edit products on activated orders.")
    if parent.get("Pricebook2Id") is None:
        parent["Pricebook2Id"] = entry["Pricebook2Id"]
        records.store.put(parent_obj.name, parent["Id"], parent)
    elif parent["Pricebook2Id"] != entry["Pricebook2Id"]:
        raise integrity(
            "PricebookEntryId",
            "PricebookEntryId (pricebook entry is in a different pricebook than the one "
            f"assigned to the {parent_obj.label.lower()}, or {parent_obj.label.lower()} has "
            "no pricebook)",
        )
    record["CurrencyIsoCode"] = parent["CurrencyIsoCode"]


def derive_opportunity_line(records: "Records", record: Record, old: Record | None) -> None:
    """Sales price defaults to the list price; TotalPrice may be given instead of UnitPrice."""

    def given(name: str) -> bool:
        return record.get(name) is not None and (old is None or record[name] != old.get(name))

    total_given, unit_given = given("TotalPrice"), given("UnitPrice")
    if total_given and unit_given:
        raise integrity("TotalPrice", "TotalPrice (cannot reference both UnitPrice and TotalPrice)")
    derive_line(records, record, old, "OpportunityId")
    quantity = record["Quantity"]
    if total_given:
        record["UnitPrice"] = round(record["TotalPrice"] / quantity, 2) if quantity else 0.0
    elif record.get("UnitPrice") is None:
        record["UnitPrice"] = record["ListPrice"]
    discount = (record.get("Discount") or 0) / 100
    record["TotalPrice"] = round(quantity * record["UnitPrice"] * (1 - discount), 2)
    product = records.get(sobject("Product2"), record["Product2Id"])
    record["ProductCode"] = product.get("ProductCode")
    opportunity = records.get(sobject("Opportunity"), record["OpportunityId"])
    record["Name"] = f"{opportunity['Name']} {product['Name']}"


def derive_order(records: "Records", record: Record, old: Record | None) -> None:
    if old is None:
        if record["Status"] != "Draft":
            raise integrity("Status", "Status (an order must be created as Draft)")
        number = int(records.store.get_meta("order_number", "100")) + 1
        records.store.set_meta("order_number", str(number))
        record["OrderNumber"] = f"{number:08d}"
        record["TotalAmount"] = 0.0
    elif old["Status"] == "Draft" and record["Status"] == "Activated":
        record["ActivatedDate"] = record["LastModifiedDate"]
    record["StatusCode"] = record["Status"]


def derive_order_item(records: "Records", record: Record, old: Record | None) -> None:
    derive_line(records, record, old, "OrderId")
    record["TotalPrice"] = round(record["Quantity"] * record["UnitPrice"], 2)


def derive_task(records: "Records", record: Record, old: Record | None) -> None:
    """IsClosed follows the status; AccountId is the account of what the task is about."""
    record["IsClosed"] = record["Status"] == "Completed"
    record["AccountId"] = None
    for name in ("WhatId", "WhoId"):
        related = record.get(name)
        target = sobject("Task").field(name).target(related) if related else None
        if target is not None:
            found = records.get(target, related) or {}
            account = found["Id"] if target.name == "Account" else found.get("AccountId")
            record["AccountId"] = account
            return


DERIVATIONS: dict[str, Callable[["Records", Record, Record | None], None]] = {
    "Contact": derive_full_name,
    "User": derive_full_name,
    "Opportunity": derive_opportunity,
    "PricebookEntry": derive_pricebook_entry,
    "OpportunityLineItem": derive_opportunity_line,
    "Order": derive_order,
    "OrderItem": derive_order_item,
    "Task": derive_task,
}
