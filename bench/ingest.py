"""Webhook intake against a running server: accepted deliveries a second and p50/p99
latency (target: at least 500/s with p99 at most 100 ms), beside a bare Django view
(`/healthz`) on the same server in the same run.

The server is `manage.py runserver --noreload` (threaded, one process: gunicorn is not
installed) on a temporary SQLite database with a Streak + Sage 100 pair whose won-deal flow is
on. Every delivery is a distinct Closed-Won box, so each one stores an event, a pending run
and a queue row in one transaction, as in production; no worker runs, so only intake is
measured. Standalone: `.venv/bin/python bench/ingest.py`. The harness functions here are
shared with bench/flows.py.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DELIVERIES = 3000
BARE_REQUESTS = 3000
CLIENT_THREADS = 16
STREAK_KEY = "sandbox-streak-key"
SERVER = "manage.py runserver --noreload (threaded, 1 process; gunicorn not installed)"


def use_temporary_database(folder: Path) -> dict[str, str]:
    """Point this process (and the children given the returned env) at a fresh database,
    migrated."""
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clarity.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return {**os.environ}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_process(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen) -> None:
    import signal

    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = start_process(["runserver", "--noreload", f"127.0.0.1:{port}"], env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server, url
        except requests.ConnectionError:
            time.sleep(0.2)
    stop_process(server)
    raise RuntimeError("runserver did not answer /healthz within 60 s")


def streak_sage100_pair(streak_url: str, sage100_app=None) -> tuple:
    """A Streak (Sales) + Sage 100 pair with deal_won_to_sales_order on: (pair, token)."""
    from connectors.models import Connection, IntegrationPair
    from flows.models import FlowConfig
    from sandbox.sage100.app import BRIDGE_KEY
    from sandbox.streak import data as streak_data

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


def won_box(number: int) -> dict:
    """A distinct Closed-Won box in Streak's webhook shape (a seeded deal, new key)."""
    from sandbox.streak import data as streak_data
    from sandbox.streak.seed import seed_documents

    box = dict(seed_documents()["boxes"][4])
    key = f"bench-box-{number:07d}"
    return box | {"key": key, "boxKey": key, "stageKey": streak_data.CLOSED_WON,
                  "lastUpdatedTimestamp": 1_700_000_000_000 + number}  # fmt: skip


def hammer(send: Callable[[requests.Session, int], int], count: int) -> dict[str, float]:
    """Send `count` requests from a thread pool; rate of 200s and latency percentiles."""
    sessions = threading.local()
    latencies: list[float] = []
    ok = 0
    lock = threading.Lock()

    def one(number: int) -> None:
        nonlocal ok
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
        started = time.perf_counter()
        status = send(sessions.session, number)
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            ok += status == 200

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        list(pool.map(one, range(count)))
    wall = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {"ok": ok, "per_s": ok / wall, "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        env = use_temporary_database(Path(folder))
        pair, token = streak_sage100_pair("http://127.0.0.1:9")  # no run executes here
        bodies = [json.dumps([won_box(n)]) for n in range(DELIVERIES)]
        server, url = start_server(env)
        try:
            hook = f"{url}/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"
            headers = {"Content-Type": "application/json"}
            hammer(lambda s, n: s.get(f"{url}/healthz", timeout=10).status_code, 200)  # warm
            bare = hammer(lambda s, n: s.get(f"{url}/healthz", timeout=10).status_code,
                          BARE_REQUESTS)  # fmt: skip
            hooks = hammer(
                lambda s, n: s.post(hook, data=bodies[n], headers=headers, timeout=30).status_code,
                DELIVERIES,
            )
        finally:
            stop_process(server)
        from flows.models import InboundEvent, SyncRun

        stored, runs = InboundEvent.objects.count(), SyncRun.objects.count()
    print(f"deliveries sent {DELIVERIES}, answered 200: {hooks['ok']}, events stored: "
          f"{stored}, runs: {runs}; {CLIENT_THREADS} client threads; server: {SERVER}")  # fmt: skip
    print(f"bare view /healthz: {bare['per_s']:.0f}/s, p50 {bare['p50_ms']:.1f} ms, "
          f"p99 {bare['p99_ms']:.1f} ms")  # fmt: skip
    result = {
        "bench": "ingest",
        "accepted_per_s": round(hooks["per_s"], 1),
        "p50_ms": round(hooks["p50_ms"], 1),
        "p99_ms": round(hooks["p99_ms"], 1),
        "bare_view_per_s": round(bare["per_s"], 1),
        "bare_view_p99_ms": round(bare["p99_ms"], 1),
        "deliveries": DELIVERIES,
        "events_stored": stored,
        "server": SERVER,
        "database": "sqlite (WAL)",
        "targets": {"accepted_per_s": 500, "p99_ms": 100},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
