"""Salesforce's users: active `User` records, keyed by Id, which is how an Opportunity
names its owner (`OwnerId`)."""

from typing import Any

from connectors.records import Person

ACTIVE_USERS = "SELECT Id, Name, Email FROM User WHERE IsActive = true ORDER BY Name"


def active_users(crm: Any) -> list[Person]:
    return [
        Person(key=row["Id"], name=str(row.get("Name") or ""), email=str(row.get("Email") or ""))
        for row in crm.query(ACTIVE_USERS)
    ]
