"""Several hosts, one lost mid-load (issue 20 item 5): PostgreSQL and the sandboxes on a
bridge, two web hosts (gunicorn) and three worker hosts (`manage.py run_workers`), each in a
network namespace of its own (bench/support/cluster_hosts.py), at the realistic latency
(Streak 150 ms, Salesforce 200 ms, Sage Accounting 300 ms, the Sage 100 agent 250 ms a
call).

Phases, after a warm-up at no latency that binds every pair's customer:
- scaling: DEALS_PER_PHASE won deals delivered at once (webhooks taking turns over the two
  web hosts) with one, then two, then three worker hosts running: deals/s each time;
- loss: deals offered at LOSS_RATE x the two-host rate for LOAD_SECONDS; KILL_AT seconds in,
  once worker3 holds a run (or HOLD_WAIT_S later), every process of worker3 gets SIGKILL at
  once. Checked: every deal's run succeeded (none lost; runs the lost host held are taken
  back once their lease lapses), Sage holds exactly one document per deal (read from the
  sandbox Sage itself, not our database), and the completions over a WINDOW_S window after
  the kill reach RECOVERED_SHARE of the offered rate within RECOVER_LIMIT_S. Also reported:
  when the last of the runs worker3 held (their lease owner's pid among those killed)
  succeeded, taken back once their lease lapsed.

On a failure, the failing check or step and the end of every host's log (gunicorn,
run_workers, the sandboxes, PostgreSQL) go to stderr. Where the hosts cannot be made (not
root, no `ip`, no PostgreSQL), the result line says it was skipped and why, and the exit
status is 0 (`make bench`) or, with --require (`make cluster-test`), 2.

Streak → Sage 100 orders, Streak (Services) → Sage Accounting invoices and Salesforce → Sage
100 orders take turns over PAIRS pairs (the Salesforce sandbox's certificate names the
bridge's address: bench/support/cluster_sandboxes.py). Needs root. The last line is the JSON
result; the exit status is 1 when a check fails. Standalone:
`.venv/bin/python bench/cluster.py [--quick]` (also `make cluster-test`).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench" / "support"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))  # first: bench/flows.py is not the flows app

import cluster_hosts  # noqa: E402
from cluster_checks import RECOVER_LIMIT_S, WINDOW_S, Steps, checks, recovered_after  # noqa: E402
from cluster_hosts import ROOT_ADDRESS, Host, Network, PostgreSQL  # noqa: E402

# Django on the cluster's PostgreSQL, configured before bench/ingest.py (imported by
# latency_pairs) would point it at a SQLite file of its own.
PG_URL = f"postgres://postgres@{ROOT_ADDRESS}:{cluster_hosts.PG_PORT}/postgres"
os.environ["DATABASE_URL"] = PG_URL
os.environ["CLARITY_OUTBOUND_ALLOWED_HOSTS"] = ROOT_ADDRESS
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clarity.settings")

import django  # noqa: E402

django.setup()

import ingest  # noqa: E402
import latency_pairs  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from figures import machine  # noqa: E402
from latency_pairs import KINDS, Deal, Pair, make_pairs, new_deals  # noqa: E402

from flows.models import SyncRun  # noqa: E402

os.environ["DATABASE_URL"] = PG_URL  # bench/ingest.py set its own: the hosts get ours

LATENCY_MS = {"streak": 150, "salesforce": 200, "sage_accounting": 300, "sage100": 250}
WEBS = [Host("web1", 11), Host("web2", 12)]
WORKERS = [Host("worker1", 21), Host("worker2", 22), Host("worker3", 23)]
WEB_PORT = 8000
LOG_TAIL_CHARS = 1500
LOSS_RATE = 0.6
HOLD_WAIT_S = 10.0  # how long past KILL_AT the kill waits for worker3 to hold a run
FINISH_TIMEOUT_S = 240.0  # a lost host's runs wait for their lease and the sweeper


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=6, help="pairs (default 6)")
    parser.add_argument("--deals-per-phase", type=int, default=48, help="default 48")
    parser.add_argument("--load-seconds", type=float, default=60.0, help="default 60")
    parser.add_argument("--kill-at", type=float, default=15.0, help="default 15")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="4 pairs, 16 deals a phase, 40 s of load, the kill 10 s in (`make test`)",
    )
    parser.add_argument(
        "--require", action="store_true", help="exit 2, not 0, when the hosts cannot be made"
    )
    args = parser.parse_args()
    if args.quick:
        args.pairs, args.deals_per_phase, args.load_seconds, args.kill_at = 4, 16, 40.0, 10.0
    return args


def gunicorn_option(name: str, default: int) -> int:
    """A number from ingest.GUNICORN_ARGS, e.g. --threads."""
    args = ingest.GUNICORN_ARGS
    return int(args[args.index(name) + 1]) if name in args else default


def max_connections() -> int:
    """Connections the hosts may hold at once: on each worker host, every worker process's
    task thread and run threads (CLARITY_RUNS_PER_WORKER) and the sentinel, monitor and pusher;
    on each web host, every gunicorn thread; then this process, and room to spare."""
    worker_host = settings.Q_CLUSTER["workers"] * (settings.CLARITY_RUNS_PER_WORKER + 1) + 3
    web_host = gunicorn_option("--workers", 1) * gunicorn_option("--threads", 1)
    return len(WORKERS) * worker_host + len(WEBS) * web_host + 20


class ClusterSandboxes(latency_pairs.Sandboxes):
    """The sandboxes on the bridge's address (bench/support/cluster_sandboxes.py)."""

    def __init__(self, folder: Path) -> None:
        ready_file = folder / "sandboxes.json"
        host = ROOT / "bench" / "support" / "cluster_sandboxes.py"
        with (folder / "sandboxes.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, str(host), str(folder / "sandboxes"), str(ready_file),
                 ROOT_ADDRESS],
                cwd=ROOT, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        self.processes = [process]
        cluster_hosts.wait_until(ready_file.exists, 120, "The sandboxes did not start")
        self.ready = json.loads(ready_file.read_text())

    def documents(self) -> list[str]:
        """The deal reference of every document the two Sages hold."""
        references = []
        for name in ("sage100", "sage_accounting"):
            found = self.request("GET", name, "/_bench/documents")["documents"]
            references += [str(reference or "").strip() for _, reference in found]
        return references


