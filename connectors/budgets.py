"""API budgets shared by every process and host: one token bucket per connection in the
database (`ApiBudget`), so two workers on two hosts together send no more than the system
allows (Streak 10 requests a second, Sage Accounting 200 calls a minute per business).

A take is one short transaction of its own, never inside the caller's: on PostgreSQL a
connection kept for takes alone, with the row locked (SELECT … FOR UPDATE) only for the
take; on SQLite the process's connection, whose IMMEDIATE transactions already serialise
writers. No lock is held across an HTTP call.

To keep the database out of the hot path a process takes up to BATCH_SECONDS of the rate at
once and spends the tokens itself; tokens not spent within HOLD_SECONDS are dropped, so a
stash cannot burst late. When the bucket is empty the caller waits at most MAX_WAIT_SECONDS,
else gets RateLimited and its run is parked: a worker never sleeps long.
"""

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from clarity.cpu_turns import pause
from connectors.errors import RateLimited
from connectors.models import ApiBudget

BATCH_SECONDS = 0.25  # a take asks for this much of the rate at once
HOLD_SECONDS = 0.5  # tokens a process took but did not spend by then are dropped
MAX_WAIT_SECONDS = 2.0  # the longest a caller sleeps for a token before RateLimited
WINDOW_SECONDS = 10.0  # the span the "in use" rate on the connection page is measured over
HOLDER_SECONDS = 60.0  # a process shares a budget while it took from it this recently
CONNECTION_PK = re.compile(r"(\d+)$")  # throttle keys end in the connection's pk
PROCESS = f"{socket.gethostname()}:{os.getpid()}"

TABLE = ApiBudget._meta.db_table
COLUMNS = (
    "rate, capacity, tokens, refilled_at, window_started, window_taken, last_window_rate, holders"
)


@dataclass
class Bucket:
    """One budget row as a take reads and writes it."""

    rate: float
    capacity: float
    tokens: float
    refilled_at: float
    window_started: float
    window_taken: int
    last_window_rate: float
    holders: str

    def values(self) -> list[Any]:
        return [
            self.rate, self.capacity, self.tokens, self.refilled_at, self.window_started,
            self.window_taken, self.last_window_rate, self.holders,
        ]  # fmt: skip


_local = threading.local()
# The parent's take connections, kept referenced in a forked child: freeing one there would
# end the parent's database session, whose socket the child shares.
_inherited: list[threading.local] = []


def _forget_parents_connection() -> None:
    """A forked worker opens its own take connection and names itself."""
    global _local, PROCESS
    _inherited.append(_local)
    _local = threading.local()
    PROCESS = f"{socket.gethostname()}:{os.getpid()}"


os.register_at_fork(after_in_child=_forget_parents_connection)


@contextmanager
def take_transaction() -> Iterator[Any]:
    """A cursor in a transaction of the take's own, committed when the block ends."""
    if connection.vendor == "sqlite":
        with transaction.atomic(), connection.cursor() as cursor:
            yield cursor
        return
    own = getattr(_local, "connection", None)
    if own is None:
        own = _local.connection = connections.create_connection(DEFAULT_DB_ALIAS)
    own.ensure_connection()
    own.set_autocommit(False)
    try:
        with own.cursor() as cursor:
            yield cursor
        own.commit()
    except BaseException:
        own.rollback()
        raise
    finally:
        own.set_autocommit(True)


def connection_pk(key: str) -> int | None:
    found = CONNECTION_PK.search(key)
    return int(found.group(1)) if found else None


def locked_row(cursor: Any, key: str, rate: float, capacity: float, now: float) -> Bucket:
    """The key's budget, locked for this transaction; made full on first use."""
    lock = "" if connection.vendor == "sqlite" else " FOR UPDATE"
    select = f'SELECT {COLUMNS} FROM {TABLE} WHERE "key" = %s{lock}'
    cursor.execute(select, [key])
    row = cursor.fetchone()
    if row is None:
        cursor.execute(
            f'INSERT INTO {TABLE} ("key", connection_id, {COLUMNS}) '
            "VALUES (%s, %s, %s, %s, %s, %s, %s, 0, 0, '{}') ON CONFLICT (\"key\") DO NOTHING",
            [key, connection_pk(key), rate, capacity, capacity, now, now],
        )
        cursor.execute(select, [key])
        row = cursor.fetchone()
    return Bucket(*row)


