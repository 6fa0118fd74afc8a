"""Won deals at the latency of the real APIs: Streak 150 ms, Salesforce 200 ms, Sage
Accounting 300 ms and the Sage 100 agent 250 ms a call (flags, or BENCH_<SYSTEM>_MS), across
PAIRS pairs (default 20) with connections of their own (their own throttles, as separate
customers'), taking turns over three kinds: Streak → Sage 100 orders, Streak (Services) →
Sage Accounting invoices, Salesforce (Outbound Messages) → Sage 100 orders. Sage 100's ODBC
reads get no latency: the sandbox's knob covers the agent (/v1/) only, as a Sage 100 server on
the customer's LAN answers ODBC in a few ms (tests/integration/sandbox/test_latency.py).

Processes as in production: gunicorn (bench/ingest.py's) takes the webhooks and `manage.py
run_workers`, with the normal worker count, runs them, on a temporary SQLite database. Each
sandbox runs in a process of its own (bench/support/sandbox_host.py), so that their CPU and
memory are not counted as ours and no API waits on another's work; this process only
delivers webhooks and reads the database.

Each pair sells to one customer (its kind's template, cloned with a few cents more each
time, so that no deal looks like a duplicate of another). Phases, after a warm-up at no
latency that binds every pair's customer:
- throughput: DEALS_PER_PAIR deals of every pair delivered at once, without latency, then
  with it: deals/s = deals / (last run finished - first delivery), which counts the time the
  first deal waits on the systems while nothing has finished yet; middle_deals_per_s = the
  rate at which runs finish between the first and the last tenth, the pace once the
  pipeline is full;
- solo, with latency: a deal of each kind alone, just after as many deals of its pair as
  there are workers (so every worker process has fresh copies of what it keeps per
  connection: a Streak pipeline for 60 s, a Salesforce describe): its calls and its time;
- steady, with latency: for STEADY_SECONDS, deals offered at half the throughput measured
  with latency, round the pairs; a deal's time is from its webhook to the number written
  back on it (the end of its write_back step): p50 and p95.

floor_s: how long a lone deal in the steady state must wait on the systems before its number
is on it: the union over its calls up to then of [arrival, arrival + its system's latency],
calls made together counted once. While each call waits for the one before (today), this is
the sum over systems of calls x latency, e.g. Streak → Sage 100: 4 Streak calls x 0.15 s +
1 agent call x 0.25 s = 0.85 s. floor_s is the highest over the kinds: the slowest kind sets
the p95 of the mix (by_kind has each one's floor, p50 and p95).
calls_per_deal: the steady phase's external calls over its deals: HTTP requests the
sandboxes logged (CRM, Sage Accounting, the Sage 100 agent) plus Sage 100 ODBC queries (the
product's own count, connectors.metering, less the agent requests logged).
cpu_ms_per_deal: utime + stime (reaped children included) of web and worker processes over the
throughput phase with latency, over its deals (cpu_ms_per_deal_by_process: the same by web
master/worker, run_workers, sentinel, pusher/monitor, q worker); cpu_ms_per_s_idle: what they
spend a second with nothing to do (polling for work), over the last IDLE_SECONDS. rss_mb: the
peak of their summed RSS, sampled every second (pss_mb: the same with shared pages split among
their sharers). in_flight_max: the most runs RUNNING at once in the throughput phase with
latency, sampled every 0.1 s. in_flight_capacity and rss_mb_at_capacity: the same, and the
RSS peak, in a last phase with every call taking CAPACITY_LATENCY_MS and twice the workers'
slots offered at once (`capacity`). deals: every deal the run won, the warm-up's, the solo
and the capacity ones included.
Standalone: `.venv/bin/python bench/flows_latency.py [--quick] [--pairs N] [--help]`.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
# The connectors reach the sandboxes on this machine, as in the demo.
os.environ.setdefault("CLARITY_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")

import ingest  # noqa: E402  (the shared harness: Django on a temporary database, processes)

sys.path.insert(0, str(ROOT / "bench" / "support"))

import procfs  # noqa: E402
from django.conf import settings  # noqa: E402
from figures import Laps, machine, percentiles, union_seconds  # noqa: E402
from latency_pairs import (  # noqa: E402
    KINDS,
    SYSTEMS,
    Deal,
    Pair,
    Sandboxes,
    count_by,
    deliver,
    make_pairs,
    mean_step_ms,
    metered_calls,
    metered_since,
    new_deals,
    number_written,
    steps_failed,
    wait_for_runs,
    with_odbc,
)

LATENCY_MS = {"streak": 150, "salesforce": 200, "sage_accounting": 300, "sage100": 250}
WARM_DEALS = 5  # a pair, after the first: both workers most likely run each pair before
IDLE_SECONDS = 3  # at the end, nothing to do: what our processes spend waiting for work
CAPACITY_LATENCY_MS = 2000  # every call this slow: runs last seconds, so the slots fill


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    env = os.environ.get
    parser.add_argument(
        "--pairs",
        type=int,
        default=int(env("BENCH_PAIRS", 20)),
        help="pairs, each with connections of its own (env BENCH_PAIRS, default 20)",
    )
    parser.add_argument(
        "--deals-per-pair",
        type=int,
        default=int(env("BENCH_DEALS_PER_PAIR", 10)),
        help="deals of each pair in each throughput phase (default 10: with 20 pairs, 200 at "
        "once, three times what the workers hold in flight, and 4 s of a Streak connection's "
        "10 calls a second; with 4, the phases lasted 2 s, too short for a steady rate)",
    )
    parser.add_argument(
        "--steady-seconds",
        type=float,
        default=float(env("BENCH_STEADY_SECONDS", 30)),
        help="length of the steady phase (default 30)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the smallest useful run: 3 pairs, 1 deal each, 10 s steady",
    )
    for system in SYSTEMS:
        name, default = f"BENCH_{system.upper()}_MS", LATENCY_MS[system]
        parser.add_argument(
            f"--{system.replace('_', '-')}-ms",
            type=int,
            dest=system,
            default=int(env(name, default)),
            help=f"latency of a {system} call (env {name}, default {default})",
        )
    args = parser.parse_args()
    if args.quick:
        args.pairs, args.deals_per_pair, args.steady_seconds = len(KINDS), 1, 10.0
    if args.pairs < len(KINDS):
        parser.error(f"--pairs must be at least {len(KINDS)}: a pair of each kind")
    return args


def warm_up(port: int, sandboxes: Sandboxes, pairs: list[Pair]) -> None:
    """Bind every pair's customer, at no latency: the first pair of each kind alone first, so
    that no two pairs make one customer at once; then WARM_DEALS more a pair at once, so
    that each worker process has most likely run every pair once (and keeps its
    configuration) before anything is measured."""
    deals = new_deals(sandboxes, pairs, 1, "W")
    more = new_deals(sandboxes, pairs, WARM_DEALS, "V")
    for batch in (deals[: len(KINDS)], deals[len(KINDS) :], more):
        for deal in batch:
            deliver(port, deal)
        wait_for_runs(batch)


def throughput(port: int, deals: list[Deal], groups: list[int], sandboxes: list[int]) -> dict:
    """Deliver every deal at once: deals/s, and the CPU of our processes (and, to compare,
    of the sandboxes') a deal."""
    cpu_before, sandbox_before = procfs.cpu_seconds(groups), procfs.cpu_seconds(sandboxes)
    roles_before = procfs.cpu_by_role(groups)
    for deal in deals:
        deliver(port, deal)
    finished = wait_for_runs(deals)
    began, ended = deals[0].delivered, max(finished.values())
    cpu = procfs.cpu_seconds(groups) - cpu_before
    sandbox_cpu = procfs.cpu_seconds(sandboxes) - sandbox_before
    roles = procfs.cpu_by_role(groups)
    by_role = {role: 1000 * (spent - roles_before.get(role, 0.0)) / len(deals)
               for role, spent in roles.items()}  # fmt: skip
    times = sorted(finished.values())
    tenth = len(times) // 10
    middle = times[tenth : len(times) - tenth]
    return {
        "deals_per_s": len(deals) / (ended - began),
        "middle_deals_per_s": (len(middle) - 1) / (middle[-1] - middle[0]),
        "began": began,
        "ended": ended,
        "cpu_s": cpu,
        "cpu_ms_per_deal": 1000 * cpu / len(deals),
        "sandbox_cpu_ms_per_deal": 1000 * sandbox_cpu / len(deals),
        "cpu_ms_per_deal_by_role": {role: round(ms, 1) for role, ms in by_role.items()},
    }


def solo(port: int, sandboxes: Sandboxes, pairs: list[Pair], latency: dict[str, int]) -> dict:
    """A deal of each kind alone, in the steady state: its calls (to the number, in all), its
    time and its floor. Each worker process keeps what it read of a connection (a Streak
    pipeline, a Salesforce describe) for a while, so as many deals of the pair as there are
    workers go first, at once: every worker has served the pair just before."""
    kinds = {}
    for pair in pairs[: len(KINDS)]:
        priming = new_deals(sandboxes, [pair], settings.Q_CLUSTER["workers"], "P")
        for deal in priming:  # into idle workers: one each
            deliver(port, deal)
        wait_for_runs(priming)
        [deal] = new_deals(sandboxes, [pair], 1, "S")
        before = metered_calls()
        deliver(port, deal)
        finished = wait_for_runs([deal])[deal.key]
        written = number_written([deal])[deal.key]
        calls = sandboxes.calls_since(deal.delivered)
        to_number = [(at, name) for at, name, _ in calls if at <= written]
        kinds[pair.kind.name] = {
            "floor_s": union_seconds([(at, at + latency[name] / 1000) for at, name in to_number]),
            "solo_s": written - deal.delivered,
            "run_s": finished - deal.delivered,
            "calls_to_number": count_by([name for _, name in to_number]),
            "calls": with_odbc(metered_since(before), calls),
        }
    return kinds


def steady(port: int, deals: list[Deal], rate: float, sandboxes: Sandboxes) -> dict:
    """Deliver the deals at `rate` a second: each one's time to its number, and the calls."""
    before, began = metered_calls(), time.time()
    for index, deal in enumerate(deals):
        time.sleep(max(0.0, began + index / rate - time.time()))
        deliver(port, deal)
    wait_for_runs(deals)
    written = number_written(deals)
    calls, metered = sandboxes.calls_since(began), metered_since(before)
    return {
        "times": {deal.key: written[deal.key] - deal.delivered for deal in deals},
        "calls": with_odbc(metered, calls),
        "metered": metered,
        "shapes": count_by([f"{name} {shape}" for _, name, shape in calls]),
    }


def capacity(port: int, sandboxes: Sandboxes, pairs: list[Pair]) -> dict:
    """Every system at CAPACITY_LATENCY_MS and twice the workers' slots offered at once: how
    many runs the workers hold in flight, and their memory meanwhile. At the real APIs'
    latencies a run lasts under a second, and the two cores (the sandboxes' share included)
    finish runs about as fast as they can start them, so the realistic phases never offer
    the workers 64 runs at one moment (Little's law: 64 in flight at 0.8 s a run is 80 deals
    a second)."""
    sandboxes.set_latency(dict.fromkeys(SYSTEMS, CAPACITY_LATENCY_MS))
    slots = settings.Q_CLUSTER["workers"] * settings.CLARITY_RUNS_PER_WORKER
    deals = new_deals(sandboxes, pairs, -(-2 * slots // len(pairs)), "C")
    began = time.time()
    for deal in deals:
        deliver(port, deal)
    wait_for_runs(deals)
    return {"began": began, "ended": time.time(), "deals": len(deals), "slots": slots}


def main() -> None:
    args = options()
    latency = {system: getattr(args, system) for system in SYSTEMS}
    load_before, laps = os.getloadavg()[0], Laps()
    with tempfile.TemporaryDirectory() as folder:
        env = ingest.migrated_database()
        sandboxes = Sandboxes(Path(folder))
        processes = []
        try:
            pairs = make_pairs(sandboxes, args.pairs)
            web, port = ingest.start_server(env)
            processes += [web, ingest.start_process(["run_workers"], env)]
            groups = [process.pid for process in processes]  # each leads its process group
            sandbox_groups = [process.pid for process in sandboxes.processes]
            sampler = procfs.Sampler(groups)
            sampler.start()
            laps.lap("start")
            warm_up(port, sandboxes, pairs)
            laps.lap("warm-up")
            fast_deals = new_deals(sandboxes, pairs, args.deals_per_pair, "N")
            fast = throughput(port, fast_deals, groups, sandbox_groups)
            laps.lap("throughput without latency")
            sandboxes.set_latency(latency)
            kinds = solo(port, sandboxes, pairs, latency)
            laps.lap("solo")
            slow_deals = new_deals(sandboxes, pairs, args.deals_per_pair, "L")
            slow = throughput(port, slow_deals, groups, sandbox_groups)
            laps.lap("throughput with latency")
            rate = slow["deals_per_s"] / 2
            count = max(len(KINDS), round(rate * args.steady_seconds))
            offered = new_deals(sandboxes, pairs, -(-count // len(pairs)), "R")[:count]
            even = steady(port, offered, rate, sandboxes)
            laps.lap("steady")
            steps, failed = mean_step_ms(offered), steps_failed(offered)
            held = capacity(port, sandboxes, pairs)
            laps.lap("capacity")
            sampler.stop()
            idle_before = procfs.cpu_seconds(groups)
            time.sleep(IDLE_SECONDS)
            idle_ms_per_s = 1000 * (procfs.cpu_seconds(groups) - idle_before) / IDLE_SECONDS
        finally:
            for process in [*processes, *sandboxes.processes]:
                ingest.stop_process(process)
    laps.lap("idle and stop")
    load = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    phases = {
        "fast": fast,
        "slow": slow,
        "rate": rate,
        "offered": offered,
        "even": even,
        "kinds": kinds,
        "steps": steps,
        "failed": failed,
        "capacity": held,
        "idle_ms_per_s": idle_ms_per_s,
        "laps": laps.seconds,
    }
    report(args, latency, phases, sampler, load)


def report(
    args: argparse.Namespace,
    latency: dict,
    phases: dict,
    sampler: procfs.Sampler,
    load: list[float],
) -> None:
    fast, slow, even, offered = phases["fast"], phases["slow"], phases["even"], phases["offered"]
    p50, p95 = percentiles(list(even["times"].values()))
    by_kind = {}
    for kind in KINDS:
        kind_p50, kind_p95 = percentiles(
            [even["times"][d.key] for d in offered if d.pair.kind == kind]
        )
        solo_figures = {
            key: round(value, 3) if isinstance(value, float) else value
            for key, value in phases["kinds"][kind.name].items()
        }
        by_kind[kind.name] = {
            "p50_s": round(kind_p50, 3),
            "p95_s": round(kind_p95, 3),
            **solo_figures,
        }
    workers = settings.Q_CLUSTER["workers"]
    tput_deals = args.deals_per_pair * args.pairs
    print(
        f"{args.pairs} pairs ({', '.join(kind.name for kind in KINDS)} in turn), {workers} "
        f"workers, gunicorn {' '.join(ingest.GUNICORN_ARGS)}; latency ms {latency}; load "
        f"average before/after {load} on {os.cpu_count()} CPUs"
    )
    laps = phases["laps"]
    print(f"took {sum(laps.values())} s: {', '.join(f'{name} {s} s' for name, s in laps.items())}")
    for name, phase in (("without latency", fast), ("with latency", slow)):
        print(
            f"throughput {name}: {tput_deals} deals at once, {phase['deals_per_s']:.2f} deals/s "
            f"({phase['middle_deals_per_s']:.2f} between the first and last tenth finished), "
            f"CPU {phase['cpu_s']:.2f} s ({phase['cpu_ms_per_deal']:.0f} ms a deal; the "
            f"sandboxes' {phase['sandbox_cpu_ms_per_deal']:.0f} ms), runs in "
            f"flight at most {sampler.most_running(phase['began'], phase['ended'])}; CPU ms a "
            f"deal by process: {phase['cpu_ms_per_deal_by_role']}"
        )
    print(
        f"steady: {len(offered)} deals at {phases['rate']:.2f}/s: p50 {p50:.2f} s, p95 {p95:.2f} s"
    )
    print(f"by kind (p50/p95 steady; the rest from the solo deal): {json.dumps(by_kind)}")
    print(f"steady calls by system: {even['calls']}; by kind: {even['shapes']}")
    print(f"the product's own count of them (connectors.metering): {even['metered']}")
    print(f"mean ms a step, steady phase: {json.dumps(phases['steps'])}")
    print(f"steps that failed and were tried again, steady phase: {phases['failed'] or 'none'}")
    held = phases["capacity"]
    held_window = (held["began"], held["ended"])
    print(
        f"capacity: {held['deals']} deals at once with every call taking "
        f"{CAPACITY_LATENCY_MS} ms: {sampler.most_running(*held_window)} runs in flight at "
        f"most ({held['slots']} slots), {sampler.peak_mb('rss', *held_window):.0f} MB RSS"
    )
    result = {
        "bench": "flows_latency",
        "deals_per_s": round(slow["deals_per_s"], 2),
        "deals_per_s_no_latency": round(fast["deals_per_s"], 2),
        "middle_deals_per_s": round(slow["middle_deals_per_s"], 2),
        "middle_deals_per_s_no_latency": round(fast["middle_deals_per_s"], 2),
        "p50_s": round(p50, 3),
        "p95_s": round(p95, 3),
        "floor_s": round(max(kind["floor_s"] for kind in phases["kinds"].values()), 3),
        "in_flight_max": sampler.most_running(slow["began"], slow["ended"]),
        "in_flight_capacity": sampler.most_running(*held_window),
        "rss_mb": round(sampler.peak_mb("rss"), 1),
        "rss_mb_at_capacity": round(sampler.peak_mb("rss", *held_window), 1),
        "pss_mb": round(sampler.peak_mb("pss"), 1),
        "cpu_ms_per_deal": round(slow["cpu_ms_per_deal"], 1),
        "cpu_ms_per_deal_no_latency": round(fast["cpu_ms_per_deal"], 1),
        "cpu_ms_per_deal_by_process": slow["cpu_ms_per_deal_by_role"],
        "cpu_ms_per_s_idle": round(phases["idle_ms_per_s"], 1),
        "calls_per_deal": round(sum(even["calls"].values()) / len(offered), 2),
        "calls_per_deal_by_system": {
            name: round(calls / len(offered), 2) for name, calls in even["calls"].items()
        },
        "steady_steps_failed": sum(phases["failed"].values()),
        "pairs": args.pairs,
        "deals": (1 + 2 * args.deals_per_pair) * args.pairs
        + (settings.Q_CLUSTER["workers"] + 1) * len(KINDS)
        + len(offered)
        + held["deals"],
        "offered_per_s": round(phases["rate"], 2),
        "latency_ms": latency,
        "by_kind": by_kind,
        "workers": workers,
        "runs_per_worker": settings.CLARITY_RUNS_PER_WORKER,
        "database": "sqlite (WAL)",
        "machine": machine(),
        "load_average_1m": load,
        "targets": {
            "deals_per_s": "0.9 x deals_per_s_no_latency",
            "p95_s": "1.3 x floor_s",
            "in_flight_max": 64,
            "in_flight_capacity": 64,
            "rss_mb": 1024,
            "cpu_ms_per_deal": 15,
            "calls_per_deal": 4,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