def deal_id(deal: Deal) -> str:
    """The Deal ID a flow writes on its Sage document (e.g. "K03-00001"): the Streak box's,
    or the Salesforce opportunity's External ID, as its Outbound Message carries it."""
    if deal.pair.kind.crm == "salesforce":
        return deal.body.decode().split("<sf:ExternalID__c>")[1].split("</")[0]
    return json.loads(deal.body)[0]["fields"][latency_pairs.streak_data.FIELD_DEAL_ID]


def deliver(web: Host, deal: Deal) -> None:
    """POST the deal's webhook to a web host, as its CRM does: Streak's JSON, Salesforce's
    Outbound Message."""
    path = f"/hooks/{deal.pair.slug}/{deal.pair.token}/"
    if deal.pair.kind.crm == "streak":
        path, content_type = f"{path}?event=BOX_CHANGE_STAGE", "application/json"
    else:
        content_type = "text/xml; charset=utf-8"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {web.address}\r\nConnection: close\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(deal.body)}\r\n\r\n"
    )
    deal.delivered = time.time()
    with socket.create_connection((web.address, WEB_PORT), timeout=30) as sock:
        sock.sendall(head.encode() + deal.body)
        reply = sock.recv(65536)
    if reply[9:12] != b"200":
        raise RuntimeError(f"{web.name} answered the webhook of {deal.key} {reply[9:12]!r}.")


def alive(host: Host, process: subprocess.Popen) -> bool:
    """True while the host's process runs; once it has exited, stop waiting for it, saying so."""
    if process.poll() is not None:
        raise RuntimeError(f"{host.name}'s process exited with status {process.returncode}.")
    return True


def healthy(web: Host) -> bool:
    with socket.create_connection((web.address, WEB_PORT), timeout=5) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {web.address}\r\nConnection: close\r\n\r\n"
                     .encode())  # fmt: skip
        return sock.recv(64)[9:12] == b"200"


def finished(deals: list[Deal], timeout: float) -> dict[str, float]:
    """When each deal's run succeeded (epoch s), waiting up to `timeout` for them all."""
    keys = [deal.key for deal in deals]
    deadline = time.monotonic() + timeout
    while True:
        rows = SyncRun.objects.filter(entity_key__in=keys, status=SyncRun.Status.SUCCEEDED)
        done = dict(rows.values_list("entity_key", "finished_at"))
        if len(done) == len(keys) or time.monotonic() > deadline:
            return {key: moment.timestamp() for key, moment in done.items()}
        time.sleep(0.5)


