"""Seed records: organizations, contacts, 50 boxes per pipeline and a few comments.

Everything comes from literal lists and a fixed `random.Random`, so a reset always yields the
same keys, boxes and amounts. Products lines use the shared catalogue, so Sage knows the codes,
except a few deals that use `CODES_UNKNOWN_TO_SAGE` on purpose.
"""

import random
from decimal import Decimal
from typing import Any

from sandbox.catalogue import CODES_UNKNOWN_TO_SAGE, PRODUCTS
from sandbox.streak import data

BOXES_PER_PIPELINE = 50


# (name, domain, one-line address, phone, industry, employees, currency)
ORGANIZATIONS = [
    ("Harbor Point Logistics", "harborpointlogistics.com",
     "1450 Embarcadero Rd, Suite 200, Oakland, CA 94607, USA", "+1 510-555-0142",
     "Logistics", 240, "USD"),
    ("Bluegrass Dental Group", "bluegrassdental.com",
     "300 E Main St, Lexington, KY 40507, USA", "+1 859-555-0117", "Healthcare", 85, "USD"),
    ("Cedar Ridge Manufacturing", "cedarridgemfg.com",
     "77 Industrial Pkwy, Grand Rapids, MI 49548, USA", "+1 616-555-0193",
     "Manufacturing", 410, "USD"),
    ("Summit Peak Outfitters", "summitpeakoutfitters.com",
     "2210 Pearl St, Boulder, CO 80302, USA", "+1 303-555-0168", "Retail", 60, "USD"),
    ("Lakeside Veterinary Clinic", "lakesidevet.com",
     "58 Shore Dr, Madison, WI 53703, USA", "+1 608-555-0124", "Veterinary", 22, "USD"),
    ("Ironwood Construction", "ironwoodbuilds.com",
     "9100 Research Blvd, Austin, TX 78758, USA", "+1 512-555-0186", "Construction", 320, "USD"),
    ("Meridian Health Partners", "meridianhp.org",
     "4 Copley Pl, Boston, MA 02116, USA", "+1 617-555-0109", "Healthcare", 1200, "USD"),
    ("Pioneer Valley Foods", "pioneervalleyfoods.com",
     "12 Mill St, Northampton, MA 01060, USA", "+1 413-555-0151", "Food & Beverage", 140, "USD"),
    ("Copperline Electric", "copperlineelectric.com",
     "655 W Van Buren St, Chicago, IL 60607, USA", "+1 312-555-0177", "Electrical", 95, "USD"),
    ("Northstar Aviation Services", "northstaraviation.com",
     "7000 Airport Rd, Minneapolis, MN 55450, USA", "+1 612-555-0135", "Aviation", 510, "USD"),
    ("Redwood Analytics", "redwoodanalytics.io",
     "500 Terry A Francois Blvd, San Francisco, CA 94158, USA", "+1 415-555-0190",
     "Software", 75, "USD"),
    ("Granite State Brewing", "granitestatebrewing.com",
     "18 Bridge St, Manchester, NH 03101, USA", "+1 603-555-0129", "Food & Beverage", 48, "USD"),
    ("Silver Creek Hospitality", "silvercreekhotels.com",
     "1 Lodge Way, Park City, UT 84060, USA", "+1 435-555-0158", "Hospitality", 380, "USD"),
    ("Oakmont Property Management", "oakmontpm.com",
     "220 Peachtree St NE, Atlanta, GA 30303, USA", "+1 404-555-0183",
     "Real Estate", 130, "USD"),
    ("Bayview Marine Supply", "bayviewmarine.com",
     "41 Harbor Ave, Annapolis, MD 21403, USA", "+1 410-555-0147", "Marine", 35, "USD"),
    ("Keystone Office Furniture", "keystoneoffice.com",
     "800 Market St, Philadelphia, PA 19107, USA", "+1 215-555-0162", "Wholesale", 210, "USD"),
    ("Prairie Wind Energy", "prairiewindenergy.com",
     "3300 N Broadway, Wichita, KS 67219, USA", "+1 316-555-0171", "Energy", 160, "USD"),
    ("Atlas Freight Systems", "atlasfreight.com",
     "2600 Port Industrial Dr, Savannah, GA 31408, USA", "+1 912-555-0138",
     "Logistics", 690, "USD"),
    ("Brightwater Labs", "brightwaterlabs.com",
     "150 Cambridgepark Dr, Cambridge, MA 02140, USA", "+1 617-555-0126",
     "Biotech", 110, "USD"),
    ("Evergreen Landscaping", "evergreenlandscaping.com",
     "4120 SE Powell Blvd, Portland, OR 97202, USA", "+1 503-555-0114",
     "Landscaping", 40, "USD"),
    ("Hudson & Vale Architects", "hudsonvale.com",
     "250 Hudson St, New York, NY 10013, USA", "+1 212-555-0199", "Architecture", 55, "USD"),
    ("Sierra Medical Devices", "sierramedical.com",
     "9850 Double R Blvd, Reno, NV 89521, USA", "+1 775-555-0132", "Medical Devices", 270, "USD"),
    ("Tidewater Seafood Co.", "tidewaterseafood.com",
     "15 Water St, Norfolk, VA 23510, USA", "+1 757-555-0145", "Food & Beverage", 90, "USD"),
    ("Rheinland Technik GmbH", "rheinland-technik.de",
     "Hansaring 62, 50670 Köln, Germany", "+49 221 5550 3310", "Engineering", 230, "EUR"),
    ("Brasserie Lumière SARL", "brasserie-lumiere.fr",
     "14 Rue de la République, 69002 Lyon, France", "+33 4 78 55 01 26", "Hospitality", 45,
     "EUR"),
    ("Van Dijk Installaties B.V.", "vandijkinstallaties.nl",
     "Stationsplein 9, 3511 ED Utrecht, Netherlands", "+31 30 555 0184", "Installation", 120,
     "EUR"),
]  # fmt: skip

