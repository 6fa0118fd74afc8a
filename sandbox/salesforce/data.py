"""Deterministic seed data: users (the integration user, and the sales reps owning the
accounts), accounts, contacts, the shared product catalogue in a standard price book (USD
and EUR), opportunities in every stage with line items, orders from some won
opportunities, and draft orders straight on accounts (a sales rep activates them: "Activate").

Dates are relative to today so LAST_N_DAYS and the "recent deals" views show something.
A few deals sell codes Sage does not know (`CODES_UNKNOWN_TO_SAGE`) on purpose.
"""

import random
from datetime import date, timedelta

from sandbox.catalogue import CODES_UNKNOWN_TO_SAGE, PRODUCTS, SAGE100_INACTIVE_CODES
from sandbox.salesforce import ids
from sandbox.salesforce.auth import USERNAMES
from sandbox.salesforce.records import Records
from sandbox.salesforce.schema import USER_ID, sobject

EUR_PER_USD = 0.92
FAMILIES = {"widget": "Widgets", "gadget": "Gadgets", "service": "Services", "kit": "Kits"}
UNKNOWN_PRODUCT_NAMES = {"WIDGET-999": "Prototype Widget 999", "GADGET-998": "Legacy Gadget 998"}

ACCOUNTS = [  # name, industry, street, city, state, postal code, country, phone, currency
    ("Northwind Traders", "Retail", "120 Harbor Way", "Seattle", "WA", "98101", "USA",
     "(206) 555-0142", "USD"),
    ("Blue Ridge Manufacturing", "Manufacturing", "48 Industrial Pkwy", "Asheville", "NC",
     "28801", "USA", "(828) 555-0190", "USD"),
    ("Cascade Outdoor Supply", "Retail", "901 Pine St", "Portland", "OR", "97205", "USA",
     "(503) 555-0117", "USD"),
    ("Summit Healthcare Group", "Healthcare", "2200 Medical Center Dr", "Denver", "CO", "80218",
     "USA", "(303) 555-0166", "USD"),
    ("Lakeshore Logistics", "Transportation", "77 Wacker Dr", "Chicago", "IL", "60601", "USA",
     "(312) 555-0103", "USD"),
    ("Redwood Construction Co.", "Construction", "15 Mill Valley Rd", "Santa Rosa", "CA", "95401",
     "USA", "(707) 555-0185", "USD"),
    ("Granite State Electric", "Utilities", "3 Elm St", "Manchester", "NH", "03101", "USA",
     "(603) 555-0129", "USD"),
    ("Desert Sun Hospitality", "Hospitality", "455 Camelback Rd", "Phoenix", "AZ", "85013", "USA",
     "(602) 555-0177", "USD"),
    ("Bayou Energy Partners", "Energy", "1010 Louisiana St", "Houston", "TX", "77002", "USA",
     "(713) 555-0158", "USD"),
    ("Keystone Engineering", "Engineering", "600 Grant St", "Pittsburgh", "PA", "15219", "USA",
     "(412) 555-0136", "USD"),
    ("Prairie Agri Systems", "Agriculture", "88 County Rd 12", "Lincoln", "NE", "68508", "USA",
     "(402) 555-0111", "USD"),
    ("Harborview Electronics", "Electronics", "2 Seaport Ln", "Boston", "MA", "02210", "USA",
     "(617) 555-0194", "USD"),
    ("Magnolia School District", "Education", "310 Oak Ave", "Jackson", "MS", "39201", "USA",
     "(601) 555-0122", "USD"),
    ("Silver Lake Technologies", "Technology", "1800 Sunset Blvd", "Los Angeles", "CA", "90026",
     "USA", "(213) 555-0150", "USD"),
    ("Evergreen Facilities", "Other", "520 Capitol Way", "Olympia", "WA", "98501", "USA",
     "(360) 555-0183", "USD"),
    ("Ironworks Fabrication", "Manufacturing", "45 Furnace St", "Birmingham", "AL", "35203",
     "USA", "(205) 555-0105", "USD"),
    ("Coastal Marine Services", "Transportation", "12 Wharf Rd", "Charleston", "SC", "29401",
     "USA", "(843) 555-0171", "USD"),
    ("Pioneer Medical Devices", "Healthcare", "990 Research Blvd", "Austin", "TX", "78759", "USA",
     "(512) 555-0147", "USD"),
    ("Rheinland Maschinenbau GmbH", "Manufacturing", "Industriestraße 14", "Köln", "NRW",
     "50667", "Germany", "+49 221 555 0140", "EUR"),
    ("Lumière Hôtels SARL", "Hospitality", "18 Rue de Rivoli", "Paris", "Île-de-France",
     "75004", "France", "+33 1 55 50 01 23", "EUR"),
    ("Van Dijk Installatietechniek B.V.", "Construction", "Keizersgracht 221", "Amsterdam",
     "Noord-Holland", "1016 DV", "Netherlands", "+31 20 555 0188", "EUR"),
    ("Alpine Energie AG", "Energy", "Bahnhofplatz 3", "Innsbruck", "Tirol", "6020", "Austria",
     "+43 512 555 019", "EUR"),
]  # fmt: skip

