"""On SQLite a write that waits for another writer goes ahead the moment that one commits
(clarity/sqlite/base.py), not at SQLite's next busy-handler look, 1, 2, 5, 10 ... 100 ms
apart: with the first holding on for 250 ms, that look came about 80 ms late. So does a
single statement outside a transaction (a run's claim, a lease's renewal)."""

import threading
import time
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's writers take turns"),
]
HOLD_SECONDS = 0.25


def in_a_transaction() -> None:
    with transaction.atomic():
        Group.objects.create(name="second")


def alone() -> None:
    Group.objects.create(name="second")


@pytest.mark.parametrize("write", [in_a_transaction, alone])
def test_a_writer_waiting_for_another_goes_ahead_as_soon_as_it_commits(
    write: Callable[[], None],
):
    first_in, moments = threading.Event(), {}

    def first() -> None:
        with transaction.atomic():
            Group.objects.create(name="first")
            first_in.set()
            time.sleep(HOLD_SECONDS)
        moments["committed"] = time.monotonic()
        connection.close()

    def second() -> None:
        first_in.wait(10)
        moments["asked"] = time.monotonic()
        write()
        moments["written"] = time.monotonic()
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert moments["written"] - moments["asked"] >= HOLD_SECONDS * 0.8  # it waited its turn
    assert moments["written"] - moments["committed"] < 0.02
    assert Group.objects.filter(name__in=["first", "second"]).count() == 2
