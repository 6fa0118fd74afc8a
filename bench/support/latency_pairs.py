"""The pairs, deals and sandboxes of bench/flows_latency.py: the sandbox process driven over
HTTP (latency knobs, new won deals, its call log), pairs with connections of their own, won
deals delivered as their CRM's webhook, and what the database says of their runs."""

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ingest  # the shared harness (bench/ingest.py): Django on a temporary database
import requests
from django.db.models import Avg, Sum

from connectors.models import ApiCallCount, Connection, IntegrationPair
from flows.models import FlowConfig, RunStep, SyncRun
from sandbox.sage100.app import BRIDGE_KEY
from sandbox.streak import data as streak_data

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = ("streak", "salesforce", "sage_accounting", "sage100")  # sandbox names
SETTLE_S = 0.5  # for a worker to add a finished run's calls to the metered counts
WAITING = {SyncRun.Status.PENDING, SyncRun.Status.RUNNING, SyncRun.Status.RETRY_SCHEDULED}


@dataclass(frozen=True)
class Kind:
    name: str
    crm: str  # sandbox names
    erp: str
    flow: str
    template: str = ""  # the seeded Streak box every deal is cloned from; Salesforce picks one


KINDS = (
    Kind("streak-sage100", "streak", "sage100", "deal_won_to_sales_order", "SAL-1005"),
    Kind("streak-sage_accounting", "streak", "sage_accounting", "deal_won_to_invoice", "SRV-2001"),
    Kind("salesforce-sage100", "salesforce", "sage100", "deal_won_to_sales_order"),
)


@dataclass(frozen=True)
class Pair:
    kind: Kind
    number: int
    slug: str
    token: str
    pipeline: str = ""  # a Streak pair's own pipeline


@dataclass
class Deal:
    pair: Pair
    key: str  # its run's entity key: the box key or the opportunity Id
    body: bytes  # the webhook its CRM sends
    delivered: float = 0.0  # epoch seconds


class Sandboxes:
    """The sandboxes (bench/support/sandbox_host.py), each in a process and process group of
    its own, as each API is a service of its own."""

    def __init__(self, folder: Path) -> None:
        host = ROOT / "bench" / "support" / "sandbox_host.py"
        ready_files = {name: folder / f"sandbox-{name}.json" for name in SYSTEMS}
        self.processes = [
            subprocess.Popen(
                [sys.executable, str(host), str(folder / "sandboxes"), str(ready), name],
                cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True,
            )
            for name, ready in ready_files.items()
        ]  # fmt: skip
        deadline = time.monotonic() + 120
        while not all(ready.exists() for ready in ready_files.values()):
            failed = any(process.poll() is not None for process in self.processes)
            if failed or time.monotonic() > deadline:
                raise RuntimeError(
                    "A sandbox process (bench/support/sandbox_host.py) did not "
                    "start within 120 s; its errors are above."
                )
            time.sleep(0.2)
        self.ready = {}
        for ready in ready_files.values():
            self.ready |= json.loads(ready.read_text())

    def url(self, name: str) -> str:
        return self.ready[name]["url"]

    def request(self, method: str, name: str, path: str, **kwargs: Any) -> Any:
        verify = self.ready[name].get("ca_bundle", True)  # Salesforce's own certificate
        reply = requests.request(
            method, f"{self.url(name)}{path}", verify=verify, timeout=120, **kwargs
        )
        reply.raise_for_status()
        return reply.json()

    def set_latency(self, latency_ms: dict[str, int]) -> None:
        for name, milliseconds in latency_ms.items():
            self.request("POST", name, "/_control/faults", json={"latency_ms": milliseconds})

    def calls_since(self, moment: float) -> list[tuple[float, str, str]]:
        """(arrival, sandbox, "METHOD /path/shape") of every API request since `moment`."""
        calls = []
        for name in SYSTEMS:
            logged = self.request("GET", name, "/_bench/calls", params={"since": moment})
            calls += [(at, name, f"{method} {shape}") for at, method, shape in logged["calls"]]
        return calls


