"""Deterministic master data of the sandbox company, Cedar Ridge Supply Co. (Golden,
Colorado; one currency, USD): the Company row, sales reps, chart of accounts, tax codes,
customers with their addresses and contacts, and the shared catalogue as LineItem rows.
Transactions are in `history.py`; `seed.py` puts them together.
"""

import random
import re
from datetime import date, timedelta
from decimal import Decimal

from agent.backend import free_customer_code
from sandbox.catalogue import (
    CODES_UNKNOWN_TO_SAGE,
    PRODUCTS,
    SAGE100_INACTIVE_CODES,
    Product,
)
from sandbox.sage50desktop.ledger import (
    AR_ACCOUNT_ID,
    CASH_ACCOUNT_ID,
    FREIGHT_ACCOUNT_ID,
    SERVICE_ITEM_CLASS,
    STOCK_ITEM_CLASS,
    Row,
    blank,
    new_guid,
    to_money,
)

COMPANY_NAME = "Cedar Ridge Supply Co."
CUSTOMER_COUNT = 60
INACTIVE_CUSTOMER_COUNT = 3
# The labels the company gave the customer custom fields (Maintain > Default Information).
CUSTOMER_FIELD_LABELS = {
    "CustomField1": "Industry", "CustomField2": "Region", "CustomField3": "Route",
    "CustomField4": "Delivery notes", "CustomField5": "CRM ID",
}  # fmt: skip
INACTIVE_ITEM_CODES = tuple(
    code for code in SAGE100_INACTIVE_CODES if code in {p.code for p in PRODUCTS}
)
PRICE_LEVEL_DISCOUNTS = (Decimal("0"), Decimal("0.05"), Decimal("0.10"))  # SalesPrice1-3

