"""What the two-way sync tests (customers, contacts) do alike against the live sandboxes:
wait for a webhook's effect, work off the pending runs as a worker would, bind a CRM
organization or account to a Sage 100 customer, and read that customer's contacts."""

import time
from collections.abc import Callable
from typing import Any

from connectors.models import IntegrationPair
from flows.models import ExternalLink, SyncRun
from flows.runner import execute_run
from tests.integration.flows.polling import sage100_rows


def wait_for(check: Callable[[], Any], seconds: float = 15) -> Any:
    """What `check` finds first; a webhook arrives on another thread, so poll for it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"not seen within {seconds} s")


def work_off(pair: IntegrationPair) -> list[SyncRun]:
    """What a worker does: execute the pair's pending runs; the runs, finished."""
    pending = list(SyncRun.objects.filter(pair=pair, status=SyncRun.Status.PENDING))
    for run in pending:
        execute_run(run.pk)
        run.refresh_from_db()
    return pending


def bind_sage100_customer(pair: IntegrationPair, crm_id: str, customer: dict) -> ExternalLink:
    """The CRM record `crm_id` bound to the Sage 100 customer row, as the customer flows do."""
    return ExternalLink.objects.create(
        pair=pair,
        entity="customer",
        crm_id=crm_id,
        sage_id=f"{customer['ARDivisionNo']}-{customer['CustomerNo']}",
    )


def customer_contacts(sandbox, division: str, customer_no: str) -> list[dict]:
    """The Sage 100 customer's AR_CustomerContact rows, read from the sandbox's database."""
    return sage100_rows(
        sandbox,
        "SELECT * FROM AR_CustomerContact WHERE ARDivisionNo = ? AND CustomerNo = ?",
        division,
        customer_no,
    )
