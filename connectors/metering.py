"""API calls per system and outcome, for `/metrics`.

Every API request and Sage 100 ODBC query (catalog reads aside) is counted in memory where
it passes (`connectors.http.HttpClient`, the Sage 100 ODBC reader), so the hot path writes
nothing. The counts are added to `ApiCallCount` rows (all in one UPDATE once the rows exist)
at the end of each worker task (`flushes_api_calls`), after a web request that made calls,
and otherwise at most every FLUSH_SECONDS when no transaction is
open (a poll's transaction must not hold the counters' rows), so the web process that
serves `/metrics` sees what the qcluster workers did.
"""

import functools
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, ParamSpec, TypeVar

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from connectors.errors import ConnectorError, RateLimited, TransientError
from connectors.registry import SYSTEMS

logger = logging.getLogger(__name__)

OK = "ok"
CLIENT_ERROR = "client_error"  # refused: 4xx, bad credentials, a query Sage would not run
SERVER_ERROR = "server_error"  # the system failed: 5xx, 408
RATE_LIMITED = "rate_limited"
NETWORK_ERROR = "network_error"  # no answer: refused connection, timeout, lost ODBC link
FLUSH_SECONDS = 5.0

_pending: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()
_last_flush = time.monotonic()


def _forget_parents_counts() -> None:
    """A forked worker starts from zero: the parent adds its own counts."""
    global _lock
    _lock = threading.Lock()
    _pending.clear()


os.register_at_fork(after_in_child=_forget_parents_counts)


@functools.cache
def system_key(name: str) -> str:
    """A metric label for the system: its registry key (what errors carry, and what every
    client counts under) as it is, any other name made one."""
    if name in SYSTEMS:
        return name
    return name.strip().lower().replace(" ", "_") or "unknown"


def outcome_of(error: BaseException | None) -> str:
    if error is None:
        return OK
    if isinstance(error, RateLimited):
        return RATE_LIMITED
    status = getattr(error, "status", None)
    if status is not None:
        return SERVER_ERROR if status >= 500 or status == 408 else CLIENT_ERROR
    if isinstance(error, TransientError):
        return NETWORK_ERROR
    return CLIENT_ERROR if isinstance(error, ConnectorError) else NETWORK_ERROR


def count(system: str, error: BaseException | None = None) -> None:
    """Count one call to `system` (its registry key) that ended with `error` (None: fine)."""
    key = (system_key(system), outcome_of(error))
    with _lock:
        _pending[key] += 1
        due = time.monotonic() - _last_flush >= FLUSH_SECONDS
    if due and not db_connection.in_atomic_block:  # never inside the caller's transaction
        flush()


def flush() -> None:
    """Add this process's counts to the database. A failure keeps them pending and is
    not raised: a count is worth less than the call or the task it would break."""
    global _last_flush
    with _lock:
        taken = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
    if not taken:
        return
    rest = dict(taken)  # the counts not in the database yet
    try:
        for key in add_to_rows(taken):
            del rest[key]
        if rest:
            with transaction.atomic():
                for (system, outcome), calls in sorted(rest.items()):
                    add(system, outcome, calls)
    except Exception:  # the database is down, or (in a test) out of bounds
        logger.warning("Could not save API call counts; keeping them for later", exc_info=True)
        with _lock:
            _pending.update(rest)


def add_to_rows(taken: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
    """Add each count to its row, in one statement: the (system, outcome) keys it added to
    (a key without a row yet is left to `add`). Inside the caller's transaction it runs in a
    savepoint, so a failure here leaves that transaction usable."""
    table = db_connection.ops.quote_name(call_counts()._meta.db_table)
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


def call_counts() -> Any:
    """The ApiCallCount model, looked up when used: `connectors.models` imports the registry,
    whose clients import this module."""
    return apps.get_model("connectors", "ApiCallCount")


def add(system: str, outcome: str, calls: int) -> None:
    """One count whose row may not exist yet: made here."""
    rows = call_counts().objects.filter(system=system, outcome=outcome)
    if rows.update(calls=F("calls") + calls, updated_at=timezone.now()):
        return
    try:
        with transaction.atomic():
            call_counts().objects.create(system=system, outcome=outcome, calls=calls)
    except IntegrityError:  # another process created the row meanwhile
        rows.update(calls=F("calls") + calls, updated_at=timezone.now())


def flush_after_request(**kwargs: Any) -> None:
    """`request_finished` receiver: a web request's calls (Test connection and such)."""
    if _pending:
        flush()


Params = ParamSpec("Params")
Result = TypeVar("Result")


def flushes_api_calls(task: Callable[Params, Result]) -> Callable[Params, Result]:
    """Decorate a worker task: its calls reach the database when it ends, however it ends."""

    @functools.wraps(task)
    def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        try:
            return task(*args, **kwargs)
        finally:
            flush()

    return run