def make_pairs(sandboxes: Sandboxes, count: int) -> list[Pair]:
    """`count` pairs taking turns over the kinds, each with connections of its own."""
    pairs = []
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        crm, erp = crm_connection(sandboxes, kind, number), erp_connection(sandboxes, kind, number)
        pair = IntegrationPair(name=f"{kind.name} {number}", crm=crm, erp=erp)
        token = pair.rotate_webhook_token()
        pair.save()
        FlowConfig.objects.filter(pair=pair, flow=kind.flow).update(enabled=True)
        pairs.append(Pair(kind, number, pair.slug, token, crm.settings.get("pipeline_key", "")))
    return pairs


def crm_connection(sandboxes: Sandboxes, kind: Kind, number: int) -> Connection:
    """The pair's CRM connection, with the product's default throttle; a Streak pair's
    pipeline is its own, like the seeded one of its kind."""
    if kind.crm == "streak":
        like = streak_data.SALES if kind.erp == "sage100" else streak_data.SERVICES
        made = sandboxes.request("POST", "streak", "/_bench/pipelines", json={"like": like["key"]})
        return Connection.objects.create(
            name=f"Streak {number}",
            system="streak",
            secrets={"api_key": ingest.STREAK_KEY},
            settings={"base_url": sandboxes.url("streak"), "pipeline_key": made["key"]},
        )
    return Connection.objects.create(
        name=f"Salesforce {number}",
        system="salesforce",
        secrets={"client_secret": "sandbox-secret"},
        settings={
            "login_url": sandboxes.url("salesforce"),
            "auth_flow": "client_credentials",
            "client_id": "sandbox-client",
            "api_version": "59.0",
            "ca_bundle": sandboxes.ready["salesforce"]["ca_bundle"],
        },
    )


def erp_connection(sandboxes: Sandboxes, kind: Kind, number: int) -> Connection:
    if kind.erp == "sage100":
        return Connection.objects.create(
            name=f"Sage 100 {number}",
            system="sage100",
            secrets={"bridge_key": BRIDGE_KEY},
            settings={
                "odbc_connection_string": sandboxes.ready["sage100"]["odbc_connection_string"],
                "odbc_dialect": "sqlite",
                "company_code": "ABC",
                "bridge_url": sandboxes.url("sage100"),
            },
        )
    url = sandboxes.url("sage_accounting")
    tokens = sandboxes.request("POST", "sage_accounting", "/_control/oauth/tokens")  # its own grant
    return Connection.objects.create(
        name=f"Sage Accounting {number}",
        system="sage50",
        settings={
            "api_url": f"{url}/v3.1",
            "auth_url": f"{url}/oauth/authorize",
            "token_url": f"{url}/oauth/token",
            "client_id": "sandbox-client",
        },
        secrets={
            "client_secret": "sandbox-secret",
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
        },
    )


def new_deals(sandboxes: Sandboxes, pairs: list[Pair], per_pair: int, phase: str) -> list[Deal]:
    """`per_pair` new won deals of each pair, in turns of one deal of each pair: each pair
    sells to one customer, its kind's template's."""
    by_pair = []
    for pair in pairs:
        prefix = f"{phase}{pair.number:02d}"  # the Deal IDs: e.g. L07-00001
        if pair.kind.crm == "streak":
            wanted = {
                "templates": [pair.kind.template], "count": per_pair, "prefix": prefix,
                "pipeline": pair.pipeline,
            }  # fmt: skip
            boxes = sandboxes.request("POST", "streak", "/_bench/won-boxes", json=wanted)
            by_pair.append([Deal(pair, box["key"], json.dumps([box]).encode()) for box in boxes])
        else:
            wanted = {"templates": 1, "count": per_pair, "prefix": prefix}
            made = sandboxes.request("POST", "salesforce", "/_bench/won-opportunities", json=wanted)
            by_pair.append([Deal(pair, m["id"], m["envelope"].encode()) for m in made])
    return [deals[turn] for turn in range(per_pair) for deals in by_pair]


