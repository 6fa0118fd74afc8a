"""Deterministic seed data for the Sage 100 sandbox: reference tables, customers, contacts
and items. Orders, invoices and receipts are in `orders.py`; `seed.py` puts them together.

Seed dates run up to SEED_DATE (fixed, so every run is identical). Customer balances:
CurrentBalance is the customer's whole open balance; AgingCategory1-4 are the parts of it
1-30, 31-60, 61-90 and over 90 days past due.
"""

import random
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from agent.backend import free_customer_code
from sandbox.catalogue import PRODUCTS, SAGE100_INACTIVE_CODES, SAGE100_ONLY_PRODUCTS, Product
from sandbox.sage100.prices import KIT_PRICE_CODE
from sandbox.sage100.rules import CLERK_USER_KEYS, TAX_RATES, decimal_hours
from sandbox.sage100.schema import TABLES_BY_NAME

Row = dict[str, Any]

SEED_DATE = date(2025, 6, 30)
COMPANY_CODE = "ABC"

DIVISIONS = [("00", "North America"), ("01", "Europe")]
TERMS = [
    ("00", "Cash on Delivery", 0, 0, "0"), ("01", "Net 30 Days", 30, 0, "0"),
    ("02", "Net 15 Days", 15, 0, "0"), ("03", "2% 10 Net 30", 30, 10, "2"),
    ("04", "Net 60 Days", 60, 0, "0"), ("05", "Due on Receipt", 0, 0, "0"),
]  # fmt: skip
WAREHOUSES = [
    ("000", "Central Warehouse", "2400 Industrial Dr", "Madison", "WI", "53704", "USA"),
    ("001", "East Coast Warehouse", "88 Port Jersey Blvd", "Jersey City", "NJ", "07305", "USA"),
]
# (AccountKey, Account, description, AccountType, AccountGroup)
GL_ACCOUNTS = [
    ("000000001", "1000-00-00", "Cash in Bank - Operating", "01", "Cash"),
    ("000000002", "1010-00-00", "Cash in Bank - Payroll", "01", "Cash"),
    ("000000003", "1200-00-00", "Accounts Receivable", "02", "Receivables"),
    ("000000004", "1210-00-00", "Allowance for Doubtful Accounts", "02", "Receivables"),
    ("000000005", "1300-00-00", "Inventory - Widgets", "04", "Inventory"),
    ("000000006", "1310-00-00", "Inventory - Gadgets", "04", "Inventory"),
    ("000000007", "1320-00-00", "Inventory - Kits", "04", "Inventory"),
    ("000000008", "1330-00-00", "Inventory - Parts", "04", "Inventory"),
    ("000000009", "2000-00-00", "Accounts Payable", "07", "Current Liab"),
    ("000000010", "2200-00-00", "Sales Tax Payable", "07", "Current Liab"),
    ("000000011", "2300-00-00", "Customer Deposits", "07", "Current Liab"),
    ("000000012", "3000-00-00", "Common Stock", "09", "Equity"),
    ("000000013", "3900-00-00", "Retained Earnings", "10", "Equity"),
    ("000000014", "4000-00-00", "Sales - Widgets", "11", "Revenue"),
    ("000000015", "4010-00-00", "Sales - Gadgets", "11", "Revenue"),
    ("000000016", "4020-00-00", "Sales - Kits", "11", "Revenue"),
    ("000000017", "4030-00-00", "Sales - Parts", "11", "Revenue"),
    ("000000018", "4100-00-00", "Service Revenue", "11", "Revenue"),
    ("000000019", "4900-00-00", "Sales Discounts", "11", "Revenue"),
    ("000000020", "5000-00-00", "Cost of Goods Sold - Widgets", "12", "Cost of Sales"),
    ("000000021", "5010-00-00", "Cost of Goods Sold - Gadgets", "12", "Cost of Sales"),
    ("000000022", "5020-00-00", "Cost of Goods Sold - Kits", "12", "Cost of Sales"),
    ("000000023", "5030-00-00", "Cost of Goods Sold - Parts", "12", "Cost of Sales"),
    ("000000024", "5100-00-00", "Cost of Services", "12", "Cost of Sales"),
    ("000000025", "6000-00-00", "Salaries and Wages", "13", "Operating Exp"),
    ("000000026", "6100-00-00", "Freight Out", "13", "Operating Exp"),
]
# category -> (ProductLine, sales, cost of goods sold, inventory AccountKey)
PRODUCT_LINES = {
    "widget": ("WDGT", "000000014", "000000020", "000000005"),
    "gadget": ("GADG", "000000015", "000000021", "000000006"),
    "kit": ("KITS", "000000016", "000000022", "000000007"),
    "part": ("PART", "000000017", "000000023", "000000008"),
    "service": ("SERV", "000000018", "000000024", ""),
}

