"""Claims: one run at a time finds or makes the Sage counterpart of a CRM record.

The runner keeps the events of one deal in order, but two deals of one new organization
(won together in a bulk stage change, or a backlog drained by several workers) are two
records: without a claim both would search Sage, find nothing, and each create a customer.
A claim is a row, unique per pair, entity and CRM record, committed before Sage is asked;
a run that finds the record claimed by another waits a moment (`RecordBusy`, retried soon
without using an attempt) and then finds the binding the first run left. A claim lapses
after CLAIM_SECONDS, so a run whose worker died does not hold the record for ever.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from connectors.errors import RateLimited
from flows.models import Claim, SyncRun

CLAIM_SECONDS = 300
BUSY_RETRY_SECONDS = 2.0


class RecordBusy(RateLimited):
    """Another run is making this record's Sage counterpart: try again in a moment."""


def take(run: SyncRun, entity: str, crm_id: str) -> bool:
    """Claim the record for `run`: a new claim, the run's own, or one that lapsed."""
    now = timezone.now()
    until = now + timedelta(seconds=CLAIM_SECONDS)
    mine_or_lapsed = Q(run=run) | Q(until__lt=now)
    claims = Claim.objects.filter(pair_id=run.pair_id, entity=entity, crm_id=crm_id)
    if claims.filter(mine_or_lapsed).update(run=run, until=until):
        return True
    try:
        with transaction.atomic():
            Claim.objects.create(pair_id=run.pair_id, entity=entity, crm_id=crm_id, run=run,
                                 until=until)  # fmt: skip
    except IntegrityError:
        return False
    return True


@contextmanager
def claimed(run: SyncRun, entity: str, crm_id: str, what: str) -> Iterator[None]:
    """Hold the record while the block runs; raise RecordBusy when another run holds it."""
    if not take(run, entity, crm_id):
        holder = (
            Claim.objects.filter(pair_id=run.pair_id, entity=entity, crm_id=crm_id)
            .values_list("run_id", flat=True)
            .first()
        )
        raise RecordBusy(
            f"Run {holder} is finding or creating {what} right now; this run goes on as soon "
            "as it is done, with the same one.",
            retry_after=BUSY_RETRY_SECONDS,
        )
    try:
        yield
    finally:
        Claim.objects.filter(pair_id=run.pair_id, entity=entity, crm_id=crm_id, run=run).delete()