def at_once(deals: list[Deal]) -> float:
    """Deliver every deal at once, the web hosts taking turns: deals/s to the last run."""
    for index, deal in enumerate(deals):
        deliver(WEBS[index % len(WEBS)], deal)
    done = finished(deals, FINISH_TIMEOUT_S)
    if len(done) < len(deals):
        raise RuntimeError(f"{len(deals) - len(done)} of {len(deals)} runs did not succeed.")
    return len(deals) / (max(done.values()) - deals[0].delivered)


class Cluster:
    """The hosts and what runs on them; `close` always leaves nothing behind."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.network = Network([*WEBS, *WORKERS])
        self.database = PostgreSQL(max_connections())
        self.sandboxes: ClusterSandboxes | None = None
        self.env = {**os.environ, "ALLOWED_HOSTS": ",".join(web.address for web in WEBS)}

    def open(self) -> None:
        self.network.up()
        self.database.start()
        call_command("migrate", verbosity=0, interactive=False)
        self.sandboxes = ClusterSandboxes(self.folder)
        processes = {}
        for web in WEBS:
            bind = f"{web.address}:{WEB_PORT}"
            args = ["-m", "gunicorn", *ingest.GUNICORN_ARGS, "--bind", bind, "clarity.wsgi"]
            log = self.folder / f"{web.name}.log"
            processes[web] = cluster_hosts.spawn(web, args, self.env, log)
        for web in WEBS:  # booting side by side
            cluster_hosts.wait_until(
                lambda web=web: alive(web, processes[web]) and healthy(web),
                90,
                f"{web.name} did not answer",
            )

    def start_worker(self, host: Host) -> None:
        """Start run_workers on the host and wait until every process of its cluster is there
        (django-q2 says so only at INFO, which the settings keep quiet): the command, the
        sentinel, the workers, the monitor and the pusher, forked from a booted Django."""
        log = self.folder / f"{host.name}.log"
        command = cluster_hosts.spawn(host, ["manage.py", "run_workers"], self.env, log)
        processes = settings.Q_CLUSTER["workers"] + 4
        cluster_hosts.wait_until(
            lambda: (
                alive(host, command)
                and len(cluster_hosts.namespace_pids(host.namespace)) >= processes
            ),
            90,
            f"{host.name}'s {processes} worker processes did not all start",
        )

    def print_logs(self) -> None:
        """The end of every host's log and of PostgreSQL's, to stderr: why a run failed."""
        for log in sorted(self.folder.glob("*.log")):
            tail = log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
            print(f"--- {log.name} (last lines)\n{tail}", file=sys.stderr)
        tail = self.database.log_tail(LOG_TAIL_CHARS)
        print(f"--- postgresql.log (last lines)\n{tail}", file=sys.stderr)

    def close(self) -> None:
        self.network.down()
        if self.sandboxes is not None:
            for process in self.sandboxes.processes:
                ingest.stop_process(process)
        django.db.connections.close_all()
        self.database.stop()


def warm_up(pairs: list[Pair], sandboxes: ClusterSandboxes) -> list[Deal]:
    """Bind every pair's customer at no latency: one pair of each kind alone first."""
    deals = new_deals(sandboxes, pairs, 1, "W")
    for batch in (deals[: len(KINDS)], deals[len(KINDS) :]):
        at_once(batch)
    return deals


