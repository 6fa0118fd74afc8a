"""The sandboxes of bench/flows_latency.py, in a process of their own so that their CPU and
memory are not counted as ours: Streak, Salesforce, Sage Accounting and Sage 100 on free
ports, each request our connectors make logged as it arrives (time, method, path shape;
every request but the control ones), and a few bench endpoints under /_bench/ (never
fault-injected, never logged):

- every sandbox: `GET /_bench/calls?since=<epoch s>`, the requests logged since then;
- Streak: `POST /_bench/pipelines {"like": pipeline key}`, a new pipeline with that one's
  fields and stages (its key); `POST /_bench/won-boxes {"templates": [deal ids], "count",
  "prefix", "pipeline"}`, new Closed-Won boxes cloned from seeded deals, in the pipeline if
  given, in the shape Streak's webhook carries. Each pair gets a pipeline of its own, as
  separate customers' accounts have: sharing one, each pair's catch-up poll (a minute
  after its last) found the other pairs' won deals and started runs of its own for them;
- Salesforce: `POST /_bench/won-opportunities {"templates": n, "count", "prefix"}`, new
  opportunities cloned from the first n seeded USD ones under the approval threshold, moved
  to Closed Won, each with the Outbound Message its workflow rule queued: [{"id",
  "envelope"}].

Usage: `python bench/support/sandbox_host.py DATA_DIR READY_FILE [NAME ...]` (the named
sandboxes, all four by default); the ready file (JSON: per sandbox its url, plus Sage 100's
ODBC string and Salesforce's certificate) appears once every sandbox listens. SIGTERM stops
them. bench/flows_latency.py runs each sandbox in a process of its own, as each API is a
service of its own: sharing one process, they shared one GIL, and at a busy moment a call
waited for the other sandboxes' work, which the product's p95 then showed.

Every clone is a deal of its own: its first line's unit price is a few cents above its
template's (a cent more for each clone made), so no two are the same order for the same
customer, which the won-deal flows hold as a likely duplicate, and none is far enough from
its template to look unusual.
"""

import itertools
import json
import signal
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from werkzeug.wrappers import Request, Response  # noqa: E402

from sandbox.core.app import json_response, read_json  # noqa: E402
from sandbox.core.server import RunningSandbox  # noqa: E402
from sandbox.registry import start_all  # noqa: E402
from sandbox.salesforce.schema import sobject  # noqa: E402
from sandbox.streak import data as streak_data  # noqa: E402
from sandbox.streak.seed import seed_documents  # noqa: E402

NAMES = ["streak", "salesforce", "sage_accounting", "sage100"]
# Seeded opportunities whose items Sage 100 lacks or holds too few of are not cloned.
AWKWARD_CODES = {"WIDGET-140", "GADGET-229", "WIDGET-999", "GADGET-998"}
APPROVAL_THRESHOLD = 10000  # the won-deal flows' default
CENT = Decimal("0.01")
clones = itertools.count(1)  # clones made so far by this process's sandboxes


class CallLog:
    """Requests one sandbox received: (epoch seconds, method, path shape)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()

    def add(self, method: str, path: str) -> None:
        shape = "/".join(part for part in path.split("/")[:5] if len(part) < 20)
        with self.lock:
            self.calls.append((time.time(), method, shape))

    def since(self, moment: float) -> list[tuple[float, str, str]]:
        with self.lock:
            return [call for call in self.calls if call[0] >= moment]


def won_boxes(running: RunningSandbox, body: dict[str, Any]) -> list[dict]:
    """New Closed-Won boxes cloned from the seeded deals named in `templates`."""
    app = running.app
    seeded = {b["fields"][streak_data.FIELD_DEAL_ID]: b for b in seed_documents()["boxes"]}
    templates = [seeded[deal_id] for deal_id in body["templates"]]
    boxes = []
    for number in range(int(body["count"])):
        key = app.records.next_key("Box")
        template = templates[number % len(templates)]
        moment = int(time.time() * 1000) + number
        box = template | {
            "key": key,
            "boxKey": key,
            "pipelineKey": body.get("pipeline") or template["pipelineKey"],
            "stageKey": streak_data.CLOSED_WON,
            "lastUpdatedTimestamp": moment,
            "lastStageChangeTimestamp": moment,
            "fields": {
                **template["fields"],
                **dearer_first_line(template["fields"]),
                streak_data.FIELD_DEAL_ID: f"{body['prefix']}-{number:05d}",
            },
        }
        app.store.put("boxes", key, box)
        boxes.append(json.loads(json.dumps(app.records.fetch("boxes", key), default=str)))
    return boxes


def new_pipeline(running: RunningSandbox, body: dict[str, Any]) -> dict[str, str]:
    """A pipeline like `like` (same fields and stages), added to the sandbox's pipelines."""
    like = next(p for p in streak_data.PIPELINES if p["key"] == body["like"])
    made = streak_data.pipeline(1000 + len(streak_data.PIPELINES), f"{like['name']} (bench)", "")
    streak_data.PIPELINES.append(made)
    return {"key": made["key"]}


