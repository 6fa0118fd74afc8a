"""Webhook intake against a running server: accepted deliveries a second and p50/p99
latency at 4 and 20 connections (targets at 20: at least 1,000/s, p99 at most 50 ms, at least
60 % of the bare view), beside a bare Django view (`/healthz`) on the same server in the
same run.

The server is gunicorn as the Procfile runs it (GUNICORN_ARGS: 2 gthread workers of 8
threads, connections kept alive, and gunicorn.conf.py's hooks, read from the repository's
root where it runs; the threads of a worker commit the deliveries that arrive together in
one transaction, flows/group_commit.py) on a temporary SQLite database with a
Streak + Sage 100 pair whose won-deal flow is on. Every delivery is a distinct Closed-Won
box, so each one stores an event, a pending run and a queue row before its 200, as in
production; no worker runs, so only intake is measured, and the counts of all three are
printed. The client is a closed loop: CONNECTIONS kept-alive connections, each sending its
next request as soon as the last is answered, driven by one thread with a selector on the
same two cores; bare requests and deliveries take turns in ROUNDS rounds, and the output
names the load average, since the machine may be shared. Standalone:
`.venv/bin/python bench/ingest.py` (GUNICORN_ARGS="..." to try other settings).
The harness functions here are shared with bench/flows.py and bench/cluster.py.
"""

import atexit
import functools
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
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
from django_q.models import OrmQ  # noqa: E402

from connectors.models import Connection, IntegrationPair  # noqa: E402
from flows.models import FlowConfig, InboundEvent, SyncRun  # noqa: E402
from sandbox.sage100.app import BRIDGE_KEY  # noqa: E402
from sandbox.streak import data as streak_data  # noqa: E402
from sandbox.streak.seed import seed_documents  # noqa: E402

DELIVERIES = 3000  # at each number of connections
BARE_REQUESTS = 3000
ROUNDS = 3
CONNECTIONS = (4, 20)
STREAK_KEY = "sandbox-streak-key"
GUNICORN_ARGS = os.environ.get(
    "GUNICORN_ARGS",
    "--workers 2 --worker-class gthread --threads 8 --keep-alive 5 --no-control-socket",
).split()
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


def http_request(method: str, path: str, body: bytes = b"", keep_alive: bool = False) -> bytes:
    """One HTTP/1.1 request as bytes, asking the server to keep the connection open for the
    next or to close it after this one."""
    persistence = "keep-alive" if keep_alive else "close"
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: {persistence}\r\n"
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
    """Answers to one kind of request at one number of connections, over every round."""

    ok: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        cuts = statistics.quantiles(self.latencies, n=100)
        return {"per_s": round(self.ok / self.seconds, 1), "p50_ms": round(cuts[49] * 1000, 1),
                "p99_ms": round(cuts[98] * 1000, 1)}  # fmt: skip


@dataclass
class Link:
    """One kept-alive client connection and the request it waits on."""

    sock: socket.socket
    sent_at: float = 0.0
    reply: bytes = b""


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def complete(reply: bytes) -> int | None:
    """The status of a whole reply (head and a Content-Length or chunked body), None while
    partial."""
    head_end = reply.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = reply[:head_end].lower()
    if b"transfer-encoding: chunked" in head:
        whole = reply.endswith(b"\r\n0\r\n\r\n")
    else:
        at = head.find(b"content-length:")
        end = head.find(b"\r\n", at)
        length = int(head[at + 15 : end if end >= 0 else None]) if at >= 0 else 0
        whole = len(reply) >= head_end + 4 + length
    return int(reply[9:12]) if whole else None


