"""Sage 100's customer contacts endpoint on the agent (`AR_CustomerContact_bus`):

    POST /v1/customers/<div>/<no>/contacts  {ContactCode, ContactName, EmailAddress, ...}
                                             -> 200 {"contact": {...}}

It creates the contact `ContactCode` names or, when the customer has it, sets the values
given: sending the same body again writes the same row, so a retry is safe. A backend that
writes contacts has `save_customer_contact`; one without it refuses plainly.
"""

from typing import Any, Protocol, runtime_checkable

from werkzeug.routing import Rule

from agent.api import BadRequest, plain_values
from agent.backend import Record, Refused


def rule() -> Rule:
    """The endpoint's route; a new one for each app, as a werkzeug Rule binds to one map."""
    return Rule(
        "/v1/customers/<division>/<customer_no>/contacts",
        endpoint="save_customer_contact",
        methods=["POST"],
    )


@runtime_checkable
class CustomerContacts(Protocol):
    def save_customer_contact(self, division: str, customer_no: str, values: Record) -> Record:
        """AR_CustomerContact_bus: create or update the contact; the row as written."""


def save_customer_contact(
    backend: Any, payload: dict, division: str, customer_no: str
) -> tuple[int, Any]:
    if not isinstance(payload.get("ContactCode"), str) or not payload["ContactCode"]:
        raise BadRequest('"ContactCode" (text, up to 10 characters) is required.', "ContactCode")
    plain_values(payload)
    if not isinstance(backend, CustomerContacts):
        raise Refused("This agent's Sage 100 backend cannot write customer contacts yet.")
    return 200, {"contact": backend.save_customer_contact(division, customer_no, payload)}
