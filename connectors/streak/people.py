"""Streak's users: the members of the teams the API key's owner belongs to
(`GET /v2/users/me/teams`), keyed by lower-case email, which is how a box names its
assignees (`assignedToSharingEntries[].email`)."""

from typing import Any

from connectors.records import Person

TEAMS_PATH = "/v2/users/me/teams"


def team_users(crm: Any) -> list[Person]:
    """Every member of every team, once, in the teams' order."""
    people: dict[str, Person] = {}
    for team in crm.client.get(TEAMS_PATH).get("results") or []:
        for member in team.get("members") or []:
            email = str(member.get("email") or "").strip().lower()
            if email and email not in people:
                name = member.get("fullName") or member.get("displayName") or email
                people[email] = Person(key=email, name=str(name), email=email)
    return list(people.values())