def hammer(port: int, requests_to_send: list[bytes], tally: Tally, connections: int) -> None:
    """A closed loop: `connections` kept-alive connections, each sending its next request as
    soon as the last is answered, until all are sent. One thread with a selector, so the
    client spends little of the two cores it shares with the server."""
    pending = iter(requests_to_send)
    selector = selectors.DefaultSelector()

    def send_next(link: Link) -> bool:
        request = next(pending, None)
        if request is None:
            return False
        link.reply, link.sent_at = b"", time.perf_counter()
        link.sock.setblocking(True)
        link.sock.sendall(request)
        link.sock.setblocking(False)
        return True

    began = time.perf_counter()
    for _ in range(connections):
        link = Link(connect(port))
        if send_next(link):
            selector.register(link.sock, selectors.EVENT_READ, link)
        else:
            link.sock.close()
    while selector.get_map():
        for key, _ in selector.select(timeout=30):
            link = key.data
            chunk = link.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the server closed a kept-alive connection mid-request")
            link.reply += chunk
            status = complete(link.reply)
            if status is None:
                continue
            tally.latencies.append(time.perf_counter() - link.sent_at)
            tally.ok += status == 200
            if b"\r\nconnection: close" in link.reply[:2048].lower():  # e.g. sync workers
                selector.unregister(link.sock)
                link.sock.close()
                link.sock = connect(port)
                selector.register(link.sock, selectors.EVENT_READ, link)
            if not send_next(link):
                selector.unregister(link.sock)
                link.sock.close()
    tally.seconds += time.perf_counter() - began


def measure(port: int, deliveries: list[bytes], connections: int) -> dict:
    """Bare requests and deliveries taking turns in ROUNDS rounds at `connections`, so that
    both meet the same neighbours on a shared machine."""
    healthz = http_request("GET", "/healthz", keep_alive=True)
    bare, hooks = Tally(), Tally()
    for round_ in range(ROUNDS):
        hammer(port, [healthz] * (BARE_REQUESTS // ROUNDS), bare, connections)
        hammer(port, deliveries[round_::ROUNDS], hooks, connections)
    accepted, baseline = hooks.summary(), bare.summary()
    return {
        "accepted_per_s": accepted["per_s"],
        "p50_ms": accepted["p50_ms"],
        "p99_ms": accepted["p99_ms"],
        "bare_view_per_s": baseline["per_s"],
        "bare_view_p99_ms": baseline["p99_ms"],
        "ratio_to_bare": round(accepted["per_s"] / baseline["per_s"], 2),
        "answered_200": hooks.ok,
    }


def main() -> None:
    load_before = os.getloadavg()[0]
    env = migrated_database()
    pair, token = streak_sage100_pair("http://127.0.0.1:9")  # no run executes here
    hook = f"/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"
    deliveries = [
        http_request("POST", hook, json.dumps([won_box(n)]).encode(), keep_alive=True)
        for n in range(DELIVERIES * len(CONNECTIONS))
    ]
    server, port = start_server(env)
    by_connections = {}
    try:
        warm_up = [http_request("GET", "/healthz", keep_alive=True)] * 400
        hammer(port, warm_up, Tally(), max(CONNECTIONS))  # every worker thread booted
        for number, connections in enumerate(CONNECTIONS):
            batch = deliveries[number * DELIVERIES : (number + 1) * DELIVERIES]
            by_connections[connections] = measure(port, batch, connections)
    finally:
        stop_process(server)
    stored = InboundEvent.objects.count()
    runs, queued = SyncRun.objects.count(), OrmQ.objects.count()
    load = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    at_most = by_connections[max(CONNECTIONS)]
    for connections, figures in by_connections.items():
        print(f"{connections} connections: deliveries {figures['accepted_per_s']}/s, p50 "
              f"{figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; bare view "
              f"{figures['bare_view_per_s']}/s, p99 {figures['bare_view_p99_ms']} ms")  # fmt: skip
    print(f"deliveries sent {len(deliveries)}, events stored: {stored}, runs: {runs}, "
          f"queue rows: {queued}; server: {SERVER}; "
          f"load average before/after: {load} on {os.cpu_count()} CPUs")  # fmt: skip
    result = {
        "bench": "ingest",
        **{key: at_most[key] for key in ("accepted_per_s", "p50_ms", "p99_ms",
                                         "bare_view_per_s", "bare_view_p99_ms", "ratio_to_bare")},
        "connections": max(CONNECTIONS),
        "by_connections": by_connections,
        "deliveries": len(deliveries),
        "events_stored": stored,
        "runs_stored": runs,
        "queue_rows": queued,
        "server": SERVER,
        "database": "sqlite (WAL)",
        "load_average_1m": load,
        "targets": {"accepted_per_s": 1000, "p99_ms": 50, "ratio_to_bare": 0.6},
    }  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