def deliver(port: int, deal: Deal) -> None:
    """POST the deal's webhook as its CRM does: Streak's JSON, Salesforce's Outbound Message."""
    pair = deal.pair
    path = f"/hooks/{pair.slug}/{pair.token}/"
    if pair.kind.crm == "streak":
        path, content_type = f"{path}?event=BOX_CHANGE_STAGE", "application/json"
    else:
        content_type = "text/xml; charset=utf-8"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(deal.body)}\r\n\r\n"
    )
    deal.delivered = time.time()
    status = ingest.send(port, head.encode() + deal.body)
    if status != 200:
        raise RuntimeError(f"The webhook of {deal.key} ({pair.kind.name}) was answered {status}.")


def wait_for_runs(deals: list[Deal], timeout: float = 300) -> dict[str, float]:
    """When each deal's run finished (epoch seconds), once all have succeeded; a run that
    ends otherwise, or waits for an approver, stops the benchmark with its error."""
    keys = [deal.key for deal in deals]
    deadline = time.monotonic() + timeout
    done: dict[str, float] = {}
    while time.monotonic() < deadline:
        rows = SyncRun.objects.filter(entity_key__in=keys).values_list(
            "entity_key", "status", "finished_at", "error_message"
        )
        done = {
            key: end.timestamp()
            for key, status, end, _ in rows
            if status == SyncRun.Status.SUCCEEDED
        }
        if len(done) == len(keys):
            return done
        for key, status, _, error in rows:
            if status != SyncRun.Status.SUCCEEDED and status not in WAITING:
                raise RuntimeError(f"The run of {key} ended {status}: {error}")
        time.sleep(0.2)
    raise RuntimeError(
        f"{len(keys) - len(done)} of {len(keys)} runs unfinished after {timeout:.0f} s."
    )


def number_written(deals: list[Deal]) -> dict[str, float]:
    """When each deal got its Sage number: the end of its write_back step (epoch seconds)."""
    steps = RunStep.objects.filter(
        run__entity_key__in=[deal.key for deal in deals],
        name="write_back",
        status=RunStep.Status.SUCCEEDED,
    )
    rows = steps.values_list("run__entity_key", "started_at", "duration_ms")
    return {key: began.timestamp() + ms / 1000 for key, began, ms in rows}


def metered_calls() -> dict[str, int]:
    """The product's own count of calls by system, over every process (connectors.metering),
    once the runs that just ended have added theirs: a worker does so just after a run ends."""
    time.sleep(SETTLE_S)
    rows = ApiCallCount.objects.values("system").annotate(calls=Sum("calls"))
    return {row["system"]: row["calls"] for row in rows}


def with_odbc(metered: dict[str, int], calls: list[tuple[float, str, str]]) -> dict[str, int]:
    """Calls by system: the HTTP requests the sandboxes logged, and Sage 100's ODBC queries,
    which are the `metered` Sage 100 calls (agent requests and ODBC queries) less the agent
    requests logged."""
    by_system = count_by([name for _, name, _ in calls])
    return by_system | {"odbc": metered.get("sage100", 0) - by_system.get("sage100", 0)}


def metered_since(before: dict[str, int]) -> dict[str, int]:
    """The product's count of calls by system since `before`."""
    after = metered_calls()
    return {name: calls - before.get(name, 0) for name, calls in after.items()}


def count_by(names: list[str]) -> dict[str, int]:
    return {name: names.count(name) for name in sorted(set(names))}


def steps_failed(deals: list[Deal]) -> dict[str, int]:
    """Step failures of the deals' runs (a later attempt succeeded), by step and error:
    what makes a phase slower than its latency says."""
    rows = RunStep.objects.filter(
        run__entity_key__in=[deal.key for deal in deals], status=RunStep.Status.FAILED
    ).values_list("name", "error")
    return count_by([f"{name}: {error[:120]}" for name, error in rows])


def mean_step_ms(deals: list[Deal]) -> dict[str, dict[str, int]]:
    """Where a run's time goes: the mean ms of each step, by kind."""
    result = {}
    for kind in KINDS:
        keys = [deal.key for deal in deals if deal.pair.kind == kind]
        rows = (
            RunStep.objects.filter(run__entity_key__in=keys)
            .values("name")
            .annotate(ms=Avg("duration_ms"))
            .order_by("-ms")
        )
        result[kind.name] = {row["name"]: round(row["ms"]) for row in rows}
    return result
