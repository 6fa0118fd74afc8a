"""An opportunity's fields and its note in one Composite request (`/composite`, allOrNone
false): the won-deal flows' write-back and note cost one call instead of three (the PATCH,
the Task describe a plain create reads, the Task). Each part answers on its own: a part
that fails raises its error, so the step is retried, and the retry writes the fields again
(a PATCH repeats harmlessly) and looks for the note before adding it (`has_task`).
"""

from datetime import date
from typing import Any

from connectors.errors import ValidationError
from connectors.salesforce.client import SYSTEM, SalesforceClient, error_from_code
from connectors.salesforce.deals import OPPORTUNITY, task_subject
from connectors.salesforce.record_ids import record_id


def note_task(key: str, message: str, today: date) -> dict[str, Any]:
    """The completed Task a note is, as `SalesforceCrm.add_note` makes it."""
    return {
        "WhatId": key, "Subject": task_subject(message), "Description": message,
        "Status": "Completed", "Priority": "Normal", "ActivityDate": today.isoformat(),
    }  # fmt: skip


def write_opportunity_noted(
    client: SalesforceClient, key: str, values: dict[str, Any], task: dict[str, Any] | None
) -> None:
    """PATCH the opportunity and, when given, create the Task, in one request."""
    opportunity = record_id(key)

    def send(sf: Any) -> dict[str, Any]:
        base = f"/services/data/v{sf.sf_version}/sobjects"
        parts = [{"method": "PATCH", "url": f"{base}/{OPPORTUNITY}/{opportunity}",
                  "referenceId": "deal", "body": values}]  # fmt: skip
        if task is not None:
            parts.append({"method": "POST", "url": f"{base}/Task", "referenceId": "note",
                          "body": task})  # fmt: skip
        body = {"allOrNone": False, "compositeRequest": parts}
        return sf.restful("composite", method="POST", json=body)

    reply = client.call(send)
    for part in reply.get("compositeResponse") or []:
        status = int(part.get("httpStatusCode") or 0)
        if status < 400:
            continue
        errors = part.get("body") if isinstance(part.get("body"), list) else [{}]
        first = errors[0] if errors else {}
        raise error_from_code(
            first.get("errorCode", ""),
            first.get("message", "") or f"HTTP {status}",
            first.get("fields"),
            status,
        )
    if not reply.get("compositeResponse"):
        raise ValidationError(
            f"Salesforce answered the write to opportunity {key} with no result.", system=SYSTEM
        )
