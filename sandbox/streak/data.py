"""The fixed part of the Streak account: the team, its members, the two pipelines (Sales,
Services) with their stages and fields, and the shape of a new box.

These never change through the API, so they live here as constants; the records that do
change (boxes, contacts, ...) are seeded into the store from `seed.py`.
"""

import base64
from typing import Any

SEED_TIME_MS = 1_735_725_600_000  # 2025-01-01 10:00 UTC: "now" for the seed data
DAY_MS = 86_400_000


def opaque_key(kind: str, number: int) -> str:
    """A long opaque key shaped like Streak's datastore keys (`agxzfm1haWxmb29nYWVy…`)."""
    tail = base64.urlsafe_b64encode(f"{kind}:{number:08d}:sandbox".encode()).decode()
    return "agxzfm1haWxmb29nYWVy" + tail.rstrip("=")


TEAM_KEY = opaque_key("Team", 1)
TEAM_NAME = "Clarity Demo Co"

# (display name, email): the first is the API key's owner, `users/me`.
MEMBERS = [
    ("Alex Morgan", "alex.morgan@claritydemo.com"),
    ("Priya Raman", "priya.raman@claritydemo.com"),
    ("Daniel Okafor", "daniel.okafor@claritydemo.com"),
    ("Sofia Lindqvist", "sofia.lindqvist@claritydemo.com"),
]


def user(index: int) -> dict[str, Any]:
    name, email = MEMBERS[index]
    key = opaque_key("User", index + 1)
    created = SEED_TIME_MS - (400 - index * 30) * DAY_MS
    return {
        "email": email,
        "lowercaseEmail": email.lower(),
        "creationTimestamp": created,
        "lastUpdatedTimestamp": created,
        "lastSeenTimestamp": SEED_TIME_MS,
        "isOauthComplete": True,
        "userKey": key,
        "displayName": name,
        "key": key,
    }


USERS = [user(index) for index in range(len(MEMBERS))]
ME = USERS[0]


def sharing_entry(member: dict[str, Any]) -> dict[str, Any]:
    """How boxes and pipelines refer to a person."""
    return {
        "displayName": member["displayName"],
        "fullName": member["displayName"],
        "email": member["email"],
        "image": f"https://lh3.googleusercontent.com/a/{member['userKey'][-12:]}",
        "userKey": member["userKey"],
    }


TEAM = {
    "key": TEAM_KEY,
    "name": TEAM_NAME,
    "creationDate": SEED_TIME_MS - 400 * DAY_MS,
    "members": [
        {
            "email": member["email"],
            "fullName": member["displayName"],
            "displayName": member["displayName"],
            "role": "ADMIN" if member is ME else "MEMBER",
            "image": sharing_entry(member)["image"],
        }
        for member in USERS
    ],
    "sharingRestrictedToTeam": False,
}

# ---------------------------------------------------------------- pipelines

STAGES = [
    ("5001", "Lead", "#9e9e9e"),
    ("5002", "Qualified", "#4a86e8"),
    ("5003", "Proposal", "#ff9900"),
    ("5004", "Closed-Won", "#0b8043"),
    ("5005", "Closed-Lost", "#cc0000"),
]
CLOSED_WON = "5004"

FIELD_DEAL_ID = "1001"
FIELD_AMOUNT = "1002"
FIELD_CURRENCY = "1003"
FIELD_PAYMENT_TERMS = "1004"
FIELD_GL_ACCOUNT = "1005"
FIELD_PRODUCTS = "1006"
FIELD_SAGE_ORDER_NO = "1007"
FIELD_SAGE_INVOICE_ID = "1008"
FIELD_CLOSE_DATE = "1009"
FIELD_SAGE_OPEN_BALANCE = "1010"
FIELD_SAGE_AGING = "1011"
FIELD_SAGE_STOCK = "1020"  # the stock flow's summary per item

CURRENCIES = {"USD": "9001", "EUR": "9002", "GBP": "9003", "CAD": "9004"}
PAYMENT_TERMS = {"Due on receipt": "9011", "Net 15": "9012", "Net 30": "9013", "Net 60": "9014"}
AGING = {"Current": "9021", "1-30": "9022", "31-60": "9023", "61-90": "9024", "Over 90": "9025"}