FIRST_NAMES = [
    "James", "Maria", "Robert", "Linda", "Michael", "Aisha", "David", "Jennifer", "Carlos",
    "Emily", "Thomas", "Mei", "Kevin", "Rachel", "Brian", "Olivia", "Samuel", "Hannah",
    "Marcus", "Grace", "Ethan", "Nora", "Lukas", "Camille", "Jonas", "Elena",
]  # fmt: skip
LAST_NAMES = [
    "Whitaker", "Gonzalez", "Chen", "Patel", "O'Brien", "Kowalski", "Nguyen", "Brooks",
    "Fischer", "Russo", "Hayes", "Delgado", "Sullivan", "Bennett", "Moreau", "Jansen",
    "Schneider", "Park", "Foster", "Ramirez",
]  # fmt: skip
TITLES = [
    "Purchasing Manager", "Operations Director", "Office Manager", "CFO", "Facilities Manager",
    "Procurement Lead", "Owner", "IT Manager", "Controller", "Plant Manager",
]  # fmt: skip


def organization_documents() -> list[dict[str, Any]]:
    documents = []
    for number, (name, domain, address, phone, industry, employees, _) in enumerate(
        ORGANIZATIONS, start=1
    ):
        key = data.opaque_key("Organization", number)
        documents.append(
            {
                "key": key,
                "teamKey": data.TEAM_KEY,
                "name": name,
                "domains": [domain],
                "addresses": [address],
                "phoneNumbers": [phone],
                "industry": industry,
                "employeeCount": employees,
                "logoUrl": f"https://logo.clearbit.com/{domain}",
                "twitterHandle": "",
                "facebookHandle": "",
                "linkedInHandle": "",
                "other": "",
                "relationships": {},
                "creationDate": data.SEED_TIME_MS - (200 - number) * data.DAY_MS,
                "lastSavedTimestamp": data.SEED_TIME_MS - (200 - number) * data.DAY_MS,
            }
        )
    return documents