def dearer_first_line(fields: dict[str, Any]) -> dict[str, str]:
    """Products and Amount of a box whose first line costs `next(clones)` cents more a unit."""
    first, *rest = fields[streak_data.FIELD_PRODUCTS].splitlines()
    code, _, terms = first.partition(" x ")
    quantity, _, price = terms.partition(" @ ")
    extra = next(clones) * CENT
    amount = Decimal(fields[streak_data.FIELD_AMOUNT]) + extra * Decimal(quantity)
    first = f"{code} x {quantity} @ {Decimal(price) + extra:.2f}"
    return {
        streak_data.FIELD_PRODUCTS: "\n".join([first, *rest]),
        streak_data.FIELD_AMOUNT: f"{amount:.2f}",
    }


def opportunity_templates(app: Any) -> list[tuple[dict, list[dict]]]:
    """Seeded USD opportunities under the approval threshold whose items Sage 100 can sell,
    with their lines."""
    lines_of: dict[str, list[dict]] = {}
    for line in app.records.all(sobject("OpportunityLineItem")):
        lines_of.setdefault(line["OpportunityId"], []).append(line)
    templates = []
    for opportunity in app.records.all(sobject("Opportunity")):
        lines = lines_of.get(opportunity["Id"], [])
        codes = {line.get("ProductCode") for line in lines}
        if (
            lines
            and opportunity["CurrencyIsoCode"] == "USD"
            and (opportunity["Amount"] or 0) < APPROVAL_THRESHOLD
            and not codes & AWKWARD_CODES
            and not opportunity.get("Sage_Order_No__c")
        ):
            templates.append((opportunity, lines))
    return templates


def won_opportunities(running: RunningSandbox, body: dict[str, Any]) -> list[dict]:
    """New Closed-Won opportunities and the Outbound Message each one's rule queued."""
    app = running.app
    opportunity_obj, line_obj = sobject("Opportunity"), sobject("OpportunityLineItem")
    templates = opportunity_templates(app)[: int(body["templates"])]
    made = []
    for number in range(int(body["count"])):
        template, lines = templates[number % len(templates)]
        copied = (
            "Name",
            "AccountId",
            "CloseDate",
            "Pricebook2Id",
            "CurrencyIsoCode",
            "Type",
            "LeadSource",
        )
        values = {name: template[name] for name in copied if template.get(name) is not None}
        external_id = f"{body['prefix']}-{number:05d}"
        record_id = app.records.create(
            opportunity_obj, values | {"StageName": "Prospecting", "ExternalID__c": external_id}
        )
        extra = float(next(clones) * CENT)
        for index, line in enumerate(lines):
            app.records.create(
                line_obj,
                {
                    "OpportunityId": record_id,
                    "PricebookEntryId": line["PricebookEntryId"],
                    "Quantity": line["Quantity"],
                    "ServiceDate": line.get("ServiceDate"),
                    "UnitPrice": round(line["UnitPrice"] + (extra if index == 0 else 0), 2),
                },
            )
        app.records.update(opportunity_obj, record_id, {"StageName": "Closed Won"})
        [message] = [m for m in app.outbound.messages() if m.get("record_id") == record_id]
        envelope = app.outbound.envelope(message["id"], app.opportunity(record_id))
        made.append({"id": record_id, "envelope": envelope})
    return made


def serve_bench_endpoints(running: RunningSandbox, log: CallLog) -> None:
    """Log every request but the control and bench ones, and answer /_bench/."""
    app, dispatch = running.app, running.app.dispatch
    makers = {
        "/_bench/won-boxes": won_boxes,
        "/_bench/pipelines": new_pipeline,
        "/_bench/won-opportunities": won_opportunities,
    }

    def logged(request: Request) -> Response:
        path = request.path
        if path == "/_bench/calls":
            return json_response({"calls": log.since(float(request.args.get("since", 0)))})
        if path in makers and request.method == "POST":
            return json_response(makers[path](running, read_json(request)))
        if not path.startswith(("/_control/", "/_bench/")):
            log.add(request.method, path)
        return dispatch(request)

    app.dispatch = logged


def main() -> None:
    data_dir, ready_file, names = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:] or NAMES
    running = start_all(data_dir, ports=dict.fromkeys(names, 0), names=names)
    for sandbox in running.values():
        serve_bench_endpoints(sandbox, CallLog())
    serve_until_stopped(running, ready_file)


def serve_until_stopped(running: dict[str, RunningSandbox], ready_file: Path) -> None:
    """Say where each sandbox listens in `ready_file` (written whole, then renamed, so the
    bench never reads half of it), then serve until SIGTERM and stop them all."""
    ready = {name: {"url": sandbox.url} for name, sandbox in running.items()}
    if "sage100" in running:
        ready["sage100"]["odbc_connection_string"] = running["sage100"].app.odbc_connection_string
    if "salesforce" in running:
        ready["salesforce"]["ca_bundle"] = str(running["salesforce"].app.cert_path)
    partial = ready_file.with_suffix(".partial")
    partial.write_text(json.dumps(ready))
    partial.rename(ready_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        for sandbox in running.values():
            sandbox.stop()


if __name__ == "__main__":
    main()
