"""Callers past a connection's burst are served in the order they asked: each run's call is
given the next slot of the budget, and a run parked until its slot spends it when it comes
back instead of queueing again behind everyone who asked after it (`connectors.budgets`)."""

import itertools
import time

import pytest

from connectors import budgets
from connectors.budgets import SharedBucket, run_calls
from connectors.errors import RateLimited

pytestmark = pytest.mark.django_db

RATE = 20  # tokens a second; the burst is as large


@pytest.fixture
def bucket(monkeypatch, request) -> SharedBucket:
    """A full bucket of its own; every caller past the burst is parked (no waiting here)."""
    monkeypatch.setattr(budgets, "MAX_WAIT_SECONDS", 0.0)
    return SharedBucket(f"slots-{request.node.name}:1", rate=RATE)


def park(bucket: SharedBucket, slot: dict | None = None) -> RateLimited:
    """A run's call that is parked (the run back with `slot`, if given)."""
    with pytest.raises(RateLimited) as limited, run_calls(slot):
        bucket.acquire()
    return limited.value


def spend(bucket: SharedBucket, calls: int = RATE) -> None:
    for _ in range(calls):
        bucket.acquire()


def wait_until(slot: dict) -> None:
    time.sleep(max(0.0, slot["due"] - time.time()))


def test_runs_past_the_burst_get_slots_in_the_order_they_asked(bucket):
    spend(bucket)
    asked = time.time()
    parked = [park(bucket) for _ in range(10)]

    dues = [limited.reservation["due"] for limited in parked]
    gaps = [later - earlier for earlier, later in itertools.pairwise(dues)]
    assert gaps == pytest.approx([1 / RATE] * 9, abs=0.005)
    assert dues[0] - asked == pytest.approx(1 / RATE, abs=0.02)
    assert parked[-1].retry_after == pytest.approx(dues[-1] - asked, abs=0.05)
    assert "turn comes in 0.5 s" in str(parked[-1])


def test_a_run_back_at_its_slot_is_served_before_those_who_asked_later(bucket):
    spend(bucket)
    first = park(bucket)
    later = [park(bucket) for _ in range(5)]
    wait_until(first.reservation)

    # Without its slot it would queue behind the five who asked after it...
    behind = park(bucket)
    assert behind.reservation["due"] > later[-1].reservation["due"]
    # ...with it, it is served now.
    with run_calls(first.reservation):
        bucket.acquire()


def test_a_slot_covers_the_calls_the_parked_step_makes_again(bucket):
    """A step that read once and was parked on its second read reads twice when back."""
    spend(bucket, RATE - 1)
    with pytest.raises(RateLimited) as limited, run_calls(None):
        bucket.acquire()  # the last token of the burst
        bucket.acquire()  # parked
    slot = limited.value.reservation
    assert slot["tokens"] == 2
    for _ in range(5):
        park(bucket)
    wait_until(slot)

    with run_calls(slot):
        bucket.acquire()
        bucket.acquire()


def test_each_step_counts_its_own_calls(bucket):
    spend(bucket, RATE - 1)
    with pytest.raises(RateLimited) as limited, run_calls(None):
        bucket.acquire()  # an earlier step's call: not made again
        budgets.step_started()
        bucket.acquire()
    assert limited.value.reservation["tokens"] == 1


def test_a_slot_is_spent_once(bucket):
    spend(bucket)
    first = park(bucket)
    wait_until(first.reservation)
    with pytest.raises(RateLimited) as again, run_calls(first.reservation):
        bucket.acquire()
        bucket.acquire()
    assert again.value.reservation["due"] > first.reservation["due"]


def test_a_run_back_long_after_its_slot_queues_again(bucket, monkeypatch):
    monkeypatch.setattr(budgets, "LATE_SECONDS", 0.1)
    spend(bucket)
    first = park(bucket)
    for _ in range(10):  # others after it: the budget is still in debt when it comes back
        park(bucket)
    time.sleep(max(0.0, first.reservation["due"] - time.time()) + 0.2)

    late = park(bucket, first.reservation)  # spent late, it could burst with others' slots
    assert late.reservation["due"] > first.reservation["due"]


def test_a_run_back_before_its_slot_is_parked_until_it(bucket):
    spend(bucket)
    last = [park(bucket) for _ in range(10)][-1]

    early = park(bucket, last.reservation)
    assert early.reservation == last.reservation
    assert early.retry_after == pytest.approx(last.reservation["due"] - time.time(), abs=0.05)


def test_slots_are_given_only_so_far_ahead(bucket, monkeypatch):
    monkeypatch.setattr(budgets, "RESERVE_SECONDS", 0.25)  # five slots at 20 a second
    spend(bucket)
    slots = [park(bucket) for _ in range(5)]
    beyond = park(bucket)

    assert all(limited.reservation for limited in slots)
    assert beyond.reservation is None
    assert 0 <= beyond.retry_after <= 1 / RATE + 0.02


def test_a_caller_that_is_no_run_gets_no_slot_it_would_not_come_back_for(bucket):
    """A poll or a page told to wait is not parked with a slot: nothing would spend it, and
    the runs after it would wait for a call never made."""
    spend(bucket)
    with pytest.raises(RateLimited, match=r"in use: try again in 0\.\d s") as limited:
        bucket.acquire()
    assert limited.value.reservation is None
    assert park(bucket).reservation["due"] == pytest.approx(time.time() + 1 / RATE, abs=0.02)