def contact_documents(organizations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two people per organization, named from fixed lists."""
    rng = random.Random(4101)
    documents = []
    for org_index, organization in enumerate(organizations):
        for slot in range(2):
            number = org_index * 2 + slot + 1
            given, family = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = f"{given}.{family}".lower().replace("'", "")
            documents.append(
                {
                    "key": data.opaque_key("TeamContact", number),
                    "teamKey": data.TEAM_KEY,
                    "givenName": given,
                    "familyName": family,
                    "emailAddresses": [f"{local}@{organization['domains'][0]}"],
                    "title": rng.choice(TITLES),
                    "phoneNumbers": [organization["phoneNumbers"][0][:-2] + f"{10 + number:02d}"],
                    "addresses": organization["addresses"][:1],
                    "other": "",
                    "twitterHandle": "",
                    "facebookHandle": "",
                    "linkedinHandle": "",
                    "photoUrl": "",
                    "creationDate": organization["creationDate"] + data.DAY_MS,
                    "lastSavedTimestamp": organization["creationDate"] + data.DAY_MS,
                }
            )
    return documents


# ---------------------------------------------------------------- boxes

SALES_DEALS = [
    "Widget restock", "Gadget rollout", "Starter kits", "Plant retrofit", "Q2 reorder",
    "New site fit-out", "Sensor upgrade", "Spare parts", "Pilot order", "Annual supply",
]  # fmt: skip
SERVICES_DEALS = [
    "Installation", "Support renewal", "On-site service", "Maintenance plan", "Commissioning",
    "Training days", "Emergency repair", "Health check",
]  # fmt: skip
STAGE_MIX = ["5001"] * 10 + ["5002"] * 10 + ["5003"] * 10 + ["5004"] * 14 + ["5005"] * 6
BIG_DEAL_EVERY = 12  # every 12th box gets a large line, so a few amounts exceed 10,000
UNKNOWN_CODE_BOXES = (7, 29)  # these boxes sell a code Sage does not know
MAX_LINE_TOTAL = Decimal(2600)


def products_line(code: str, quantity: int, price: Decimal) -> str:
    return f"{code} x {quantity} @ {price:.2f}"


def deal_lines(rng: random.Random, catalogue: list, index: int) -> list[tuple[str, int, Decimal]]:
    """1 to 3 (code, quantity, price) lines; quantities keep most deals under ~8,000."""
    lines = []
    for product in rng.sample(catalogue, rng.randint(1, 3)):
        cap = max(1, int(MAX_LINE_TOTAL / product.price))
        lines.append((product.code, min(rng.randint(1, 12), cap), product.price))
    if index % BIG_DEAL_EVERY == 5:
        top = max(range(len(lines)), key=lambda position: lines[position][2])
        code, _, price = lines[top]
        lines[top] = (code, int(Decimal(12000) / price) + 1, price)
    if index in UNKNOWN_CODE_BOXES:
        unknown = CODES_UNKNOWN_TO_SAGE[UNKNOWN_CODE_BOXES.index(index)]
        lines.append((unknown, rng.randint(2, 6), Decimal("49.00")))
    return lines


def box_documents(
    pipeline_doc: dict[str, Any],
    organizations: list[dict[str, Any]],
    contacts: list[dict[str, Any]],
    first_number: int,
) -> list[dict[str, Any]]:
    is_sales = pipeline_doc is not data.SERVICES  # Sales and Wholesale sell goods
    rng = random.Random(7000 + first_number)
    catalogue = [p for p in PRODUCTS if (p.category != "service") == is_sales]
    if not is_sales:  # services deals sometimes include an install kit
        catalogue += [p for p in PRODUCTS if p.category == "kit"][:4]
    stages = STAGE_MIX[:]
    rng.shuffle(stages)
    deal_names = SALES_DEALS if is_sales else SERVICES_DEALS
    prefix = {data.SALES["key"]: "SAL", data.SERVICES["key"]: "SRV"}.get(pipeline_doc["key"], "WHL")
    documents = []
    for index in range(BOXES_PER_PIPELINE):
        org_index = rng.randrange(len(organizations))
        organization = organizations[org_index]
        currency = ORGANIZATIONS[org_index][6]
        people = contacts[org_index * 2 : org_index * 2 + 2]
        lines = deal_lines(rng, catalogue, index)
        amount = sum((quantity * price for _, quantity, price in lines), Decimal(0))
        created = data.SEED_TIME_MS - (120 - index * 2) * data.DAY_MS
        owner = data.USERS[index % len(data.USERS)]
        box_key = data.opaque_key("Box", first_number + index)
        documents.append(
            data.box_template(box_key, pipeline_doc["key"], created)
            | {
                "name": f"{organization['name']} - {rng.choice(deal_names)}",
                "notes": f"Contact: {people[0]['givenName']} {people[0]['familyName']}.",
                "stageKey": stages[index],
                "fields": {
                    data.FIELD_DEAL_ID: f"{prefix}-{first_number + index}",
                    data.FIELD_AMOUNT: f"{amount:.2f}",
                    data.FIELD_CURRENCY: data.CURRENCIES[currency],
                    data.FIELD_PAYMENT_TERMS: rng.choice(list(data.PAYMENT_TERMS.values())),
                    data.FIELD_GL_ACCOUNT: "4000" if is_sales else "4100",
                    data.FIELD_PRODUCTS: "\n".join(products_line(*line) for line in lines),
                    data.FIELD_CLOSE_DATE: created + rng.randint(20, 90) * data.DAY_MS,
                },
                "lastUpdatedTimestamp": created + data.DAY_MS,
                "lastSavedTimestamp": created + data.DAY_MS,
                "lastStageChangeTimestamp": created + data.DAY_MS,
                "assignedToSharingEntries": [data.sharing_entry(owner)],
                "emailAddresses": [person["emailAddresses"][0] for person in people],
                "totalNumberOfEmails": rng.randint(0, 25),
                "contacts": [{"key": person["key"]} for person in people],
                "organizations": [{"key": organization["key"]}],
            }
        )
    return documents


SEED_COMMENTS = [
    "Sent revised quote with volume discount.",
    "Customer asked for delivery before month end.",
    "Waiting on PO from purchasing.",
    "Signed - please create the Sage order.",
]


def seed_documents() -> dict[str, list[dict[str, Any]]]:
    """Every seeded document, by store collection, in a stable order."""
    organizations = organization_documents()
    contacts = contact_documents(organizations)
    boxes = box_documents(data.SALES, organizations, contacts, 1001)
    boxes += box_documents(data.SERVICES, organizations, contacts, 2001)
    boxes += box_documents(data.WHOLESALE, organizations, contacts, 3001)
    comments = []
    for number, box in enumerate(boxes[::9], start=1):
        box["commentCount"] = 1
        comments.append(
            {
                "key": data.opaque_key("Comment", number),
                "boxKey": box["key"],
                "pipelineKey": box["pipelineKey"],
                "message": SEED_COMMENTS[number % len(SEED_COMMENTS)],
                "timestamp": box["lastUpdatedTimestamp"],
                "creatorKey": data.ME["userKey"],
            }
        )
    return {
        "organizations": organizations,
        "contacts": contacts,
        "boxes": boxes,
        "comments": comments,
    }
