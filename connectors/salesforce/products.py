"""Sage's items as Salesforce products with their list prices, so a salesperson can add them
to opportunities and orders.

A product is found by its ProductCode (Product2 has no external ID field) and created when
the org has none. Its list price lives in the standard price book (PricebookEntry, one per
book, product and, in a multi-currency org, currency): created with the item's price, or
brought up to Sage's price and active flag. A product the org has already is not created
again, and what already holds Sage's values is not written, so a repeated load writes
nothing. Every read and write takes 200 records a call (sObject Collections).
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from connectors.errors import ValidationError
from connectors.salesforce.oauth import SYSTEM
from connectors.salesforce.soql import soql_literal

if TYPE_CHECKING:
    from connectors.salesforce.connector import RecordResult, SalesforceConnector

CHUNK = 200  # records per sObject Collections call, and codes per lookup query
STANDARD_BOOK = "SELECT Id FROM Pricebook2 WHERE IsStandard = true LIMIT 1"
ENTRY = "PricebookEntry"


def load_products(crm: "SalesforceConnector", items: list[dict[str, Any]]) -> list[str]:
    """Each item (`sku`, `name`, optionally `active`, `unit_price`, `currency`) as a product
    with its standard list price; the refusals, as "<code>: <why>"."""
    refused: list[str] = []
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        with crm.client.batch():
            products = products_by_code(crm, [item["sku"] for item in chunk])
            refused += create_missing(crm, chunk, products)
            priced = [item for item in chunk if item.get("unit_price") not in (None, "")]
            if priced:
                refused += set_list_prices(crm, priced, products)
    return refused


def products_by_code(crm: "SalesforceConnector", codes: list[str]) -> dict[str, list[str]]:
    """The Ids of the products with each code, by the code case-folded (SOQL compares codes
    without case, and so does a person looking for one)."""
    listed = ", ".join(soql_literal(code, "string") for code in codes)
    found: dict[str, list[str]] = {}
    for row in crm.query(f"SELECT Id, ProductCode FROM Product2 WHERE ProductCode IN ({listed})"):
        found.setdefault(row["ProductCode"].casefold(), []).append(row["Id"])
    return found


def create_missing(
    crm: "SalesforceConnector", items: list[dict[str, Any]], products: dict[str, list[str]]
) -> list[str]:
    """Products for the items the org lacks, added to `products`; the refusals."""
    missing = [item for item in items if item["sku"].casefold() not in products]
    records = [
        {"Name": item.get("name") or item["sku"], "ProductCode": item["sku"],
         "IsActive": item.get("active", True)}
        for item in missing
    ]  # fmt: skip
    refused = []
    for item, result in zip(missing, crm.create_many("Product2", records), strict=True):
        if result.success:
            products[item["sku"].casefold()] = [str(result.id)]
        else:
            refused.append(f"{item['sku']}: {result.error}")
    return refused


def set_list_prices(
    crm: "SalesforceConnector", items: list[dict[str, Any]], products: dict[str, list[str]]
) -> list[str]:
    """Each product's standard price book entry at the item's price: created, or updated
    where its price or active flag differs; the refusals."""
    book = standard_book(crm)
    fields = crm.fields(ENTRY)
    places = Decimal(1).scaleb(-int(fields["unitprice"].get("scale") or 2))
    multi_currency = "currencyisocode" in fields
    product_ids = [pid for item in items for pid in products.get(item["sku"].casefold(), [])]
    entries = entries_of(crm, book, product_ids, multi_currency)
    creates: list[tuple[str, dict[str, Any]]] = []
    updates: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        price = Decimal(str(item["unit_price"])).quantize(places, rounding=ROUND_HALF_UP)
        active = bool(item.get("active", True))
        currency = str(item.get("currency") or "").upper() if multi_currency else ""
        for product_id in products.get(item["sku"].casefold(), []):
            entry = entries.get((product_id, currency))
            wanted = {"UnitPrice": float(price), "IsActive": active}
            if entry is None:
                made = {"Pricebook2Id": book, "Product2Id": product_id, **wanted}
                creates.append(
                    (item["sku"], made | ({"CurrencyIsoCode": currency} if currency else {}))
                )
            elif Decimal(str(entry["UnitPrice"])) != price or entry["IsActive"] != active:
                updates.append((item["sku"], {"Id": entry["Id"], **wanted}))
    return [
        *refusals(creates, crm.create_many(ENTRY, [record for _, record in creates])),
        *refusals(updates, crm.update_many(ENTRY, [record for _, record in updates])),
    ]


def standard_book(crm: "SalesforceConnector") -> str:
    """The org's standard price book: every list price is kept there first."""
    found = next(iter(crm.query(STANDARD_BOOK)), None)
    if found is None:
        raise ValidationError(
            "The Salesforce org has no standard price book to keep list prices in: ask a "
            "Salesforce admin to open Setup → Price Books, then retry.",
            fields={"Pricebook2": "no standard price book"},
            system=SYSTEM,
        )
    return found["Id"]


def entries_of(
    crm: "SalesforceConnector", book: str, product_ids: list[str], multi_currency: bool
) -> dict[tuple[str, str], dict[str, Any]]:
    """The book's entries of these products, by (product Id, currency: "" in an org of one
    currency)."""
    columns = "Id, Product2Id, UnitPrice, IsActive" + (
        ", CurrencyIsoCode" if multi_currency else ""
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(product_ids), CHUNK):
        listed = ", ".join(soql_literal(pid, "id") for pid in product_ids[start : start + CHUNK])
        soql = (
            f"SELECT {columns} FROM {ENTRY} WHERE Pricebook2Id = {soql_literal(book, 'id')} "
            f"AND Product2Id IN ({listed})"
        )
        for row in crm.query(soql):
            found[row["Product2Id"], row.get("CurrencyIsoCode") or ""] = row
    return found


def refusals(
    sent: Iterable[tuple[str, dict[str, Any]]], results: list["RecordResult"]
) -> list[str]:
    return [
        f"{code}: {result.error}"
        for (code, _), result in zip(sent, results, strict=True)
        if not result.success
    ]
