"""Contact persons: the people of a contact beside its main contact person (`/contact_persons`).

Sage keeps a person under one of the contact's addresses; the sandbox keeps them under the
contact itself (`contact_id`, listed and filtered by it), which is all contact sync reads.
"""

from datetime import timedelta
from typing import Any

from sandbox.sage_accounting.data import SeedRecord
from sandbox.sage_accounting.errors import Problems
from sandbox.sage_accounting.shapes import seed_id

TEXT_FIELDS = ("name", "job_title", "telephone", "mobile", "email")
SEED_PEOPLE = (("Dana Whitfield", "Accounts payable"), ("Omar Haddad", "Purchasing manager"))


def person_seeds(contacts: list[SeedRecord]) -> list[SeedRecord]:
    """A second and third person at every third customer, so lists and feeds have some."""
    customers = [c for c in contacts if c.body["contact_type_ids"] == ["CUSTOMER"]]
    seeds = []
    for contact in customers[1::3]:
        domain = contact.body["main_contact_person"]["email"].partition("@")[2]
        for number, (name, title) in enumerate(SEED_PEOPLE, start=1):
            body = {
                "contact_id": contact.record_id,
                "name": name,
                "job_title": title,
                "email": f"{name.split()[0].lower()}@{domain}",
                "telephone": f"+1 555 010 {number:04d}",
            }
            made = contact.created_at + timedelta(hours=number)
            record_id = seed_id("contact_person", f"{contact.record_id}-{number}")
            seeds.append(SeedRecord("contact_persons", record_id, made, body))
    return seeds


def build_contact_person(books: Any, body: dict, current: dict | None) -> dict[str, Any]:
    """A contact person from a POST or merged PUT body; a 422 naming every problem."""
    problems = Problems()
    contact = books.linked(problems, "contacts", body, "contact_id", required=current is None)
    if contact is None and current is not None:
        contact = current["contact"]
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add("name", "can't be blank")
    email = body.get("email")
    if email and "@" not in str(email):
        problems.add("email", "is invalid")
    problems.raise_if_any()
    values = {field: body.get(field) for field in TEXT_FIELDS}
    return {
        **values,
        "displayed_as": name,
        "is_main_contact": False,
        "contact": {key: contact[key] for key in ("id", "displayed_as", "$path")},
    }
