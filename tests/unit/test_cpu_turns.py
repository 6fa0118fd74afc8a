"""Run threads take turns at the CPU and give them up while a system answers
(clarity/cpu_turns.py): with one turn, a run waiting on a slow system never holds up
another run's work, and one whose work is going on holds up the next until it waits."""

import threading
import time

import pytest
from django.db import transaction

from clarity import cpu_turns


@pytest.fixture
def one_turn(settings):
    settings.CLARITY_CPU_TURNS = 1
    cpu_turns._forget_parents_turns()  # made again with one turn
    yield
    cpu_turns._forget_parents_turns()


def in_turn(log: list[str], name: str, work) -> threading.Thread:
    def body() -> None:
        with cpu_turns.cpu_turn():
            log.append(f"{name} in")
            work()
            log.append(f"{name} out")

    thread = threading.Thread(target=body)
    thread.start()
    return thread


@pytest.mark.usefixtures("one_turn")
def test_a_thread_waiting_on_a_system_lets_another_work_meanwhile():
    log: list[str] = []
    waiting = threading.Event()

    def wait_on_a_system() -> None:
        with cpu_turns.waiting_on_a_system():
            waiting.set()
            time.sleep(0.3)
        log.append("slow answered")

    slow = in_turn(log, "slow", wait_on_a_system)
    assert waiting.wait(5)
    quick = in_turn(log, "quick", lambda: None)
    quick.join(5)
    slow.join(5)
    assert log == ["slow in", "quick in", "quick out", "slow answered", "slow out"]


@pytest.mark.usefixtures("one_turn")
def test_a_thread_working_holds_the_next_until_it_waits():
    log: list[str] = []
    first_in = threading.Event()

    def work() -> None:
        first_in.set()
        time.sleep(0.2)  # Python work, not a wait on a system

    first = in_turn(log, "first", work)
    assert first_in.wait(5)
    second = in_turn(log, "second", lambda: None)
    first.join(5)
    second.join(5)
    assert log == ["first in", "first out", "second in", "second out"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("one_turn")
def test_a_thread_inside_a_transaction_keeps_its_turn_while_it_waits():
    log: list[str] = []
    waiting = threading.Event()

    def wait_in_a_transaction() -> None:
        with transaction.atomic(), cpu_turns.waiting_on_a_system():
            waiting.set()
            time.sleep(0.2)
        log.append("answered")

    holder = in_turn(log, "holder", wait_in_a_transaction)
    assert waiting.wait(5)
    other = in_turn(log, "other", lambda: None)
    holder.join(5)
    other.join(5)
    assert log == ["holder in", "answered", "holder out", "other in", "other out"]