def lose_a_host(cluster: Cluster, pairs: list[Pair], rate: float, args) -> dict:
    """Offer deals at `rate` for the load time, killing worker3 KILL_AT seconds in, as soon
    as it holds a run (so that a lease must lapse), or HOLD_WAIT_S later regardless."""
    count = round(rate * args.load_seconds)
    deals = new_deals(cluster.sandboxes, pairs, -(-count // len(pairs)), "K")[:count]
    began, kill, killed, running, held = time.time(), 0.0, [], [], []
    for index, deal in enumerate(deals):
        time.sleep(max(0.0, began + index / rate - time.time()))
        since = time.time() - began
        if not kill and since >= args.kill_at:
            running = list(
                SyncRun.objects.filter(status=SyncRun.Status.RUNNING).values_list(
                    "entity_key", "lease_owner"
                )
            )
            pids = {str(pid) for pid in cluster_hosts.namespace_pids(WORKERS[-1].namespace)}
            held = [key for key, owner in running if owner.rpartition(":")[2] in pids]
            if held or since >= args.kill_at + HOLD_WAIT_S:  # a lease owner: "<host>:<pid>"
                kill, killed = time.time(), cluster_hosts.kill_namespace(WORKERS[-1].namespace)
        deliver(WEBS[index % len(WEBS)], deal)
    done = finished(deals, FINISH_TIMEOUT_S)
    held_done = [done[key] for key in held if key in done]
    recovered = recovered_after(kill, list(done.values()), rate)
    in_sage = cluster.sandboxes.documents()
    ids = [deal_id(deal) for deal in deals]
    copies = {deal: in_sage.count(deal) for deal in ids}
    return {
        "deals": deals,
        "offered_per_s": rate,
        "processes_killed": len(killed),
        "runs_running_at_kill": len(running),
        "runs_held_by_worker3": len(held),
        "held_runs_done_after_kill_s": max(held_done, default=kill) - kill,
        "lost": sum(deal.key not in done or copies[deal_id(deal)] == 0 for deal in deals),
        "duplicates": sum(max(0, n - 1) for n in copies.values()),
        "recovered_s": recovered,
        "last_run_after_kill_s": max(done.values(), default=kill) - kill,
    }


def main() -> int:
    args = options()
    problem = cluster_hosts.namespaces_possible()
    if problem:
        print(json.dumps({"bench": "cluster", "skipped": f"{problem}."}))
        return 2 if args.require else 0
    started, by_hosts, steps = time.time(), {}, Steps()
    with (
        cluster_hosts.one_run_at_a_time(),
        tempfile.TemporaryDirectory(prefix="clarity-cluster-") as folder,
    ):
        cluster = Cluster(Path(folder))
        try:
            steps.begin("starting the hosts")
            cluster.open()
            sandboxes = cluster.sandboxes
            steps.begin("making the pairs and starting worker1")
            pairs = make_pairs(sandboxes, args.pairs)
            cluster.start_worker(WORKERS[0])
            steps.begin("warm-up")
            warm_up(pairs, sandboxes)
            sandboxes.set_latency(LATENCY_MS)
            for count, host in enumerate(WORKERS, start=1):
                steps.begin(f"scaling with {count} worker host(s)")
                if count > 1:
                    cluster.start_worker(host)
                deals = new_deals(
                    sandboxes, pairs, -(-args.deals_per_phase // len(pairs)), f"S{count}"
                )
                by_hosts[count] = at_once(deals)
            steps.begin("losing worker3")
            loss = lose_a_host(cluster, pairs, LOSS_RATE * by_hosts[2], args)
            steps.end()
            if not all(checks(loss).values()):
                cluster.print_logs()
        except Exception as error:
            print(f"FAIL: {steps.current}: {error}", file=sys.stderr)
            cluster.print_logs()
            raise
        finally:
            cluster.close()
    return report(args, by_hosts, loss, steps.took, time.time() - started)


def report(
    args: argparse.Namespace, by_hosts: dict[int, float], loss: dict, steps: dict, took: float
) -> int:
    results = checks(loss)
    for name, passed in results.items():
        print(f"{'PASS' if passed else 'FAIL'}: {name}")
    print(
        f"killed worker3 ({loss['processes_killed']} processes) with "
        f"{loss['runs_running_at_kill']} runs running; {len(loss['deals'])} deals offered at "
        f"{loss['offered_per_s']:.2f}/s; took {took:.0f} s"
    )
    result = {
        "bench": "cluster",
        "deals_per_s_by_worker_hosts": {str(n): round(rate, 2) for n, rate in by_hosts.items()},
        "lost": loss["lost"],
        "duplicates": loss["duplicates"],
        "recovered_s": None if loss["recovered_s"] is None else round(loss["recovered_s"], 1),
        "last_run_after_kill_s": round(loss["last_run_after_kill_s"], 1),
        "runs_running_at_kill": loss["runs_running_at_kill"],
        "runs_held_by_worker3": loss["runs_held_by_worker3"],
        "held_runs_done_after_kill_s": round(loss["held_runs_done_after_kill_s"], 1),
        "recovery_window_s": WINDOW_S,
        "max_connections": max_connections(),
        "processes_killed": loss["processes_killed"],
        "deals_after_kill_offered": len(loss["deals"]),
        "offered_per_s": round(loss["offered_per_s"], 2),
        "pairs": args.pairs,
        "pair_kinds": sorted({KINDS[n % len(KINDS)].name for n in range(args.pairs)}),
        "deals_per_phase": args.deals_per_phase,
        "hosts": {"web": len(WEBS), "worker": len(WORKERS)},
        "latency_ms": LATENCY_MS,
        "database": "postgresql (fsync off)",
        "passed": all(results.values()),
        "took_s": round(took),
        "took_by_step_s": steps,
        "machine": machine(),
        "targets": {"lost": 0, "duplicates": 0, "recovered_s": RECOVER_LIMIT_S},
    }
    print(json.dumps(result))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
