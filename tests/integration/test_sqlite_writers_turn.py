"""On SQLite a transaction that waits for another writer begins the moment that one commits
(clarity/sqlite/base.py), not at SQLite's next busy-handler look, 1, 2, 5, 10 ... 100 ms
apart: with the first holding on for 250 ms, that look came about 80 ms late."""

import threading
import time

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's writers take turns"),
]
HOLD_SECONDS = 0.25


def test_a_writer_waiting_for_another_begins_as_soon_as_it_commits():
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
        with transaction.atomic():
            moments["began"] = time.monotonic()
            Group.objects.create(name="second")
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert moments["began"] - moments["asked"] >= HOLD_SECONDS * 0.8  # it did wait its turn
    assert moments["began"] - moments["committed"] < 0.02
    assert Group.objects.filter(name__in=["first", "second"]).count() == 2