# EmployeeID, name, email, is a sales rep. For the salespeople fill: two reps share their
# email with Streak team members, one only a member's name (another email); Sofia is in
# the Streak team too, but not a sales rep, so she is never offered as one.
EMPLOYEES = [
    ("AMORGAN", "Alex Morgan", "alex.morgan@claritydemo.com", 1),
    ("PRAMAN", "Priya Raman", "priya.raman@claritydemo.com", 1),
    ("KNAKAMURA", "Kenji Nakamura", "kenji@cedarridge.example", 1),
    ("DOKAFOR", "Daniel Okafor", "d.okafor@cedarridge.example", 1),
    ("TOWENS", "Tom Owens", "tom@cedarridge.example", 0),
    ("SLINDQVIST", "Sofia Lindqvist", "sofia.lindqvist@claritydemo.com", 0),
]  # fmt: skip
# AccountID, description, AccountType (0 cash, 1 AR, 2 inventory, 4 other current assets,
# 5 fixed assets, 6 accum. depreciation, 10 AP, 12 other current liab., 14 long term liab.,
# 16 equity (no close), 18 retained earnings, 21 income, 23 cost of sales, 24 expenses),
# inactive
CHART = [
    ("10000", "Petty Cash", 0, 0), (CASH_ACCOUNT_ID, "Cash - Operating Account", 0, 0),
    ("10400", "Cash - Savings", 0, 0), (AR_ACCOUNT_ID, "Accounts Receivable", 1, 0),
    ("11400", "Other Receivables", 1, 0), ("11500", "Allowance for Doubtful Accts", 1, 0),
    ("12000", "Inventory", 2, 0), ("14000", "Prepaid Expenses", 4, 0),
    ("15000", "Furniture and Fixtures", 5, 0), ("15100", "Equipment", 5, 0),
    ("15200", "Vehicles", 5, 0), ("17000", "Accum. Depreciation", 6, 0),
    ("20000", "Accounts Payable", 10, 0), ("23100", "Sales Tax Payable", 12, 0),
    ("23300", "Accrued Wages", 12, 0), ("27000", "Notes Payable-Noncurrent", 14, 0),
    ("39003", "Common Stock", 16, 0), ("39005", "Retained Earnings", 18, 0),
    ("40000", "Sales - Hardware", 21, 0), ("40200", "Sales - Services", 21, 0),
    ("40400", "Sales - Kits", 21, 0), (FREIGHT_ACCOUNT_ID, "Freight Income", 21, 0),
    ("40900", "Sales - Discontinued Lines", 21, 1), ("49000", "Sales Discounts", 21, 0),
    ("50000", "Cost of Goods Sold", 23, 0), ("50500", "Cost of Services", 23, 0),
    ("60000", "Advertising Expense", 24, 0), ("64000", "Freight Expense", 24, 0),
    ("67500", "Rent Expense", 24, 0), ("70000", "Salaries Expense", 24, 0),
    ("71000", "Utilities Expense", 24, 0),
]  # fmt: skip
# ItemType -> (GLSalesAcct, GLInventoryAcct, GLCostSalesAcct) as AccountIDs
ITEM_ACCOUNTS = {
    "widget": ("40000", "12000", "50000"),
    "gadget": ("40000", "12000", "50000"),
    "kit": ("40400", "12000", "50000"),
    "part": ("40000", "12000", "50000"),
    "service": ("40200", "", "50500"),
}
TAX_CODES = [  # TaxCodeID, description, rate (percent)
    ("CO", "Colorado State", "2.90000"), ("DENVER", "Denver Combined", "8.81000"),
    ("GOLDEN", "Golden Combined", "7.50000"), ("WY", "Wyoming State", "4.00000"),
    ("NM", "New Mexico", "5.12500"), ("UT", "Utah State", "6.10000"),
    ("EXEMPT", "Tax Exempt / Resale", "0.00000"),
]  # fmt: skip
CITIES = [  # city, state, ZIP, area code, tax code
    ("Denver", "CO", "80202", "303", "DENVER"), ("Golden", "CO", "80401", "303", "GOLDEN"),
    ("Boulder", "CO", "80302", "303", "CO"), ("Lakewood", "CO", "80226", "303", "CO"),
    ("Aurora", "CO", "80012", "720", "CO"), ("Fort Collins", "CO", "80524", "970", "CO"),
    ("Colorado Springs", "CO", "80903", "719", "CO"), ("Pueblo", "CO", "81003", "719", "CO"),
    ("Grand Junction", "CO", "81501", "970", "CO"), ("Cheyenne", "WY", "82001", "307", "WY"),
    ("Casper", "WY", "82601", "307", "WY"), ("Santa Fe", "NM", "87501", "505", "NM"),
    ("Albuquerque", "NM", "87102", "505", "NM"), ("Salt Lake City", "UT", "84111", "801", "UT"),
    ("Provo", "UT", "84601", "801", "UT"), ("Omaha", "NE", "68102", "402", "EXEMPT"),
]  # fmt: skip
STREETS = [
    "Ward Rd", "Colfax Ave", "Arapahoe Ave", "Wadsworth Blvd", "Federal Blvd", "Mesa St",
    "Canyon Blvd", "Quail St", "Industrial Way", "Frontage Rd", "Pearl St", "Union Ave",
    "Ridge Rd", "Mill St", "Railroad Ave", "Commerce Ct",
]  # fmt: skip
NAME_STEMS = [
    "Aspen", "Bighorn", "Blue Spruce", "Boulder Creek", "Canyon", "Clear Creek", "Columbine",
    "Continental", "Elk Ridge", "Foothills", "Front Range", "Granite Peak", "High Plains",
    "Juniper", "Lodgepole", "Mesa Verde", "Mountain View", "Pikes Peak", "Platte River",
    "Red Rocks", "Rio Grande", "Sangre", "Summit County", "Timberline", "Wasatch", "Yampa",
]  # fmt: skip
TRADES = [
    ("Builders", "CONTR"), ("Mechanical", "CONTR"), ("Electric", "CONTR"),
    ("Hardware", "RETAIL"), ("Home Center", "RETAIL"), ("Supply", "WHOLE"),
    ("Distributors", "WHOLE"), ("Facilities", "INSTIT"), ("School District", "INSTIT"),
    ("Property Mgmt", "INSTIT"), ("Fabrication", "CONTR"), ("Ranch Supply", "RETAIL"),
]  # fmt: skip
SUFFIXES = ["Inc", "LLC", "Co", "Corp", ""]
INDUSTRIES = {"CONTR": "Construction", "RETAIL": "Retail", "WHOLE": "Wholesale",
              "INSTIT": "Institutional"}  # fmt: skip
