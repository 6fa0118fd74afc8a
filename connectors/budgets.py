"""API budgets shared by every process and host: one token bucket per connection in the
database (`ApiBudget`), so two workers on two hosts together send no more than the system
allows (Streak 10 requests a second, Sage Accounting 200 calls a minute per business).

A take is one short transaction of its own, never inside the caller's: on PostgreSQL a
connection kept for takes alone, with the row locked (SELECT … FOR UPDATE) only for the
take; on SQLite the process's connection, whose IMMEDIATE transactions already serialise
writers. No lock is held across an HTTP call.

To keep the database out of the hot path a process takes up to BATCH_SECONDS of the rate at
once and spends the tokens itself; tokens not spent within HOLD_SECONDS are dropped, so a
stash cannot burst late. It does so only while the bucket is at least half full: when the
budget is tight, a token dropped from a stash is a call another process had to wait for.

When the bucket is empty a caller is given the next free slot, as in GCRA: the token is
taken at once (the bucket goes into debt) and falls due when the debt before it is paid, so
callers are served in the order they asked. A caller whose slot is within MAX_WAIT_SECONDS
waits for it. A run's call whose slot is later gets RateLimited carrying its `Reservation`:
the run is parked until then and spends the slot when it is back (`run_calls`), however late
a worker takes it up (within LATE_SECONDS), as Go's rate.Limiter spends a Reservation. The
slot holds a token for each call of the parked step on that budget, since the step makes
them all again: with one token, a step of two reads spent it on the first and was parked
again on the second, for ever. Other callers (polls, pages) get no slot past
MAX_WAIT_SECONDS: they would not come back for it. Without slots every parked run came back
at the next free token, together, and most were parked again (200 deals at once on 20
pairs: 3,000 parked attempts, some runs a minute late). Debt is bounded by RESERVE_SECONDS
of the rate, so runs that never come back for their slots cannot push the others away for
ever.
"""

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
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
    """Tokens of a connection's budget taken for a parked run: the call it was parked on and
    the calls its step made before it on the same budget, which it makes again when back."""

    key: str
    due: float  # epoch seconds
    tokens: int = 1

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "due": self.due, "tokens": self.tokens}


_run = threading.local()  # the calling thread's run: `parks`, its `slot`, the step's `made`


@contextmanager
def run_calls(slot: dict[str, Any] | None) -> Iterator[None]:
    """Calls made in the block are a run's: one told to wait longer than MAX_WAIT_SECONDS is
    given a slot (RateLimited.reservation) that the run keeps while it is parked and hands
    back here when it is back (`Reservation.as_json`), to spend instead of queueing again
    behind those who asked after it."""
    _run.parks, _run.slot, _run.made = True, Reservation(**slot) if slot else None, {}
    try:
        yield
    finally:
        _run.parks, _run.slot, _run.made = False, None, {}


def step_started() -> None:
    """A parked run starts again at the step it was parked in: the calls that step makes
    are what its slot must cover."""
    _run.made = {}


def take(
    key: str, rate: float, capacity: float, wanted: int, again: int | None = None
) -> tuple[int, float]:
    """Take up to `wanted` whole tokens (one when the bucket is under half full): (how many,
    seconds until they are due). With none left, one is taken ahead (the bucket goes into
    debt) if it falls due within MAX_WAIT_SECONDS; a later one only for a run (`again`: the
    calls it will make again before this one), with those calls', within RESERVE_SECONDS;
    else none: (0, seconds until one could be). The configured rate wins over the stored
    one."""
    now = time.time()
    with take_transaction() as cursor:
        bucket = locked_row(cursor, key, rate, capacity, now)
        bucket.rate, bucket.capacity = rate, capacity
        elapsed = max(0.0, now - bucket.refilled_at)
        bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
        bucket.refilled_at = now
        granted, due_in = share(bucket, wanted, again)
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


def share(bucket: Bucket, wanted: int, again: int | None) -> tuple[int, float]:
    """What `take` grants from the refilled bucket: (tokens, seconds until they are due)."""
    if bucket.tokens >= 1:
        spare = bucket.tokens >= bucket.capacity / 2
        return min(wanted if spare else 1, int(bucket.tokens)), 0.0
    due_in = (1 - bucket.tokens) / bucket.rate
    if due_in <= MAX_WAIT_SECONDS:
        return 1, due_in
    if again is None:
        return 0, due_in - MAX_WAIT_SECONDS
    due_in = (again + 1 - bucket.tokens) / bucket.rate
    if due_in <= RESERVE_SECONDS:
        return again + 1, due_in
    return 0, due_in - RESERVE_SECONDS


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
        """One token: from the slot the caller's run holds, from those at hand, or the next
        free one, waited for when it is due within MAX_WAIT_SECONDS; else RateLimited (with
        a slot when the caller is a run), so the run is parked until then."""
        again = None
        if getattr(_run, "parks", False):
            again = _run.made.get(self.key, 0)
            _run.made[self.key] = again + 1
            if self.spend_slot():
                return
        with self.lock:
            if self.local_tokens and time.monotonic() < self.expires:
                self.local_tokens -= 1
                return
            granted, due_in = take(self.key, self.rate, self.capacity, self.batch, again)
            if granted and not due_in:
                self.local_tokens = granted - 1
                self.expires = time.monotonic() + HOLD_SECONDS
                return
        if granted == 1 and due_in <= MAX_WAIT_SECONDS:
            pause(due_in)
            return
        slot = Reservation(self.key, time.time() + due_in, granted) if granted else None
        raise self.limited(due_in, slot)

    def spend_slot(self) -> bool:
        """Spend a token of the run's slot for this budget, when it is time (waiting for it
        if near); a slot more than LATE_SECONDS old is dropped."""
        slot = _run.slot
        if slot is None or slot.key != self.key:
            return False
        wait = slot.due - time.time()
        if wait < -LATE_SECONDS:
            _run.slot = None
            return False
        if wait > MAX_WAIT_SECONDS:  # back early: parked again until its slot
            raise self.limited(wait, slot)
        _run.slot = replace(slot, tokens=slot.tokens - 1) if slot.tokens > 1 else None
        if wait > 0:
            pause(wait)
        return True

    def limited(self, wait: float, slot: Reservation | None) -> RateLimited:
        when = (
            f"this call's turn comes in {max(wait, 0):.1f} s"
            if slot
            else f"try again in {max(wait, 0.1):.1f} s"
        )
        return RateLimited(
            f"The API budget of this connection ({self.rate:g} calls a second, shared by "
            f"every worker) is in use: {when}.",
            retry_after=max(wait, 0.0),
            reservation=slot.as_json() if slot else None,
        )


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