FIRST_NAMES = ["Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia",
               "Ethan", "Harper", "Mason", "Amelia", "Logan", "Grace", "Daniel", "Chloe", "Henry",
               "Priya", "Marco", "Anke", "Julien", "Sanne", "Lukas"]  # fmt: skip
LAST_NAMES = ["Carter", "Nguyen", "Patel", "Okafor", "Schmidt", "Rossi", "Hughes", "Kim",
              "Alvarez", "Murphy", "Bennett", "Foster", "Reyes", "Sullivan", "Brooks", "Dubois",
              "de Vries", "Hofer", "Lindqvist", "Morgan"]  # fmt: skip
TITLES = ["Purchasing Manager", "Operations Director", "CFO", "Facilities Manager",
          "Procurement Specialist", "VP Operations", "Office Manager", "Plant Manager"]  # fmt: skip
DEAL_KINDS = ["Annual Restock", "Facility Upgrade", "Pilot Order", "Expansion", "Replacement Parts",
              "Service Agreement", "Site Install", "Q3 Order", "Fleet Refit"]  # fmt: skip
INTEGRATION_USER = ("Integration", "User")
SALES_REPS = [("Dana", "Whitfield"), ("Marcus", "Oyelaran"), ("Ingrid", "Solberg")]
DRAFT_ORDERS = 6  # on USD accounts, selling items Sage 100 has, under the approval threshold
OPEN_STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
               "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
               "Negotiation/Review"]  # fmt: skip


def seed(records: Records, today: date) -> None:
    """Fill an empty org; deterministic for a given day."""
    rng = random.Random(59)
    owners = seed_users(records)
    accounts = seed_accounts(records, rng, owners)
    book, entries = seed_catalogue(records)
    seed_opportunities(records, rng, today, accounts, book, entries)
    seed_draft_orders(records, today, accounts, book, entries)


def seed_users(records: Records) -> list[str]:
    """The integration user the API runs as (every record's owner unless given), and the
    sales reps who own the accounts; the reps' Ids."""
    user_obj = sobject("User")
    first, last = INTEGRATION_USER
    integration = {field.name: field.default for field in user_obj.fields} | {
        "Id": USER_ID, "IsDeleted": False, "FirstName": first, "LastName": last,
        "Name": f"{first} {last}", "Username": USERNAMES[0], "Email": USERNAMES[0],
        "Alias": "integ", "Title": "API user", "IsActive": True,
        "CreatedDate": ids.format_datetime(ids.now()), "CreatedById": USER_ID,
        "LastModifiedDate": ids.format_datetime(ids.now()), "LastModifiedById": USER_ID,
        "SystemModstamp": ids.format_datetime(ids.now()),
    }  # fmt: skip
    records.store.put("User", USER_ID, integration)
    reps = []
    for first, last in SALES_REPS:
        email = f"{first}.{last}@clarity-sandbox.example".lower()
        reps.append(records.create(user_obj, {
            "FirstName": first, "LastName": last, "Title": "Account Executive",
            "Username": email, "Email": email, "Alias": first[:5].lower(),
        }))  # fmt: skip
    return reps


