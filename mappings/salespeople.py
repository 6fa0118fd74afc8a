"""Fill a pair's "salespeople" lookup table: each CRM user a deal can be owned by → the
ERP salesperson with the same email, else the same name.

The pair's order mapping looks a deal's owner up in this table (the CRM's owner key → the
ERP's salesperson key); an owner not in it leaves the order to the customer's own
salesperson, with a warning on the run. Filling updates the rows of users it matches and
leaves every other row as it is, so a row typed by hand for someone it cannot match stays.
"""

from dataclasses import dataclass, field

from django.db import transaction

from connectors.models import IntegrationPair
from connectors.records import Person
from connectors.services import connector_for
from mappings.models import LookupEntry, LookupTable

SALESPEOPLE_TABLE = "salespeople"  # the order mappings look a deal's owner up in it
TABLE_DESCRIPTION = (
    "Deal owner (CRM user) → ERP salesperson; filled by “Fill salespeople”. An owner not "
    "listed leaves the order to the customer's own salesperson."
)


@dataclass(frozen=True)
class Match:
    user: Person
    salesperson: Person
    how: str  # "same email" | "same name"


@dataclass
class FillResult:
    table: LookupTable
    matched: list[Match] = field(default_factory=list)
    unmatched: list[Person] = field(default_factory=list)  # CRM users no salesperson fits
    kept: dict[str, str] = field(default_factory=dict)  # unmatched users' own rows, kept

    def summary(self) -> str:
        said = f"Matched {len(self.matched)} of {len(self.matched) + len(self.unmatched)} users"
        if not self.unmatched:
            return f"{said}."
        return (
            f"{said}; {len(self.unmatched)} could not be matched by email or name: add a row "
            "for each one (user key → salesperson number) or give them the same email in both "
            "systems and fill again."
        )


def folded(text: str) -> str:
    """Emails and names compared without case or doubled spaces."""
    return " ".join(text.split()).casefold()


def match_people(
    users: list[Person], salespeople: list[Person]
) -> tuple[list[Match], list[Person]]:
    """Each user's salesperson by email, else by name (only when one salesperson has it)."""
    by_email = {folded(p.email): p for p in salespeople if p.email}
    by_name: dict[str, list[Person]] = {}
    for person in salespeople:
        if person.name:
            by_name.setdefault(folded(person.name), []).append(person)
    matched, unmatched = [], []
    for user in users:
        if user.email and (found := by_email.get(folded(user.email))):
            matched.append(Match(user, found, "same email"))
        elif len(named := by_name.get(folded(user.name), [])) == 1:
            matched.append(Match(user, named[0], "same name"))
        else:
            unmatched.append(user)
    return matched, unmatched


def fill_salespeople(pair: IntegrationPair) -> FillResult:
    """Read both lists (the systems are asked now), then write the table in one go."""
    users = connector_for(pair.crm).users()
    salespeople = connector_for(pair.erp).salespeople()
    matched, unmatched = match_people(users, salespeople)
    with transaction.atomic():
        table, _ = LookupTable.objects.get_or_create(
            pair=pair,
            name=SALESPEOPLE_TABLE,
            defaults={"description": TABLE_DESCRIPTION, "on_miss": LookupTable.OnMiss.DEFAULT},
        )
        for match in matched:
            LookupEntry.objects.update_or_create(
                table=table, key=match.user.key, defaults={"value": match.salesperson.key}
            )
        kept = dict(
            table.entries.filter(key__in=[user.key for user in unmatched]).values_list(
                "key", "value"
            )
        )
        table.save(update_fields=["updated_at"])
    return FillResult(table, matched, unmatched, kept)
