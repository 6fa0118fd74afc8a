"""A process of its own that calls Streak through one connection, as a worker on another
host would: `python -m tests.integration.connectors.budget_caller PK CALLS START_AT`.

It waits until START_AT (epoch seconds) so the processes start together, then makes CALLS
reads; a RateLimited is waited out as the runner would (parked until the slot it was given,
then tried again with that slot). It prints how many calls it made and how many times it
was told to wait."""

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clarity.settings")
django.setup()

from connectors.budgets import run_calls  # noqa: E402  (needs django.setup())
from connectors.errors import RateLimited  # noqa: E402
from connectors.models import Connection  # noqa: E402
from connectors.services import connector_for  # noqa: E402


def main(pk: int, calls: int, start_at: float) -> None:
    client = connector_for(Connection.objects.get(pk=pk)).client
    time.sleep(max(0.0, start_at - time.time()))
    made = waits = 0
    slot = None
    while made < calls:
        try:
            with run_calls(slot):
                client.get("/v1/users/me")
        except RateLimited as limited:
            waits += 1
            slot = limited.reservation
            time.sleep(limited.retry_after)
            continue
        slot = None
        made += 1
    print(f"made={made} waits={waits}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