US_CITIES = [  # city, state, ZIP, area code
    ("Madison", "WI", "53703", "608"), ("Milwaukee", "WI", "53202", "414"),
    ("Chicago", "IL", "60607", "312"), ("Naperville", "IL", "60540", "630"),
    ("Minneapolis", "MN", "55401", "612"), ("Columbus", "OH", "43215", "614"),
    ("Cleveland", "OH", "44113", "216"), ("Pittsburgh", "PA", "15222", "412"),
    ("Philadelphia", "PA", "19106", "215"), ("Boston", "MA", "02110", "617"),
    ("Worcester", "MA", "01608", "508"), ("Albany", "NY", "12207", "518"),
    ("Rochester", "NY", "14604", "585"), ("Charlotte", "NC", "28202", "704"),
    ("Raleigh", "NC", "27601", "919"), ("Atlanta", "GA", "30303", "404"),
    ("Tampa", "FL", "33602", "813"), ("Orlando", "FL", "32801", "407"),
    ("Dallas", "TX", "75201", "214"), ("Austin", "TX", "78701", "512"),
    ("Houston", "TX", "77002", "713"), ("Denver", "CO", "80202", "303"),
    ("Seattle", "WA", "98104", "206"), ("Tacoma", "WA", "98402", "253"),
    ("Portland", "OR", "97204", "503"), ("San Jose", "CA", "95113", "408"),
    ("Sacramento", "CA", "95814", "916"), ("San Diego", "CA", "92101", "619"),
    ("Phoenix", "AZ", "85004", "602"), ("Salt Lake City", "UT", "84111", "801"),
    ("Nashville", "TN", "37203", "615"), ("Indianapolis", "IN", "46204", "317"),
]  # fmt: skip
EU_CITIES = [  # city, postcode, country, phone prefix, company suffixes, e-mail TLD
    ("München", "80331", "DEU", "+49 89", ["GmbH", "AG", "GmbH & Co. KG"], "de"),
    ("Hamburg", "20095", "DEU", "+49 40", ["GmbH", "AG"], "de"),
    ("Stuttgart", "70173", "DEU", "+49 711", ["GmbH", "GmbH & Co. KG"], "de"),
    ("Lyon", "69002", "FRA", "+33 4", ["SAS", "SARL"], "fr"),
    ("Paris", "75011", "FRA", "+33 1", ["SA", "SAS"], "fr"),
    ("Rotterdam", "3011 AA", "NLD", "+31 10", ["B.V."], "nl"),
    ("Eindhoven", "5611 AB", "NLD", "+31 40", ["B.V."], "nl"),
    ("Milano", "20121", "ITA", "+39 02", ["S.r.l.", "S.p.A."], "it"),
    ("Torino", "10121", "ITA", "+39 011", ["S.r.l."], "it"),
    ("Manchester", "M1 1AE", "GBR", "+44 161", ["Ltd", "plc"], "co.uk"),
    ("Birmingham", "B2 4QA", "GBR", "+44 121", ["Ltd"], "co.uk"),
    ("Dublin", "D02 X285", "IRL", "+353 1", ["Ltd", "DAC"], "ie"),
    ("Göteborg", "411 05", "SWE", "+46 31", ["AB"], "se"),
    ("Wien", "1010", "AUT", "+43 1", ["GmbH"], "at"),
    ("Barcelona", "08002", "ESP", "+34 93", ["S.L.", "S.A."], "es"),
]  # fmt: skip
US_STREETS = [
    "Main St", "Commerce Dr", "Industrial Pkwy", "Oak Ave", "Market St", "Elm St",
    "Lakeview Rd", "Enterprise Way", "Harbor Blvd", "Mill Rd", "Washington Ave", "Park Pl",
    "Riverside Dr", "Technology Dr", "Franklin St", "Cedar Ln", "Airport Rd", "Kings Hwy",
]  # fmt: skip
EU_STREETS = [
    "Hauptstraße", "Industriestraße", "Rue de la République", "Avenue Jean Jaurès",
    "Stationsweg", "Via Roma", "Corso Vittorio Emanuele", "High Street", "Mill Lane",
    "Kungsgatan", "Ringstraße", "Carrer de Balmes", "Marktplatz", "Havenstraat",
]  # fmt: skip
NAME_STEMS = [
    "Harper", "Lakeshore", "Summit", "Keystone", "Bayside", "Redwood", "Ironbridge", "Prairie",
    "Northwind", "Blue Ridge", "Granite", "Pioneer", "Cascade", "Sterling", "Evergreen",
    "Atlas", "Beacon", "Crestline", "Delta", "Falcon", "Heritage", "Liberty", "Meridian",
    "Pinnacle", "Riverbend", "Silverline", "Tri-County", "Westgate", "Whitfield", "Morrison",
    "Caldwell", "Hendricks", "Kowalski", "Olsen", "Brennan", "Novak", "Fischer", "Bauer",
    "Lindqvist", "Moreau", "Rossi", "Van Dijk", "Schneider", "Dubois", "Ferrari", "O'Neill",
]  # fmt: skip
INDUSTRIES = [
    "Manufacturing", "Tool & Die", "Packaging", "Industrial Supply", "Machine Works",
    "Electric", "Automation", "Fabrication", "Hydraulics", "Plastics", "Logistics",
    "Controls", "Equipment", "Engineering", "Metalworks", "Components", "Systems",
    "Facility Services", "Distribution", "Instruments",
]  # fmt: skip
US_SUFFIXES = ["Inc", "LLC", "Co", "Corp", "Inc", "LLC"]
FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "Daniel",
    "Susan", "Mark", "Karen", "Paul", "Lisa", "Steven", "Nancy", "Andrew", "Laura", "Kevin",
    "Emily", "Thomas", "Anna", "Lukas", "Sophie", "Pierre", "Claire", "Marco", "Giulia",
    "Sven", "Ingrid", "Sean", "Niamh", "Jan", "Eva", "Carlos", "Lucia",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Clark", "Lewis",
    "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Nelson", "Carter",
    "Müller", "Schmidt", "Lefebvre", "Bianchi", "Johansson", "Murphy", "De Vries", "García",
]  # fmt: skip
TITLES = ["Purchasing Mgr", "Buyer", "Controller", "Owner", "Operations Mgr", "AP Clerk"]
SHIP_METHODS = ["UPS GROUND", "UPS 2ND DAY", "FEDEX GROUND", "FEDEX 2DAY", "BEST WAY", "DHL"]
CUSTOMER_TYPES = ["DIST", "MFG", "RETL", "SERV"]
SALESPEOPLE = ["0100", "0200", "0300", "0400"]
# AR_Salesperson: two share their email with Streak team members, one with a Salesforce
# sales rep, and one only a Streak member's name (another email), for the salespeople fill.
SALESPERSON_PEOPLE = [
    ("0100", "Alex Morgan", "alex.morgan@claritydemo.com"),
    ("0200", "Priya Raman", "priya.raman@claritydemo.com"),
    ("0300", "Dana Whitfield", "dana.whitfield@clarity-sandbox.example"),
    ("0400", "Daniel Okafor", "d.okafor@sage-sales.example"),
]
US_CUSTOMER_COUNT = 230
EU_CUSTOMERS_PER_CITY = 4


