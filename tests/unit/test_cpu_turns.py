"""Run threads take turns at the CPU and give them up while a system answers
(clarity/cpu_turns.py): with one turn, a run waiting on a slow system never holds up
another run's work, and one whose work is going on holds up the next until it waits."""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import transaction

from clarity import cpu_turns


@pytest.fixture
def one_turn(settings):
    settings.CLARITY_CPU_TURNS = 1
    cpu_turns._forget_parents_turns()  # made again with one turn
    yield
    cpu_turns._forget_parents_turns()


def in_turn(log: list[str], name: str, work: Callable[[], None]) -> threading.Thread:
    def body() -> None:
        with cpu_turns.cpu_turn():
            log.append(f"{name} in")
            work()
            log.append(f"{name} out")

    thread = threading.Thread(target=body)
    thread.start()
    return thread


def first_then_second(work: Callable[[threading.Event, list[str]], None]) -> list[str]:
    """What happened, in order, when a thread doing `work` (which sets the event once it is
    under way) is joined by a second thread wanting a turn for nothing much."""
    log: list[str] = []
    under_way = threading.Event()
    first = in_turn(log, "first", lambda: work(under_way, log))
    assert under_way.wait(5)
    second = in_turn(log, "second", lambda: None)
    first.join(5)
    second.join(5)
    return log


def wait_on_a_system(under_way: threading.Event, log: list[str]) -> None:
    with cpu_turns.waiting_on_a_system():
        under_way.set()
        time.sleep(0.3)
    log.append("first answered")


def work_in_python(under_way: threading.Event, log: list[str]) -> None:
    under_way.set()
    time.sleep(0.2)  # standing for Python work, not a wait on a system


def wait_in_a_transaction(under_way: threading.Event, log: list[str]) -> None:
    with transaction.atomic(), cpu_turns.waiting_on_a_system():
        under_way.set()
        time.sleep(0.2)
    log.append("first answered")


@pytest.mark.usefixtures("one_turn")
def test_a_thread_waiting_on_a_system_lets_another_work_meanwhile():
    assert first_then_second(wait_on_a_system) == [
        "first in", "second in", "second out", "first answered", "first out"
    ]  # fmt: skip


@pytest.mark.usefixtures("one_turn")
def test_a_thread_working_holds_the_next_until_it_waits():
    assert first_then_second(work_in_python) == [
        "first in", "first out", "second in", "second out"
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("one_turn")
def test_a_thread_inside_a_transaction_keeps_its_turn_while_it_waits():
    assert first_then_second(wait_in_a_transaction) == [
        "first in", "first answered", "first out", "second in", "second out"
    ]  # fmt: skip