def seed_accounts(records: Records, rng: random.Random, owners: list[str]) -> list[tuple[str, str]]:
    account_obj, contact_obj = sobject("Account"), sobject("Contact")
    accounts = []
    for number, (name, industry, street, city, state, postal, country, phone, currency) in (
        enumerate(ACCOUNTS, start=1)
    ):  # fmt: skip
        domain = name.split()[0].lower().replace("è", "e")
        account_id = records.create(account_obj, {
            "Name": name, "Industry": industry, "Type": "Customer - Direct",
            "OwnerId": owners[number % len(owners)],
            "AccountNumber": f"CC-{1000 + number}", "Phone": phone,
            "Website": f"https://www.{domain}.example", "CurrencyIsoCode": currency,
            "BillingStreet": street, "BillingCity": city, "BillingState": state,
            "BillingPostalCode": postal, "BillingCountry": country,
            "ShippingStreet": street, "ShippingCity": city, "ShippingState": state,
            "ShippingPostalCode": postal, "ShippingCountry": country,
            "ExternalID__c": f"CRM-ACC-{number:04d}" if number <= 16 else None,
        })  # fmt: skip
        accounts.append((account_id, currency))
        for _ in range(rng.randint(1, 3)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            records.create(contact_obj, {
                "FirstName": first, "LastName": last, "Title": rng.choice(TITLES),
                "Email": f"{first}.{last.replace(' ', '')}@{domain}.example".lower(),
                "Phone": phone, "AccountId": account_id, "CurrencyIsoCode": currency,
            })  # fmt: skip
    return accounts


def seed_catalogue(records: Records) -> tuple[str, dict[tuple[str, str], str]]:
    """The standard price book; entries keyed by (product code, currency)."""
    book = records.create(sobject("Pricebook2"), {"Name": "Standard Price Book", "IsActive": True})
    stored = records.get(sobject("Pricebook2"), book)
    records.store.put("Pricebook2", book, {**stored, "IsStandard": True})
    catalogue = [(p.code, p.name, float(p.price), FAMILIES[p.category]) for p in PRODUCTS]
    catalogue += [
        (code, UNKNOWN_PRODUCT_NAMES[code], 149.0, "Widgets" if "WIDGET" in code else "Gadgets")
        for code in CODES_UNKNOWN_TO_SAGE
    ]
    entries = {}
    for index, (code, name, price, family) in enumerate(catalogue):
        product = records.create(sobject("Product2"), {
            "Name": name, "ProductCode": code, "Family": family, "IsActive": True,
            "Quantity_On_Hand__c": (index * 37) % 500,
        })  # fmt: skip
        for currency, rate in (("USD", 1.0), ("EUR", EUR_PER_USD)):
            entries[code, currency] = records.create(sobject("PricebookEntry"), {
                "Pricebook2Id": book, "Product2Id": product, "UnitPrice": round(price * rate, 2),
                "IsActive": True, "CurrencyIsoCode": currency,
            })  # fmt: skip
    return book, entries


def seed_opportunities(
    records: Records,
    rng: random.Random,
    today: date,
    accounts: list[tuple[str, str]],
    book: str,
    entries: dict[tuple[str, str], str],
) -> None:
    opportunity_obj, line_obj = sobject("Opportunity"), sobject("OpportunityLineItem")
    codes = [p.code for p in PRODUCTS]
    won_numbers = []
    for number in range(1, 49):
        account_id, currency = accounts[(number * 7) % len(accounts)]
        account_name = records.get(sobject("Account"), account_id)["Name"]
        stage = "Closed Won" if number % 4 == 0 else ("Closed Lost" if number % 9 == 0 else None)
        stage = stage or OPEN_STAGES[number % len(OPEN_STAGES)]
        closed = stage.startswith("Closed")
        close_date = today + timedelta(days=-rng.randint(1, 60) if closed else rng.randint(5, 90))
        opportunity_id = records.create(opportunity_obj, {
            "Name": f"{account_name} - {rng.choice(DEAL_KINDS)}", "AccountId": account_id,
            "StageName": stage, "CloseDate": close_date.isoformat(), "Pricebook2Id": book,
            "CurrencyIsoCode": currency, "Type": rng.choice(["New Customer",
                                                             "Existing Customer - Upgrade"]),
            "LeadSource": rng.choice(["Web", "Phone Inquiry", "Partner Referral", "Trade Show"]),
            "ExternalID__c": f"CRM-OPP-{number:04d}",
        })  # fmt: skip
        line_codes = rng.sample(codes, rng.randint(1, 4))
        if number in (10, 28, 31):  # deals Sage cannot fulfil: an item code it does not know
            line_codes[0] = CODES_UNKNOWN_TO_SAGE[number % 2]
        big = number in (12, 20, 36)
        for code in line_codes:
            quantity = rng.randint(40, 120) if big else rng.choice([1, 2, 3, 5, 10, 12, 25])
            records.create(line_obj, {
                "OpportunityId": opportunity_id, "PricebookEntryId": entries[code, currency],
                "Quantity": quantity, "ServiceDate": close_date.isoformat(),
            })  # fmt: skip
        if stage == "Closed Won" and number % 8 == 0:
            records.update(opportunity_obj, opportunity_id, {"Sage_Order_No__c": f"SO{number:05d}"})
            won_numbers.append((opportunity_id, account_id, currency, close_date))
        age_days = max((today - close_date).days, 0) + rng.randint(5, 60)
        backdate(records, "Opportunity", opportunity_id, age_days)
    seed_orders(records, book, entries, won_numbers, rng)


def backdate(records: Records, obj_name: str, record_id: str, days: int) -> None:
    """Seeded records were created over the last months, not all at reset time."""
    record = records.store.get(obj_name, record_id)
    created = ids.format_datetime(ids.now() - timedelta(days=days))
    records.store.put(obj_name, record_id, {**record, "CreatedDate": created})


def seed_orders(
    records: Records,
    book: str,
    entries: dict[tuple[str, str], str],
    won: list[tuple[str, str, str, date]],
    rng: random.Random,
) -> None:
    order_obj, item_obj = sobject("Order"), sobject("OrderItem")
    for index, (opportunity_id, account_id, currency, close_date) in enumerate(won):
        order_id = records.create(order_obj, {
            "AccountId": account_id, "OpportunityId": opportunity_id, "Status": "Draft",
            "EffectiveDate": close_date.isoformat(), "Pricebook2Id": book,
            "CurrencyIsoCode": currency, "PoNumber": f"PO-{4400 + index}",
        })  # fmt: skip
        for line in records.all(sobject("OpportunityLineItem")):
            if line["OpportunityId"] == opportunity_id:
                records.create(item_obj, {
                    "OrderId": order_id, "PricebookEntryId": line["PricebookEntryId"],
                    "Quantity": line["Quantity"], "UnitPrice": line["UnitPrice"],
                })  # fmt: skip
        if index % 2 == 0:
            records.update(order_obj, order_id, {"Status": "Activated"})


def seed_draft_orders(
    records: Records,
    today: date,
    accounts: list[tuple[str, str]],
    book: str,
    entries: dict[tuple[str, str], str],
) -> None:
    """Orders keyed in on an account (no opportunity), still Draft; every other one names a
    bill-to contact."""
    rng = random.Random(801)
    order_obj, item_obj = sobject("Order"), sobject("OrderItem")
    sellable = [p.code for p in PRODUCTS if p.code not in SAGE100_INACTIVE_CODES]
    usd = [account_id for account_id, currency in accounts if currency == "USD"]
    contacts = records.all(sobject("Contact"))
    for number in range(1, DRAFT_ORDERS + 1):
        account_id = usd[(number * 5) % len(usd)]
        account = records.get(sobject("Account"), account_id)
        contact = next(c["Id"] for c in contacts if c["AccountId"] == account_id)
        order_id = records.create(order_obj, {
            "Name": f"{account['Name']} - Web Order {number}", "AccountId": account_id,
            "Status": "Draft", "EffectiveDate": today.isoformat(), "Pricebook2Id": book,
            "CurrencyIsoCode": "USD", "PoNumber": f"PO-{7700 + number}",
            "BillToContactId": contact if number % 2 else None,
        })  # fmt: skip
        for code in rng.sample(sellable, rng.randint(1, 3)):
            entry = records.get(sobject("PricebookEntry"), entries[code, "USD"])
            records.create(item_obj, {
                "OrderId": order_id, "PricebookEntryId": entry["Id"],
                "Quantity": rng.choice([1, 2, 4, 6, 10]), "UnitPrice": entry["UnitPrice"],
            })  # fmt: skip
