"""A Salesforce Opportunity made for an order keyed in Sage (`CrmRole.create_deal`): on the
Account, at the stage asked for (else the first active one), with Amount, CloseDate (the
order's date), Sage_Order_No__c and the order's lines as OpportunityLineItems, so winning it
passes the won-deal flow's lines check. Each line names its product's entry in the standard
price book: a product or entry the org lacks is made as `prices_to_crm` makes them (the
entry at the order's price); an existing list price is left as it is. Once it has lines,
Salesforce keeps the Amount as their sum.

The create matches on Sage_Order_No__c first, so a retry after a lost reply finds the
opportunity the first try made instead of making another, and adds only the lines it lacks.
"""

from collections import Counter
from decimal import Decimal
from typing import Any

from connectors.errors import ValidationError
from connectors.salesforce.oauth import SYSTEM
from connectors.salesforce.products import (
    ENTRY,
    create_missing,
    entries_of,
    products_by_code,
    standard_book,
)
from connectors.salesforce.soql import soql_literal

OPPORTUNITY = "Opportunity"
LINE = "OpportunityLineItem"
ORDER_FIELD = "Sage_Order_No__c"


def create_opportunity(crm: Any, account_key: str, values: dict[str, Any], key: str) -> str:
    """The opportunity for the order (found, or made on the account), with its lines; its Id."""
    if not values.get("order_number"):
        raise ValidationError(
            "A deal made from a Sage order needs the order's number.",
            system=SYSTEM,
            fields={"order_number": "required"},
        )
    stage = values.get("stage") or crm.deal_stages()[0]
    data = {
        "AccountId": account_key,
        "Name": values["name"],
        "StageName": stage,
        "Amount": f"{Decimal(str(values.get('amount') or 0)):.2f}",
        "CloseDate": values["close_date"].isoformat(),
        ORDER_FIELD: values["order_number"],
    }
    opportunity = crm.create(OPPORTUNITY, data, key, match_on=ORDER_FIELD)["Id"]
    if values.get("lines"):
        add_lines(crm, opportunity, values["lines"], str(values.get("currency") or ""))
    return opportunity


def add_lines(crm: Any, opportunity: str, lines: list[dict[str, Any]], currency: str) -> None:
    """The order's lines the opportunity lacks (by price book entry, as many as the order
    has), each at the order's quantity and price."""
    entries = entry_ids(crm, lines, currency)
    had = Counter(
        row["PricebookEntryId"]
        for row in crm.query(
            f"SELECT PricebookEntryId FROM {LINE} "
            f"WHERE OpportunityId = {soql_literal(opportunity, 'id')}"
        )
    )
    records = []
    for line in lines:
        entry = entries[line["sku"].casefold()]
        if had[entry]:
            had[entry] -= 1
            continue
        records.append({"OpportunityId": opportunity, "PricebookEntryId": entry,
                        "Quantity": float(line["quantity"]),
                        "UnitPrice": float(line["unit_price"])})  # fmt: skip
    refused = [
        f"{record['PricebookEntryId']}: {result.error}"
        for record, result in zip(records, crm.create_many(LINE, records), strict=True)
        if not result.success
    ]
    if refused:
        raise refusal("the opportunity's lines", refused)


def entry_ids(crm: Any, lines: list[dict[str, Any]], currency: str) -> dict[str, str]:
    """Each line's item code (case-folded) → its standard price book entry's Id; products
    and entries the org lacks are made, an entry at the line's price."""
    codes = list(dict.fromkeys(line["sku"] for line in lines))
    products = products_by_code(crm, codes)
    refused = create_missing(crm, [{"sku": code, "name": code} for code in codes], products)
    if refused:
        raise refusal("the products of the order's lines", refused)
    book = standard_book(crm)
    multi_currency = "currencyisocode" in crm.fields(ENTRY)
    currency = currency.upper() if multi_currency else ""
    product_of = {code.casefold(): products[code.casefold()][0] for code in codes}
    entries = entries_of(crm, book, list(product_of.values()), multi_currency)
    prices = {line["sku"].casefold(): line["unit_price"] for line in lines}
    missing = [code for code, product in product_of.items() if (product, currency) not in entries]
    made = [
        {"Pricebook2Id": book, "Product2Id": product_of[code], "IsActive": True,
         "UnitPrice": float(prices[code])} | ({"CurrencyIsoCode": currency} if currency else {})
        for code in missing
    ]  # fmt: skip
    found = {code: entries[product, currency]["Id"] for code, product in product_of.items()
             if (product, currency) in entries}  # fmt: skip
    for code, result in zip(missing, crm.create_many(ENTRY, made), strict=True):
        if not result.success:
            raise refusal("a price book entry", [f"{code}: {result.error}"])
        found[code] = str(result.id)
    return found


def refusal(what: str, refused: list[str]) -> ValidationError:
    return ValidationError(
        f"Salesforce refused {what}: {'; '.join(refused)}. Fix the product or price book "
        "entry in Salesforce (or the item in Sage), then retry: the opportunity is kept and "
        "gets only the lines it lacks.",
        system=SYSTEM,
        fields={LINE: "refused"},
    )