def audit(moment: datetime, updated: datetime | None = None, user: str = "") -> Row:
    """The six audit columns for a row created at `moment` (and updated at `updated`)."""
    updated = updated or moment
    user = user or CLERK_USER_KEYS[moment.day % len(CLERK_USER_KEYS)]
    return {
        "DateCreated": moment.date(), "TimeCreated": decimal_hours(moment),
        "UserCreatedKey": user, "DateUpdated": updated.date(),
        "TimeUpdated": decimal_hours(updated), "UserUpdatedKey": user,
    }  # fmt: skip


def moment_on(day: date, rng: random.Random) -> datetime:
    """A working-hours time on `day`."""
    return datetime.combine(day, time(rng.randint(7, 17), rng.randint(0, 59), rng.randint(0, 59)))


def row(table: str, **values: Any) -> Row:
    """A full row of `table`: the given values over Sage's blanks."""
    return TABLES_BY_NAME[table].row(**values)


def reference_rows() -> dict[str, list[Row]]:
    created = datetime(2015, 1, 5, 9, 0)
    stamp = audit(created, user="0000000001")
    return {
        "AR_Division": [
            row("AR_Division", ARDivisionNo=no, DivisionDesc=desc, **stamp)
            for no, desc in DIVISIONS
        ],
        "AR_TermsCode": [
            row("AR_TermsCode", TermsCode=code, TermsCodeDesc=desc, DaysBeforeDue=days,
                DiscountDays=discount_days, DiscountRate=float(rate), **stamp)
            for code, desc, days, discount_days, rate in TERMS
        ],
        "IM_Warehouse": [
            row("IM_Warehouse", WarehouseCode=code, WarehouseDesc=desc, AddressLine1=street,
                City=city, State=state, ZipCode=zip_code, CountryCode=country, **stamp)
            for code, desc, street, city, state, zip_code, country in WAREHOUSES
        ],
        "GL_Account": [
            row("GL_Account", AccountKey=key, Account=account, AccountDesc=desc,
                RawAccount=account.replace("-", ""), MainAccountCode=account[:4], Status="A",
                AccountType=kind, AccountGroup=group, AccountCategory="B" if kind < "11" else "P",
                **stamp)
            for key, account, desc, kind, group in GL_ACCOUNTS
        ],
        "AR_Salesperson": [
            row("AR_Salesperson", SalespersonDivisionNo="00", SalespersonNo=number,
                SalespersonName=name, EmailAddress=email, **stamp)
            for number, name, email in SALESPERSON_PEOPLE
        ],
    }  # fmt: skip


