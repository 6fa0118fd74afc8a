"""What our own processes cost, read from /proc: CPU seconds and resident memory of whole
process groups (gunicorn and its workers; run_workers, its sentinel and the workers it
forks), and a sampler that keeps the peak memory and the most runs in flight.

Each process the benchmark starts leads a process group of its own (`start_new_session`),
and everything it forks stays in that group, so a group is "that process and its workers".
"""

import itertools
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from flows.models import SyncRun

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
SAMPLE_EVERY_S = 0.1  # runs in flight: a query of our database
MEMORY_EVERY = 10  # samples: memory is read once a second (reading every process's
# smaps_rollup costs the kernel milliseconds, on the cores the measured processes share)


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): field 3 on."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def group_pids(groups: list[int]) -> list[int]:
    """Every live process whose process group is one of `groups`."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if int(stat_fields(int(entry.name))[2]) in groups:  # field 5: pgrp
                pids.append(int(entry.name))
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return pids


def cpu_seconds(groups: list[int]) -> float:
    """User + system CPU of the groups' processes, with their reaped children's."""
    ticks = 0
    for pid in group_pids(groups):
        try:
            fields = stat_fields(pid)
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / TICKS_PER_S


def cpu_by_role(groups: list[int]) -> dict[str, float]:
    """CPU seconds of the groups' processes by what each is, told apart by its command and
    its place in the tree: gunicorn's master and its workers; run_workers, django-q2's
    sentinel under it, and under the sentinel its pusher and monitor (a few threads) and
    its workers (a run thread pool each, so many threads)."""
    stats = {}
    for pid in group_pids(groups):
        try:
            fields = stat_fields(pid)
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ticks = sum(int(value) for value in fields[11:13])  # utime stime (not the children)
        stats[pid] = (int(fields[1]), int(fields[17]), command, ticks)  # ppid, threads
    seconds: dict[str, float] = {}
    for parent, threads, command, ticks in stats.values():
        depth = 0
        while parent in stats:
            depth, parent = depth + 1, stats[parent][0]
        if "gunicorn" in command:
            role = "web worker" if depth else "web master"
        else:
            role = ["run_workers", "sentinel", "q worker" if threads > 8 else "pusher/monitor"][
                min(depth, 2)
            ]
        seconds[role] = seconds.get(role, 0.0) + ticks / TICKS_PER_S
    return seconds


def memory_bytes(groups: list[int]) -> tuple[int, int]:
    """Resident memory of the groups' processes, summed: RSS (pages shared after a fork
    counted once per process, as `ps` shows them) and PSS (shared pages split among their
    sharers, so the sum is what the group holds)."""
    rss = pss = 0
    for pid in group_pids(groups):
        try:
            rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            pss += 1024 * sum(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return rss, pss


@dataclass
class Sample:
    at: float  # epoch seconds
    running: int  # runs with status RUNNING
    rss: int = 0  # bytes, web plus workers, when read in this sample
    pss: int = 0


@dataclass
class Sampler:
    """In a thread: runs in flight every SAMPLE_EVERY_S, and the groups' memory every
    MEMORY_EVERY samples."""

    groups: list[int]
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.samples.append(Sample(time.time(), 0, *memory_bytes(self.groups)))  # the last word

    def _run(self) -> None:
        try:
            for number in itertools.count():
                running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).count()
                memory = memory_bytes(self.groups) if number % MEMORY_EVERY == 0 else (0, 0)
                self.samples.append(Sample(time.time(), running, *memory))
                if self._stop.wait(SAMPLE_EVERY_S):
                    return
        finally:
            connection.close()

    def between(self, began: float, ended: float) -> list[Sample]:
        return [sample for sample in self.samples if began <= sample.at <= ended]

    def peak_mb(self, kind: str, began: float = 0.0, ended: float = float("inf")) -> float:
        """The highest "rss" or "pss" sampled (between `began` and `ended`), in MiB."""
        sampled = self.between(began, ended)
        return max((getattr(sample, kind) for sample in sampled), default=0) / 2**20

    def most_running(self, began: float = 0.0, ended: float = float("inf")) -> int:
        return max((sample.running for sample in self.between(began, ended)), default=0)