def take(key: str, rate: float, capacity: float, wanted: int) -> tuple[int, float]:
    """Take up to `wanted` whole tokens: (how many were granted, seconds until the next one
    when none was). The configured rate wins over the stored one."""
    now = time.time()
    with take_transaction() as cursor:
        bucket = locked_row(cursor, key, rate, capacity, now)
        bucket.rate, bucket.capacity = rate, capacity
        elapsed = max(0.0, now - bucket.refilled_at)
        bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
        bucket.refilled_at = now
        granted = min(wanted, int(bucket.tokens))
        bucket.tokens -= granted
        if now - bucket.window_started >= WINDOW_SECONDS:
            bucket.last_window_rate = bucket.window_taken / (now - bucket.window_started)
            bucket.window_started, bucket.window_taken = now, 0
        bucket.window_taken += granted
        holders = {
            process: seen
            for process, seen in json.loads(bucket.holders or "{}").items()
            if now - seen < HOLDER_SECONDS
        }
        holders[PROCESS] = now
        bucket.holders = json.dumps(holders)
        cursor.execute(
            f"UPDATE {TABLE} SET rate = %s, capacity = %s, tokens = %s, refilled_at = %s, "
            "window_started = %s, window_taken = %s, last_window_rate = %s, holders = %s "
            'WHERE "key" = %s',
            [*bucket.values(), key],
        )
    return granted, 0.0 if granted else (1 - bucket.tokens) / rate


class SharedBucket:
    """This process's end of a connection's shared budget: tokens taken in batches from the
    database and spent here, by any thread of the process."""

    def __init__(self, key: str, rate: float, capacity: float | None = None) -> None:
        self.key = key
        self.rate = rate
        self.capacity = capacity or rate
        self.batch = max(1, min(int(rate * BATCH_SECONDS), int(self.capacity)))
        self.local_tokens = 0
        self.expires = 0.0
        self.lock = threading.Lock()

    def acquire(self) -> None:
        """One token, waiting at most MAX_WAIT_SECONDS; else RateLimited, so the caller's
        run is parked and tried again when the budget has room."""
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        while True:
            with self.lock:
                if self.local_tokens and time.monotonic() < self.expires:
                    self.local_tokens -= 1
                    return
                granted, wait = take(self.key, self.rate, self.capacity, self.batch)
                if granted:
                    self.local_tokens = granted - 1
                    self.expires = time.monotonic() + HOLD_SECONDS
                    return
            if time.monotonic() + wait > deadline:
                raise RateLimited(
                    f"The API budget of this connection ({self.rate:g} calls a second, shared "
                    "by every worker) is in use: trying again shortly.",
                    retry_after=max(1.0, wait),
                )
            pause(wait)


@dataclass
class BudgetUse:
    """What the connection page says about one budget."""

    rate: float
    in_use: float
    processes: int

    @property
    def rate_text(self) -> str:
        if self.rate < 1:
            return f"{self.rate * 60:.4g} a minute"
        return f"{self.rate:.4g} a second"

    @property
    def in_use_text(self) -> str:
        use = self.in_use * 60 if self.rate < 1 else self.in_use
        return f"{use:.2g}" if use < 10 else f"{use:.0f}"


def budget_use(budget: ApiBudget, now: float | None = None) -> BudgetUse:
    """The rate taken lately (over the current window, or the last one while the current is
    under a second old) and
    how many processes took from it in the last minute."""
    now = time.time() if now is None else now
    since = now - budget.window_started
    if since >= 2 * WINDOW_SECONDS:
        in_use = 0.0  # idle since
    elif since >= 1.0 or not budget.last_window_rate:
        in_use = budget.window_taken / max(since, 1.0)
    else:
        in_use = budget.last_window_rate
    seen = json.loads(budget.holders or "{}").values()
    processes = sum(1 for taken in seen if now - taken < HOLDER_SECONDS)
    return BudgetUse(budget.rate, min(in_use, budget.rate), processes)