FIRST_NAMES = [
    "James", "Maria", "Robert", "Linda", "Michael", "Karen", "David", "Susan", "Daniel",
    "Nancy", "Luis", "Emily", "Kevin", "Rachel", "Brian", "Megan", "Carlos", "Heather",
    "Tyler", "Amanda", "Jose", "Laura", "Ryan", "Ashley",
]  # fmt: skip
LAST_NAMES = [
    "Anderson", "Baca", "Chavez", "Dawson", "Ellis", "Fischer", "Garcia", "Hansen",
    "Iverson", "Jaramillo", "Keller", "Lucero", "Martinez", "Nguyen", "Olson", "Peterson",
    "Quintana", "Romero", "Schultz", "Trujillo", "Vigil", "Whitaker", "Young", "Zamora",
]  # fmt: skip
TITLES = ["Purchasing Manager", "Buyer", "Owner", "Office Manager", "Controller", "Foreman"]
TERMS_DAYS = [30, 30, 30, 15, 45, 60, 0]
DELIVERY_NOTES = ["Call before delivery", "Dock closes 3 pm", "Gate code at office", "Liftgate"]


def company_row(today: date, next_invoice: int, next_order: int) -> Row:
    return blank(
        "Company", CompanyName=COMPANY_NAME, FirstOpenPeriodStart=date(today.year, 1, 1),
        NextInvoiceNumber=next_invoice, NextSalesOrderNumber=next_order,
    )  # fmt: skip


def reference_rows() -> dict[str, list[Row]]:
    """Employee, Chart and Tax_Code: record numbers from 1, in the order listed."""
    return {
        "Employee": [
            blank("Employee", EmpRecordNumber=number, EmployeeID=employee_id,
                  EmployeeName=name, EMail=email, IsSalesRep=rep)
            for number, (employee_id, name, email, rep) in enumerate(EMPLOYEES, start=1)
        ],
        "Chart": [
            blank("Chart", GLAcntNumber=number, AccountID=account_id,
                  AccountDescription=description, AccountType=kind, AccountIsInactive=inactive)
            for number, (account_id, description, kind, inactive) in enumerate(CHART, start=1)
        ],
        "Tax_Code": [
            blank("Tax_Code", TaxCodeID=code, Description=description, Rate=Decimal(rate))
            for code, description, rate in TAX_CODES
        ],
    }  # fmt: skip


def gl_number(account_id: str) -> int:
    """The GLAcntNumber (record number) of a seeded AccountID; 0 for none."""
    ids = [account for account, *_ in CHART]
    return ids.index(account_id) + 1 if account_id else 0


