"""Webhook intake against a running server: accepted deliveries a second and p50/p99
latency (target: at least 500/s with p99 at most 100 ms), beside a bare Django view
(`/healthz`) on the same server in the same run.

The server is gunicorn with 2 sync workers (GUNICORN_ARGS; sync beat gthread here, the work
being CPU-bound on two cores) on a temporary SQLite database with a Streak + Sage 100 pair
whose won-deal flow is on. Every delivery is a distinct Closed-Won box, so each one stores an
event, a pending run and a queue row in one transaction, as in production; no worker runs, so
only intake is measured. The client is CLIENT_THREADS threads on raw sockets, on the same two
cores; bare requests and deliveries take turns in ROUNDS rounds, and the output names the load
average, since the machine may be shared. Standalone: `.venv/bin/python bench/ingest.py`.
The harness functions here are shared with bench/flows.py.
"""

import atexit
import functools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The benchmarks run on a fresh database of their own, chosen before Django starts (and
# handed to the processes they start), so the models are imported at the top as usual.
WORKDIR = Path(tempfile.mkdtemp(prefix="clarity-bench-"))
atexit.register(shutil.rmtree, WORKDIR, ignore_errors=True)
os.environ["DATABASE_URL"] = f"sqlite:///{WORKDIR / 'bench.sqlite3'}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clarity.settings")
# The sandboxes listen on 127.0.0.1, which server-side requests may reach only when allowed;
# and one token sends every delivery here, so its per-token rate limit is off.
os.environ.setdefault("CLARITY_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ["CLARITY_WEBHOOK_RATE_PER_SECOND"] = "0"
django.setup()

from django.core.management import call_command  # noqa: E402

from connectors.models import Connection, IntegrationPair  # noqa: E402
from flows.models import FlowConfig, InboundEvent, SyncRun  # noqa: E402
from sandbox.sage100.app import BRIDGE_KEY  # noqa: E402
from sandbox.streak import data as streak_data  # noqa: E402
from sandbox.streak.seed import seed_documents  # noqa: E402

DELIVERIES = 3000
BARE_REQUESTS = 3000
ROUNDS = 3
CLIENT_THREADS = 16
STREAK_KEY = "sandbox-streak-key"
GUNICORN_ARGS = ["--workers", "2", "--worker-class", "sync", "--no-control-socket"]
SERVER = "gunicorn " + " ".join(GUNICORN_ARGS)


def migrated_database() -> dict[str, str]:
    """Migrate the benchmark's database; the environment that points children at it."""
    call_command("migrate", verbosity=0, interactive=False)
    return {**os.environ}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_process(args: list[str], env: dict[str, str], module: str = "") -> subprocess.Popen:
    """`manage.py <args>` (or `python -m <module> <args>`) in its own process group."""
    program = ["-m", module] if module else ["manage.py"]
    return subprocess.Popen(
        [sys.executable, *program, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """gunicorn serving clarity.wsgi on a free port, once /healthz answers."""
    port = free_port()
    args = [*GUNICORN_ARGS, "--bind", f"127.0.0.1:{port}", "clarity.wsgi:application"]
    server = start_process(args, env, module="gunicorn")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if send(port, http_request("GET", "/healthz")) == 200:
                return server, port
        except (OSError, ValueError):  # not listening yet, or a worker still booting
            time.sleep(0.2)
    stop_process(server)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


def streak_sage100_pair(streak_url: str, sage100_app=None) -> tuple:
    """A Streak (Sales) + Sage 100 pair with deal_won_to_sales_order on: (pair, token)."""
    crm = Connection.objects.create(
        name="Streak Sales", system="streak",
        settings={"base_url": streak_url, "pipeline_key": streak_data.SALES["key"],
                  "requests_per_second": 500},
        secrets={"api_key": STREAK_KEY},
    )  # fmt: skip
    erp_settings = {"odbc_dialect": "sqlite", "company_code": "ABC", "bridge_url": ""}
    if sage100_app is not None:
        erp_settings.update(odbc_connection_string=sage100_app.odbc_connection_string,
                            bridge_url=sage100_app.base_url)  # fmt: skip
    erp = Connection.objects.create(
        name="Sage 100", system="sage100", settings=erp_settings,
        secrets={"bridge_key": BRIDGE_KEY},
    )  # fmt: skip
    pair = IntegrationPair(name="Streak Sage 100", crm=crm, erp=erp)
    token = pair.rotate_webhook_token()
    pair.save()
    FlowConfig.objects.filter(pair=pair, flow="deal_won_to_sales_order").update(enabled=True)
    return pair, token


@functools.cache
def won_box_template() -> dict:
    """A seeded won deal, built once: building the whole seed takes milliseconds."""
    return seed_documents()["boxes"][4]


def won_box(number: int) -> dict:
    """A distinct Closed-Won box in Streak's webhook shape (a seeded deal, new key)."""
    key = f"bench-box-{number:07d}"
    return won_box_template() | {"key": key, "boxKey": key, "stageKey": streak_data.CLOSED_WON,
                                 "lastUpdatedTimestamp": 1_700_000_000_000 + number}  # fmt: skip


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    """One HTTP/1.1 request as bytes, asking the server to close the connection after it."""
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode() + body


def send(port: int, request: bytes) -> int:
    """Send one prepared request on a new connection; the reply's status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply[9:12])


@dataclass
class Tally:
    """Answers to one kind of request, over every round."""

    ok: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        cuts = statistics.quantiles(self.latencies, n=100)
        return {"per_s": self.ok / self.seconds, "p50_ms": cuts[49] * 1000,
                "p99_ms": cuts[98] * 1000}  # fmt: skip


def hammer(port: int, requests_to_send: list[bytes], tally: Tally) -> None:
    """Send the requests from CLIENT_THREADS threads at once, adding the 200s, the time taken
    and each latency to the tally. Raw sockets, not `requests`: the client shares the
    server's two cores, and `requests` spends about 1.5 ms of CPU a call, more than a bare
    Django view."""
    lock = threading.Lock()

    def one(request: bytes) -> None:
        started = time.perf_counter()
        status = send(port, request)
        elapsed = time.perf_counter() - started
        with lock:
            tally.latencies.append(elapsed)
            tally.ok += status == 200

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        list(pool.map(one, requests_to_send))
    tally.seconds += time.perf_counter() - began


def main() -> None:
    load_before = os.getloadavg()[0]
    env = migrated_database()
    pair, token = streak_sage100_pair("http://127.0.0.1:9")  # no run executes here
    hook = f"/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"
    deliveries = [
        http_request("POST", hook, json.dumps([won_box(n)]).encode()) for n in range(DELIVERIES)
    ]
    healthz = http_request("GET", "/healthz")
    bare, hooks = Tally(), Tally()
    server, port = start_server(env)
    try:
        hammer(port, [healthz] * 200, Tally())  # warm up both workers
        # Rounds that take turns, so that both kinds meet the same neighbours on a
        # shared machine.
        for round_ in range(ROUNDS):
            hammer(port, [healthz] * (BARE_REQUESTS // ROUNDS), bare)
            hammer(port, deliveries[round_::ROUNDS], hooks)
    finally:
        stop_process(server)
    stored, runs = InboundEvent.objects.count(), SyncRun.objects.count()
    load = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    accepted, baseline = hooks.summary(), bare.summary()
    print(f"deliveries sent {DELIVERIES}, answered 200: {hooks.ok}, events stored: {stored}, "
          f"runs: {runs}; {CLIENT_THREADS} client threads; server: {SERVER}; "
          f"load average before/after: {load} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"bare view /healthz: {baseline['per_s']:.0f}/s, p50 {baseline['p50_ms']:.1f} ms, "
          f"p99 {baseline['p99_ms']:.1f} ms")  # fmt: skip
    result = {
        "bench": "ingest",
        "accepted_per_s": round(accepted["per_s"], 1),
        "p50_ms": round(accepted["p50_ms"], 1),
        "p99_ms": round(accepted["p99_ms"], 1),
        "bare_view_per_s": round(baseline["per_s"], 1),
        "bare_view_p99_ms": round(baseline["p99_ms"], 1),
        "deliveries": DELIVERIES,
        "events_stored": stored,
        "client_threads": CLIENT_THREADS,
        "server": SERVER,
        "database": "sqlite (WAL)",
        "load_average_1m": load,
        "targets": {"accepted_per_s": 500, "p99_ms": 100},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