# (key, name, type, dropdown items {name: key} or None)
FIELDS = [
    (FIELD_DEAL_ID, "Deal ID", "TEXT_INPUT", None),
    (FIELD_AMOUNT, "Amount", "TEXT_INPUT", None),
    (FIELD_CURRENCY, "Currency", "DROPDOWN", CURRENCIES),
    (FIELD_PAYMENT_TERMS, "Payment Terms", "DROPDOWN", PAYMENT_TERMS),
    (FIELD_GL_ACCOUNT, "GL Account Code", "TEXT_INPUT", None),
    (FIELD_PRODUCTS, "Products", "TEXT_INPUT", None),
    (FIELD_SAGE_ORDER_NO, "Sage Order No", "TEXT_INPUT", None),
    (FIELD_SAGE_INVOICE_ID, "Sage Invoice ID", "TEXT_INPUT", None),
    (FIELD_CLOSE_DATE, "Expected Close Date", "DATE", None),
    (FIELD_SAGE_OPEN_BALANCE, "Sage Open Balance", "TEXT_INPUT", None),
    (FIELD_SAGE_AGING, "Sage Aging", "DROPDOWN", AGING),
    (FIELD_SAGE_STOCK, "Sage Stock", "TEXT_INPUT", None),
]


def field_definition(key: str, name: str, kind: str, items: dict[str, str] | None) -> dict:
    field: dict[str, Any] = {
        "key": key,
        "name": name,
        "type": kind,
        "lastUpdatedTimestamp": SEED_TIME_MS - 300 * DAY_MS,
    }
    if items:
        field["dropdownSettings"] = {
            "items": [{"key": item_key, "name": label} for label, item_key in items.items()]
        }
    return field


def pipeline(number: int, name: str, description: str) -> dict[str, Any]:
    key = opaque_key("Pipeline", number)
    owner = sharing_entry(ME)
    return {
        "key": key,
        "pipelineKey": key,
        "creatorKey": ME["userKey"],
        "name": name,
        "description": description,
        "teamWide": True,
        "teamKey": TEAM_KEY,
        "fields": [field_definition(*field) for field in FIELDS],
        "stages": {
            stage_key: {"key": stage_key, "name": stage_name, "backgroundColor": colour}
            for stage_key, stage_name, colour in STAGES
        },
        "stageOrder": [stage_key for stage_key, _, _ in STAGES],
        "aclEntries": [
            {
                "fullName": member["displayName"],
                "email": member["email"],
                "isOwner": member is ME,
                "image": sharing_entry(member)["image"],
            }
            for member in USERS
        ],
        "owner": {k: owner[k] for k in ("fullName", "email", "image")} | {"isOwner": True},
        "creationTimestamp": SEED_TIME_MS - 300 * DAY_MS,
        "lastUpdatedTimestamp": SEED_TIME_MS - 30 * DAY_MS,
    }


SALES = pipeline(1, "Sales", "New business: widgets, gadgets and kits.")
SERVICES = pipeline(2, "Services", "Installation, support plans and billable hours.")
WHOLESALE = pipeline(3, "Wholesale", "Trade accounts, invoiced from Sage 50 on the office PC.")
PIPELINES = [SALES, SERVICES, WHOLESALE]


def box_template(box_key: str, pipeline_key: str, created: int) -> dict[str, Any]:
    """A new, empty box as the API shows it; seed boxes and created boxes start from it."""
    return {
        "key": box_key,
        "boxKey": box_key,
        "pipelineKey": pipeline_key,
        "creatorKey": ME["userKey"],
        "name": "",
        "notes": "",
        "stageKey": STAGES[0][0],
        "fields": {},
        "creationTimestamp": created,
        "lastUpdatedTimestamp": created,
        "lastSavedTimestamp": created,
        "lastStageChangeTimestamp": created,
        "assignedToSharingEntries": [],
        "creatorSharingEntry": sharing_entry(ME),
        "followerSharingEntries": [],
        "followerKeys": [],
        "linkedBoxKeys": [],
        "emailAddresses": [],
        "emailAddressesAutoExtracted": [],
        "emailAddressesBlacklist": [],
        "totalNumberOfEmails": 0,
        "taskTotal": 0,
        "taskCompleteCount": 0,
        "commentCount": 0,
        "gmailThreadCount": 0,
        "fileCount": 0,
        "callLogCount": 0,
        "meetingNotesCount": 0,
        "freshness": 1.0,
        "violations": [],
        "contacts": [],
        "organizations": [],
    }