def customer_rows(rng: random.Random, today: date) -> dict[str, list[Row]]:
    """Customers with a main bill-to Address (type 0), some a ship-to (type 1), and one or
    two Contacts, the first primary and named in Customers.Contact."""
    customers: list[Row] = []
    addresses: list[Row] = []
    contacts: list[Row] = []
    pairs: set[tuple[str, str]] = set()
    ids: set[str] = set()
    sales_reps = [number for number, (*_, rep) in enumerate(EMPLOYEES, start=1) if rep]
    inactive = set(rng.sample(range(1, CUSTOMER_COUNT + 1), INACTIVE_CUSTOMER_COUNT))
    for number in range(1, CUSTOMER_COUNT + 1):
        while True:
            stem, (trade, customer_type) = rng.choice(NAME_STEMS), rng.choice(TRADES)
            if (stem, trade) not in pairs:
                pairs.add((stem, trade))
                break
        name = f"{stem} {trade} {rng.choice(SUFFIXES)}".strip()
        customer_id = free_customer_code(name, ids)
        ids.add(customer_id)
        city, state, zip_code, area, tax_code = rng.choice(CITIES)
        domain = re.sub(r"[^a-z]", "", f"{stem}{trade}".lower()) + ".com"
        phone = f"({area}) 555-{rng.randint(100, 199):04d}"
        people = [(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(2)]
        people = people[: rng.choice([1, 1, 2])]
        for index, (first, last) in enumerate(people):
            contacts.append(blank(
                "Contacts", ContactRecordNumber=len(contacts) + 1, CustomerRecordNumber=number,
                IsPrimaryContact=int(index == 0), FirstName=first, LastName=last,
                Title=rng.choice(TITLES), Email=f"{first.lower()}.{last.lower()}@{domain}",
                Phone=f"({area}) 555-{rng.randint(200, 299):04d}",
            ))  # fmt: skip
        street = f"{rng.randint(100, 19999)} {rng.choice(STREETS)}"
        addresses.append(blank(
            "Address", AddressRecordNumber=len(addresses) + 1, CustomerRecordNumber=number,
            AddressTypeNumber=0, AddressLine1=street,
            AddressLine2=rng.choice(["", "", "", f"Suite {rng.randint(100, 400)}"]),
            City=city, State=state, Zip=zip_code, Country="USA",
        ))  # fmt: skip
        if rng.random() < 0.3:
            ship_city, ship_state, ship_zip, _, _ = rng.choice(CITIES)
            addresses.append(blank(
                "Address", AddressRecordNumber=len(addresses) + 1, CustomerRecordNumber=number,
                AddressTypeNumber=1, AddressLine1=f"{rng.randint(100, 9999)} Yard Rd",
                AddressLine2="Receiving dock", City=ship_city, State=ship_state,
                Zip=ship_zip, Country="USA",
            ))  # fmt: skip
        first, last = people[0]
        customers.append(blank(
            "Customers", CustomerRecordNumber=number, CustomerID=customer_id,
            Customer_Bill_Name=name, Customer_Type=customer_type, Contact=f"{first} {last}",
            Phone_Number=phone, FAX_Number=rng.choice(["", f"({area}) 555-{number + 300:04d}"]),
            eMail_Address=f"{rng.choice(['ap', 'orders', 'office'])}@{domain}",
            CustomerIsInactive=int(number in inactive), PriceLevel=rng.choice([0, 0, 0, 1, 2]),
            Terms_DueDays=rng.choice(TERMS_DAYS),
            Terms_CreditLimit=Decimal(rng.choice([2500, 5000, 10000, 15000, 25000, 50000])),
            Balance=Decimal("0.00"), EmpRecordNumber=rng.choice(sales_reps),
            SalesTaxCode=tax_code,
            CustomerSince=today - timedelta(days=rng.randint(400, 4500)),
            CustomField1=INDUSTRIES[customer_type], CustomField2=f"{state} - {city}"[:20],
            CustomField3=f"Route {rng.randint(1, 12)}",
            CustomField4=rng.choice(["", "", "", *DELIVERY_NOTES]), GUID=new_guid(rng),
        ))  # fmt: skip
    return {"Customers": customers, "Address": addresses, "Contacts": contacts}


def price_levels(price: Decimal) -> dict[str, Decimal]:
    """SalesPrice1 = list price, 2 = 5% off, 3 = 10% off; levels 4 and 5 unused."""
    levels = {
        f"SalesPrice{level}": to_money(price * (1 - discount))
        for level, discount in enumerate(PRICE_LEVEL_DISCOUNTS, start=1)
    }
    return {**levels, "SalesPrice4": Decimal("0.00"), "SalesPrice5": Decimal("0.00")}


def _item_row(number: int, product: Product, rng: random.Random) -> Row:
    sales, inventory, cost_of_sales = ITEM_ACCOUNTS[product.category]
    is_service = product.category == "service"
    return blank(
        "LineItem", ItemRecordNumber=number, ItemID=product.code,
        ItemDescription=product.name[:30],
        ItemClass=SERVICE_ITEM_CLASS if is_service else STOCK_ITEM_CLASS,
        ItemIsInactive=int(product.code in INACTIVE_ITEM_CODES), ItemType=product.category,
        StockUM="Hour" if product.code == "SERV-HOUR" else "Each", **price_levels(product.price),
        GLSalesAcct=gl_number(sales), GLInventoryAcct=gl_number(inventory),
        GLCostSalesAcct=gl_number(cost_of_sales),
        QuantityOnHand=Decimal(0 if is_service or rng.random() < 0.07 else rng.randint(4, 400)),
        CustomField1="" if is_service else rng.choice(["Aisle A", "Aisle B", "Aisle C", "Yard"]),
    )  # fmt: skip


def item_rows(rng: random.Random) -> list[Row]:
    """Every code of the shared catalogue; none of CODES_UNKNOWN_TO_SAGE."""
    return [
        _item_row(number, product, rng)
        for number, product in enumerate(PRODUCTS, start=1)
        if product.code not in CODES_UNKNOWN_TO_SAGE
    ]
