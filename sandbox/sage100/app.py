"""Sage100Sandbox: the Clarity agent (Sage 100's endpoints over the sandbox backend) plus a
few pages of "Sage 100" at the root, over `<data_dir>/sage100.db`, which clients read
through ODBC.

The agent lives under /v1/ (the fault-injected API paths). Pages: sales orders with a
status control, an order's lines, customers, cash receipts and stock, each form posting
through the same backend as the agent, so it follows the same BOI rules.
"""

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from agent import protocol
from agent.backend import Refused
from agent.sage100.api import Sage100Api
from agent.server import WRITE_METHODS, AgentApp, error_response
from sandbox.core.app import SandboxApp
from sandbox.sage100.backend import SandboxBackend
from sandbox.sage100.sales import CLOSING_STATUSES, OPEN_STATUSES
from sandbox.sage100.seed import write_seed
from sandbox.sage100.views import PageQueries

BRIDGE_KEY = "sandbox-bridge-key"  # the agent's key (its name from before the agent)
FAULT_ERRORS = {
    "outage": ("unavailable", "Sage 100 is not reachable: no BOI session could be opened."),
    "rate_limited": ("rate_limited", "Too many requests; retry after the Retry-After delay."),
    "error": ("internal_error", "The agent failed before doing anything."),
    "commit_then_fail": ("internal_error", "The agent failed while sending the reply."),
}


class Sage100Sandbox(SandboxApp):
    name = "sage100"
    title = "Sage 100 — ABC Distribution (sandbox)"
    accent = "#00815d"
    api_prefixes = ("/v1/",)
    template_dir = Path(__file__).parent / "templates"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.db_path = self.data_dir / "sage100.db"
        if not self.db_path.exists():
            write_seed(self.db_path)
        self.backend = SandboxBackend(self.db_path)
        self.agent = AgentApp(
            Sage100Api(self.backend), BRIDGE_KEY, self.data_dir / "sage100-agent-idempotency.db"
        )
        self.pages = PageQueries(self.db_path)

    @property
    def odbc_connection_string(self) -> str:
        return f"DRIVER={{SQLite3}};Database={self.db_path}"

    def routes(self) -> list[Rule]:
        return [
            Rule("/v1/<path:rest>", endpoint="agent",
                 methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            Rule("/", endpoint="orders", methods=["GET"]),
            Rule("/orders/<order_no>", endpoint="order", methods=["GET"]),
            Rule("/orders/<order_no>/status", endpoint="order_status", methods=["POST"]),
            Rule("/customers", endpoint="customers", methods=["GET"]),
            Rule("/cash-receipts", endpoint="cash_receipts", methods=["GET", "POST"]),
            Rule("/stock", endpoint="stock", methods=["GET", "POST"]),
        ]  # fmt: skip

    def reset(self) -> None:
        write_seed(self.db_path)
        self.agent.idempotency.clear()

    def fault_body(self, kind: str, status: int) -> Response:
        code, message = FAULT_ERRORS[kind]
        return error_response(code, message, status)

    def describe(self) -> list[str]:
        return [f"ODBC: {self.odbc_connection_string}"]

    # ------------------------------------------------------------ agent

    def on_agent(self, request: Request, rest: str) -> Response:
        """The agent as is; a write it committed may still fail on the way back (the
        commit-then-fail knob), and a retry with the same Idempotency-Key then gets the
        first reply from the agent's memory."""
        response = self.agent.handle(request)
        replayed = response.headers.get(protocol.REPLAYED_HEADER) == "true"
        if request.method in WRITE_METHODS and response.status_code < 400 and not replayed:
            return self.committed(response)
        return response

    # ------------------------------------------------------------ pages

    def on_orders(self, request: Request) -> Response:
        return self.render(
            "sage100_orders.html",
            orders=self.pages.open_orders(),
            history=self.pages.recent_history(),
            statuses=OPEN_STATUSES | CLOSING_STATUSES,
            **messages(request),
        )

    def on_order(self, request: Request, order_no: str) -> Response:
        order = self.pages.order(order_no)
        if order is None:
            return self.render("sage100_missing.html", status=404, what=f"Sales order {order_no}")
        return self.render(
            "sage100_order.html", order=order, statuses=OPEN_STATUSES | CLOSING_STATUSES
        )

    def on_order_status(self, request: Request, order_no: str) -> Response:
        return self._form_write(
            lambda: self.backend.set_order_status(order_no, request.form.get("status", "")),
            "/",
            f"Sales order {order_no}: status changed to {request.form.get('status', '')}.",
        )

    def on_customers(self, request: Request) -> Response:
        search = request.args.get("q", "").strip()
        return self.render(
            "sage100_customers.html", customers=self.pages.customers(search), search=search
        )

    def on_cash_receipts(self, request: Request) -> Response:
        if request.method == "POST":
            form = request.form
            values = {
                name: form.get(name, "").strip()
                for name in ("ARDivisionNo", "CustomerNo", "InvoiceNo", "Amount", "CheckNo")
            }
            return self._form_write(
                lambda: self.backend.post_cash_receipt(values),
                "/cash-receipts",
                f"Receipt of {values['Amount']} applied to invoice {values['InvoiceNo']}.",
            )
        return self.render(
            "sage100_cash_receipts.html",
            open_invoices=self.pages.open_invoices(),
            receipts=self.pages.recent_receipts(),
            **messages(request),
        )

    def on_stock(self, request: Request) -> Response:
        if request.method == "POST":
            form = request.form
            item_code, warehouse = form.get("ItemCode", ""), form.get("WarehouseCode", "")
            quantity = form.get("QuantityOnHand", "")
            return self._form_write(
                lambda: self.backend.set_stock(item_code, warehouse, quantity),
                "/stock",
                f"{item_code} in warehouse {warehouse}: {quantity} on hand.",
            )
        return self.render(
            "sage100_stock.html",
            stock=self.pages.stock(),
            warehouses=self.pages.warehouses(),
            **messages(request),
        )

    def _form_write(self, write: Any, back_to: str, done: str) -> Response:
        """Run a page form's write; redirect back with what happened (Sage's error if any)."""
        try:
            write()
        except Refused as exc:
            return redirect(f"{back_to}?{urlencode({'error': exc.message})}", code=303)
        return redirect(f"{back_to}?{urlencode({'flash': done})}", code=303)


def messages(request: Request) -> dict[str, str]:
    return {"flash": request.args.get("flash", ""), "error": request.args.get("error", "")}