def _company_name(rng: random.Random, suffixes: list[str], taken: set[str]) -> str:
    while True:
        name = f"{rng.choice(NAME_STEMS)} {rng.choice(INDUSTRIES)} {rng.choice(suffixes)}"
        if name not in taken and len(name) <= 50:
            taken.add(name)
            return name


def ascii_word(text: str) -> str:
    """Lower-case ASCII letters only, as e-mail addresses and domains want them."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum())


def _domain(name: str, tld: str) -> str:
    words = [ascii_word(word) for word in name.replace("&", " ").split()[:2]]
    return f"{''.join(words)}.{tld}"


def customer_rows(rng: random.Random) -> tuple[list[Row], list[Row]]:
    """About three hundred customers (US in division 00, European in 01) and their contacts."""
    customers: list[Row] = []
    contacts: list[Row] = []
    names: set[str] = set()
    numbers: set[str] = set()
    plans = [("00", None)] * US_CUSTOMER_COUNT
    plans += [("01", city) for city in EU_CITIES] * EU_CUSTOMERS_PER_CITY
    for division, eu_city in plans:
        if eu_city is None:
            city, state, zip_code, area = rng.choice(US_CITIES)
            country, tld, street = "USA", "com", rng.choice(US_STREETS)
            name = _company_name(rng, US_SUFFIXES, names)
            address = f"{rng.randint(100, 9899)} {street}"
            phone = f"({area}) 555-{rng.randint(100, 199):04d}"
            tax_schedule = state if state in TAX_RATES else "NONTAX"
        else:
            city, zip_code, country, prefix, suffixes, tld = eu_city
            state, tax_schedule = "", "NONTAX"
            name = _company_name(rng, suffixes, names)
            address = f"{rng.choice(EU_STREETS)} {rng.randint(1, 180)}"
            phone = f"{prefix} 555 {rng.randint(1000, 9999)}"
        customer_no = free_customer_code(name, numbers)
        numbers.add(customer_no)
        domain = _domain(name, tld)
        established = SEED_DATE - timedelta(days=rng.randint(200, 4000))
        created = moment_on(established, rng)
        updated = moment_on(SEED_DATE - timedelta(days=rng.randint(0, 150)), rng)
        people = [
            (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(rng.randint(1, 3))
        ]
        contact_codes: list[str] = []
        for first, last in people:
            code = (first[0] + last).upper().replace(" ", "").replace("'", "")[:10]
            if code in contact_codes:
                continue
            contact_codes.append(code)
            contacts.append(row(
                "AR_CustomerContact", ARDivisionNo=division, CustomerNo=customer_no,
                ContactCode=code, ContactName=f"{first} {last}", AddressLine1=address,
                City=city, State=state, ZipCode=zip_code, CountryCode=country,
                ContactTitle=rng.choice(TITLES), TelephoneNo1=phone,
                EmailAddress=f"{ascii_word(first)}.{ascii_word(last)}@{domain}",
                **audit(created, updated),
            ))  # fmt: skip
        customers.append(row(
            "AR_Customer", ARDivisionNo=division, CustomerNo=customer_no, CustomerName=name,
            AddressLine1=address, City=city, State=state, ZipCode=zip_code, CountryCode=country,
            TelephoneNo=phone, EmailAddress=f"{rng.choice(['ap', 'orders', 'info'])}@{domain}",
            URLAddress=f"www.{domain}", ContactCode=contact_codes[0],
            ShipMethod=rng.choice(SHIP_METHODS), TaxSchedule=tax_schedule,
            TermsCode=rng.choice(["01", "01", "01", "02", "03", "04", "05"]),
            SalespersonNo=rng.choice(SALESPEOPLE), CustomerType=rng.choice(CUSTOMER_TYPES),
            PriceLevel="", CreditHold="Y" if rng.random() < 0.04 else "N",
            CustomerStatus="I" if rng.random() < 0.03 else "A",
            CreditLimit=float(rng.choice([5000, 10000, 15000, 25000, 50000, 100000])),
            DateEstablished=established, PrimaryShipToCode="", **audit(created, updated),
        ))  # fmt: skip
    return customers, contacts


def _item_row(product: Product, rng: random.Random, created: datetime) -> Row:
    product_line, sales, cogs, inventory = PRODUCT_LINES[product.category]
    is_service = product.category == "service"
    cost = (product.price * Decimal(rng.choice(["0.45", "0.55", "0.6", "0.65"]))).quantize(
        Decimal("0.01")
    )
    return row(
        "CI_Item", ItemCode=product.code, ItemType="3" if is_service else "1",
        ItemCodeDesc=product.name, ProductLine=product_line,
        ProductType="K" if product.category == "kit" else "F", Valuation="2",
        StandardUnitOfMeasure="HR" if product.code == "SERV-HOUR" else "EACH",
        SalesUnitOfMeasure="HR" if product.code == "SERV-HOUR" else "EACH",
        SalesAcctKey=sales, CostOfGoodsSoldAcctKey=cogs, InventoryAcctKey=inventory,
        TaxClass="NT" if is_service else "TX", DefaultWarehouseCode="000",
        PrimaryVendorNo="" if is_service else rng.choice(["AIRWAY", "CONTAIN", "ALLENCO"]),
        PriceCode=KIT_PRICE_CODE if product.category == "kit" else "",
        StandardUnitPrice=float(product.price), StandardUnitCost=float(cost),
        SuggestedRetailPrice=float((product.price * Decimal("1.2")).quantize(Decimal("0.01"))),
        InactiveItem="Y" if product.code in SAGE100_INACTIVE_CODES else "N",
        UDF_CATEGORY=product.category, **audit(created),
    )  # fmt: skip


def item_rows(rng: random.Random) -> tuple[list[Row], list[Row]]:
    """CI_Item for the shared catalogue plus Sage's own parts, and their stock per warehouse
    (charge items, the services, have no stock). Quantities on order are added by orders."""
    items: list[Row] = []
    stock: list[Row] = []
    for product in PRODUCTS + SAGE100_ONLY_PRODUCTS:
        created = moment_on(date(2019, 3, 1) + timedelta(days=rng.randint(0, 1500)), rng)
        item = _item_row(product, rng, created)
        items.append(item)
        if item["ItemType"] != "1":
            continue
        warehouses = ["000", "001"] if rng.random() < 0.5 else ["000"]
        for warehouse in warehouses:
            on_hand = 0 if rng.random() < 0.08 else rng.randint(5, 400)
            stock.append(row(
                "IM_ItemWarehouse", ItemCode=product.code, WarehouseCode=warehouse,
                BinLocation=f"{rng.choice('ABCD')}-{rng.randint(1, 30):02d}-{rng.randint(1, 5)}",
                QuantityOnHand=float(on_hand), ReorderPointQty=float(rng.choice([10, 20, 50])),
                QuantityOnPurchaseOrder=float(rng.choice([0, 0, 0, 25, 50])),
                AverageCost=item["StandardUnitCost"], **audit(created),
            ))  # fmt: skip
        item["TotalQuantityOnHand"] = sum(
            s["QuantityOnHand"] for s in stock if s["ItemCode"] == product.code
        )
    return items, stock
