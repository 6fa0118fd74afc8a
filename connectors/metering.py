"""API calls per system and outcome, for `/metrics`.

Every API request and Sage 100 ODBC query (catalog reads aside) is counted in memory where
it passes (`connectors.http.HttpClient`, the Sage 100 ODBC reader), so the hot path writes
nothing. The counts are added to `ApiCallCount` rows (`connectors.call_counts`) at the end
of each worker task (`flushes_api_calls`), after a web request that made calls,
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
from typing import Any, ParamSpec, TypeVar

from django.db import connection as db_connection

from connectors.errors import ConnectorError, RateLimited, TransientError
from connectors.registry import SYSTEMS

logger = logging.getLogger(__name__)

OK = "ok"
CLIENT_ERROR = "client_error"  # refused: 4xx, bad credentials, a query Sage would not run
SERVER_ERROR = "server_error"  # the system failed: 5xx, 408
RATE_LIMITED = "rate_limited"
NETWORK_ERROR = "network_error"  # no answer: refused connection, timeout, lost ODBC link
FLUSH_SECONDS = 5.0

Counts = dict[tuple[str, str], int]  # (system, outcome) → calls
Store = Callable[[Counts], Counts]  # saves counts; returns those it could not save

_pending: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()
_last_flush = time.monotonic()
_store: Store | None = None


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
    """Add this process's counts to the database. What could not be saved stays pending,
    and nothing is raised: a count is worth less than the call or the task it would break."""
    global _last_flush
    with _lock:
        taken = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
    if not taken:
        return
    unsaved = _store(taken) if _store else taken
    if unsaved:
        with _lock:
            _pending.update(unsaved)


def store_counts_with(store: Store) -> None:
    """Set where counts are saved (`connectors.call_counts.save`, from the app's ready()):
    the clients that count load before the models can."""
    global _store
    _store = store


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
