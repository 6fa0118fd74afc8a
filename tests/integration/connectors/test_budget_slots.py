"""Callers past a connection's burst are served in the order they asked: each is given the
next slot of the budget, and a run parked until its slot spends it when it comes back
instead of queueing again behind everyone who asked after it (`connectors.budgets`)."""

import time

import pytest

from connectors import budgets
from connectors.budgets import SharedBucket, reserved
from connectors.errors import RateLimited

pytestmark = pytest.mark.django_db

RATE = 20  # tokens a second; the burst is as large


@pytest.fixture
def bucket(monkeypatch, request) -> SharedBucket:
    """A full bucket of its own; every caller past the burst is parked (no waiting here)."""
    monkeypatch.setattr(budgets, "MAX_WAIT_SECONDS", 0.0)
    return SharedBucket(f"slots-{request.node.name}:1", rate=RATE)


def park(bucket: SharedBucket) -> RateLimited:
    with pytest.raises(RateLimited) as limited:
        bucket.acquire()
    return limited.value


def spend_burst(bucket: SharedBucket) -> None:
    for _ in range(RATE):
        bucket.acquire()


def test_callers_past_the_burst_get_slots_in_the_order_they_asked(bucket):
    spend_burst(bucket)
    asked = time.time()
    parked = [park(bucket) for _ in range(10)]

    dues = [limited.reservation["due"] for limited in parked]
    gaps = [later - earlier for earlier, later in zip(dues, dues[1:], strict=False)]
    assert gaps == pytest.approx([1 / RATE] * 9, abs=0.005)
    assert dues[0] - asked == pytest.approx(1 / RATE, abs=0.02)
    assert parked[-1].retry_after == pytest.approx(dues[-1] - asked, abs=0.05)
    assert "turn comes in 0.5 s" in str(parked[-1])


def test_a_parked_caller_back_at_its_slot_is_served_before_those_who_asked_later(bucket):
    spend_burst(bucket)
    first = park(bucket)
    later = [park(bucket) for _ in range(5)]
    time.sleep(max(0.0, first.reservation["due"] - time.time()))

    # Without its slot it would queue behind the five who asked after it...
    behind = park(bucket)
    assert behind.reservation["due"] > later[-1].reservation["due"]
    # ...with it, it is served now.
    with reserved(first.reservation):
        bucket.acquire()


def test_a_slot_is_spent_once(bucket):
    spend_burst(bucket)
    first = park(bucket)
    time.sleep(max(0.0, first.reservation["due"] - time.time()))
    with reserved(first.reservation):
        bucket.acquire()
        again = park(bucket)
    assert again.reservation["due"] > first.reservation["due"]


def test_a_caller_back_long_after_its_slot_queues_again(bucket, monkeypatch):
    monkeypatch.setattr(budgets, "LATE_SECONDS", 0.1)
    spend_burst(bucket)
    first = park(bucket)
    for _ in range(10):  # others after it: the budget is still in debt when it comes back
        park(bucket)
    time.sleep(max(0.0, first.reservation["due"] - time.time()) + 0.2)
    with reserved(first.reservation):
        late = park(bucket)  # spent late, its token could come in a burst with others'
    assert late.reservation["due"] > first.reservation["due"]


def test_a_caller_back_before_its_slot_is_parked_until_it(bucket):
    spend_burst(bucket)
    parked = [park(bucket) for _ in range(10)]
    last = parked[-1]
    with reserved(last.reservation):
        early = park(bucket)
    assert early.reservation == last.reservation
    assert early.retry_after == pytest.approx(last.reservation["due"] - time.time(), abs=0.05)


def test_slots_are_given_only_so_far_ahead(bucket, monkeypatch):
    monkeypatch.setattr(budgets, "RESERVE_SECONDS", 0.25)  # five slots at 20 a second
    spend_burst(bucket)
    slots = [park(bucket) for _ in range(5)]
    beyond = park(bucket)

    assert all(limited.reservation for limited in slots)
    assert beyond.reservation is None
    assert 0 <= beyond.retry_after <= 1 / RATE + 0.02
