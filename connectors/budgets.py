"""API budgets shared by every process and host: one token bucket per connection in the
database (`ApiBudget`), so two workers on two hosts together send no more than the system
allows (Streak 10 requests a second, Sage Accounting 200 calls a minute per business).

A take is one short transaction of its own, never inside the caller's: on PostgreSQL a
connection kept for takes alone, with the row locked (SELECT … FOR UPDATE) only for the
take; on SQLite the process's connection, whose IMMEDIATE transactions already serialise
writers. No lock is held across an HTTP call.

To keep the database out of the hot path a process takes up to BATCH_SECONDS of the rate at
once and spends the tokens itself; tokens not spent within HOLD_SECONDS are dropped, so a
stash cannot burst late.

When the bucket is empty a caller is given the next free slot, as in GCRA: the token is
taken at once (the bucket goes into debt) and falls due when the debt before it is paid, so
callers are served in the order they asked. A caller whose slot is within MAX_WAIT_SECONDS
waits for it; a later one gets RateLimited carrying its `Reservation`, its run is parked
until the slot and spends it when it is back (`reserved`), however late a worker takes it
up (within LATE_SECONDS), as Go's rate.Limiter spends a Reservation. Without slots every
parked run came back at the next free token, together, and most were parked again (200
deals at once on 20 pairs: 3,000 parked attempts, some runs a minute late); with slots given
up when late, runs waiting for a free worker in a burst left the budget in debt for calls
never made, and fresh runs queued behind them. Debt is bounded by RESERVE_SECONDS of the
rate, so callers that never come back for their slots cannot push the others away for ever.
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
RESERVE_SECONDS = 120.0  # slots are given this far ahead at most; later callers just wait
LATE_SECONDS = 60.0  # a slot is spent this late at most; a run back later queues again
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


@dataclass(frozen=True)
class Reservation:
    """A slot of a connection's budget taken for a parked run: spent when the run is back."""

    key: str
    due: float  # epoch seconds

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "due": self.due}


_reserved = threading.local()


@contextmanager
def reserved(slot: dict[str, Any] | None) -> Iterator[None]:
    """Calls made in the block may spend the slot (`Reservation.as_json`) a parked run
    holds, instead of queueing again behind those who asked after it."""
    _reserved.slot = Reservation(**slot) if slot else None
    try:
        yield
    finally:
        _reserved.slot = None


def take(key: str, rate: float, capacity: float, wanted: int) -> tuple[int, float]:
    """Take up to `wanted` whole tokens: (how many, seconds until they are due). With none
    left, one token is taken ahead (the bucket goes into debt) and is due when the debt
    before it is paid; with more than RESERVE_SECONDS of debt, none: (0, seconds until the
    debt is back within it). The configured rate wins over the stored one."""
    now = time.time()
    with take_transaction() as cursor:
        bucket = locked_row(cursor, key, rate, capacity, now)
        bucket.rate, bucket.capacity = rate, capacity
        elapsed = max(0.0, now - bucket.refilled_at)
        bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
        bucket.refilled_at = now
        if bucket.tokens >= 1:
            granted, due_in = min(wanted, int(bucket.tokens)), 0.0
        else:
            due_in = (1 - bucket.tokens) / rate
            granted = 1 if due_in <= RESERVE_SECONDS else 0
            due_in = due_in if granted else due_in - RESERVE_SECONDS
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
    return granted, due_in


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
        """One token: the slot the caller's run holds for this budget, a token at hand, or
        the next free slot, waited for when it is due within MAX_WAIT_SECONDS; else
        RateLimited with the slot, so the run is parked until then."""
        slot = getattr(_reserved, "slot", None)
        if slot is not None and slot.key == self.key:
            _reserved.slot = None
            if time.time() - slot.due <= LATE_SECONDS:
                self.wait_for(slot)
                return
        with self.lock:
            if self.local_tokens and time.monotonic() < self.expires:
                self.local_tokens -= 1
                return
            granted, due_in = take(self.key, self.rate, self.capacity, self.batch)
            if granted and not due_in:
                self.local_tokens = granted - 1
                self.expires = time.monotonic() + HOLD_SECONDS
                return
        self.wait_for(Reservation(self.key, time.time() + due_in) if granted else None, due_in)

    def wait_for(self, slot: Reservation | None, wait: float | None = None) -> None:
        """Sleep until the slot if it is near; else park the run until it (or, with no slot
        to be had, until there may be one)."""
        wait = slot.due - time.time() if slot else wait or 0.0
        if slot is None or wait > MAX_WAIT_SECONDS:
            raise RateLimited(
                f"The API budget of this connection ({self.rate:g} calls a second, shared by "
                f"every worker) is in use: this call's turn comes in {max(wait, 0):.1f} s.",
                retry_after=max(wait, 0.0),
                reservation=slot.as_json() if slot else None,
            )
        if wait > 0:
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
