"""The sandboxes of bench/cluster.py: those of bench/support/sandbox_host.py (call log, won
deals made on request), bound to the cluster bridge's address so that every host namespace
reaches them, plus `GET /_bench/documents` on each Sage: every document it holds as
[number, deal reference], read from the sandbox's own store, so that duplicates are
counted in Sage and not in our database.

Salesforce's certificate names the bridge's address too (sandbox/salesforce/tls.py's
EXTRA_NAMES_ENV), so that the hosts verify it there; its tokens name the address they were
asked on.

Usage: `python bench/support/cluster_sandboxes.py DATA_DIR READY_FILE ADDRESS`.
"""

import os
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "support"))

from sandbox_host import CallLog, serve_bench_endpoints, serve_until_stopped  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

from sandbox.core.app import json_response  # noqa: E402
from sandbox.core.server import RunningSandbox  # noqa: E402
from sandbox.registry import start_all  # noqa: E402
from sandbox.salesforce.tls import EXTRA_NAMES_ENV  # noqa: E402

NAMES = ["streak", "salesforce", "sage_accounting", "sage100"]
SAGE100_ORDERS = ("SO_SalesOrderHeader", "SO_SalesOrderHistoryHeader")


def sage100_documents(running: RunningSandbox) -> list[list]:
    """Every sales order, open or in history: [SalesOrderNo, UDF_DEAL_ID]."""
    with sqlite3.connect(running.app.db_path) as db:
        return [
            list(row)
            for table in SAGE100_ORDERS
            for row in db.execute(f"SELECT SalesOrderNo, UDF_DEAL_ID FROM {table}")
        ]


def sage_accounting_documents(running: RunningSandbox) -> list[list]:
    """Every sales invoice: [id, reference]."""
    invoices = running.app.store.all("sales_invoices")
    return [[doc["id"], doc.get("reference")] for doc in invoices]


def serve_documents(running: RunningSandbox, documents) -> None:
    dispatch = running.app.dispatch

    def answer(request: Request) -> Response:
        if request.path == "/_bench/documents":
            return json_response({"documents": documents(running)})
        return dispatch(request)

    running.app.dispatch = answer


def main() -> None:
    data_dir, ready_file, address = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    os.environ[EXTRA_NAMES_ENV] = address
    running = start_all(data_dir, host=address, ports=dict.fromkeys(NAMES, 0), names=NAMES)
    for sandbox in running.values():
        serve_bench_endpoints(sandbox, CallLog())
    serve_documents(running["sage100"], sage100_documents)
    serve_documents(running["sage_accounting"], sage_accounting_documents)
    serve_until_stopped(running, ready_file)


if __name__ == "__main__":
    main()
