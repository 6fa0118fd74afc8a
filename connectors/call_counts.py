"""The API call counters' rows (`ApiCallCount`): where `connectors.metering` saves what each
process counted, set at start-up (`ConnectorsConfig.ready`)."""

import logging
from contextlib import nullcontext

from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from connectors.metering import Counts
from connectors.models import ApiCallCount

logger = logging.getLogger(__name__)


def save(taken: Counts) -> Counts:
    """Add the counts to their rows (all in one UPDATE once the rows exist); the counts not
    saved when the database failed, none when all were."""
    rest = dict(taken)  # the counts not in the database yet
    try:
        for key in add_to_rows(taken):
            del rest[key]
        if rest:
            with transaction.atomic():
                for (system, outcome), calls in sorted(rest.items()):
                    add(system, outcome, calls)
            rest = {}
    except Exception:  # the database is down, or (in a test) out of bounds
        logger.warning("Could not save API call counts; keeping them for later", exc_info=True)
    return rest


def add_to_rows(taken: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
    """Add each count to its row, in one statement: the (system, outcome) keys it added to
    (a key without a row yet is left to `add`). Inside the caller's transaction it runs in a
    savepoint, so a failure here leaves that transaction usable."""
    table = db_connection.ops.quote_name(ApiCallCount._meta.db_table)
    cases = " ".join("WHEN system = %s AND outcome = %s THEN %s" for _ in taken)
    keys = " OR ".join("(system = %s AND outcome = %s)" for _ in taken)
    now = db_connection.ops.adapt_datetimefield_value(timezone.now())
    params = [
        *(part for (system, outcome), calls in taken.items() for part in (system, outcome, calls)),
        now,
        *(part for key in taken for part in key),
    ]
    sql = (
        f"UPDATE {table} SET calls = calls + CASE {cases} ELSE 0 END, updated_at = %s "
        f"WHERE {keys} RETURNING system, outcome"
    )
    guarded = transaction.atomic() if db_connection.in_atomic_block else nullcontext()
    with guarded, db_connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(system, outcome) for system, outcome in cursor.fetchall()}


def add(system: str, outcome: str, calls: int) -> None:
    """One count whose row may not exist yet: made here."""
    rows = ApiCallCount.objects.filter(system=system, outcome=outcome)
    if rows.update(calls=F("calls") + calls, updated_at=timezone.now()):
        return
    try:
        with transaction.atomic():
            ApiCallCount.objects.create(system=system, outcome=outcome, calls=calls)
    except IntegrityError:  # another process created the row meanwhile
        rows.update(calls=F("calls") + calls, updated_at=timezone.now())
