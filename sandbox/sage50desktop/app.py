"""Sage50DesktopSandbox: the Clarity agent (Sage 50 US's endpoints over the sandbox
backend) plus a few pages of "Sage 50" at the root, over `<data_dir>/sage50desktop.db`,
which clients read through ODBC with Sage 50's table names.

The agent lives under /v1/ (the fault-injected API paths). Pages: sales invoices and one
invoice with its lines, sales orders, customers, receipts (record a payment against an
open invoice, as in Sage 50's Receipts window) and stock (adjust the quantity on hand);
each form writes through the same backend as the agent, so it follows the same rules.
"""

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from agent import protocol
from agent.backend import Refused
from agent.sage50.api import Sage50Api
from agent.server import WRITE_METHODS, AgentApp, error_response
from sandbox.core.app import SandboxApp
from sandbox.sage50desktop.backend import SandboxBackend
from sandbox.sage50desktop.data import COMPANY_NAME, CUSTOMER_FIELD_LABELS
from sandbox.sage50desktop.journals import PAYMENT_METHODS
from sandbox.sage50desktop.ledger import SALES_JOURNAL, SALES_ORDER_JOURNAL, decimal_of
from sandbox.sage50desktop.seed import write_seed
from sandbox.sage50desktop.views import PageQueries

AGENT_KEY = "sandbox-agent-key"
FAULT_ERRORS = {
    "outage": ("unavailable", "Sage 50 is not reachable: the SDK could not open the company."),
    "rate_limited": ("rate_limited", "Too many requests; retry after the Retry-After delay."),
    "error": ("internal_error", "The agent failed before doing anything."),
    "commit_then_fail": ("internal_error", "The agent failed while sending the reply."),
}


def money(value: Any) -> str:
    return f"{decimal_of(value):,.2f}"


def quantity(value: Any) -> str:
    return f"{decimal_of(value).normalize():f}"


class Sage50DesktopSandbox(SandboxApp):
    name = "sage50desktop"
    title = f"Sage 50 — {COMPANY_NAME} (sandbox)"
    accent = "#1b6b3a"
    api_prefixes = ("/v1/",)
    template_dir = Path(__file__).parent / "templates"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.db_path = self.data_dir / "sage50desktop.db"
        if not self.db_path.exists():
            write_seed(self.db_path)
        self.backend = SandboxBackend(self.db_path)
        self.agent = AgentApp(
            Sage50Api(self.backend), AGENT_KEY, self.data_dir / "sage50desktop-agent-idempotency.db"
        )
        self.pages = PageQueries(self.db_path)
        self.jinja.filters.update(money=money, quantity=quantity)
        self.jinja.globals["today"] = lambda: date.today().isoformat()

    @property
    def odbc_connection_string(self) -> str:
        return f"DRIVER={{SQLite3}};Database={self.db_path}"

    def routes(self) -> list[Rule]:
        return [
            Rule("/v1/<path:rest>", endpoint="agent",
                 methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            Rule("/", endpoint="invoices", methods=["GET"]),
            Rule("/invoices/<reference>", endpoint="invoice", methods=["GET"]),
            Rule("/sales-orders", endpoint="sales_orders", methods=["GET"]),
            Rule("/sales-orders/<reference>", endpoint="sales_order", methods=["GET"]),
            Rule("/customers", endpoint="customers", methods=["GET"]),
            Rule("/receipts", endpoint="receipts", methods=["GET", "POST"]),
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

    def on_invoices(self, request: Request) -> Response:
        return self.render("sage50desktop_invoices.html", invoices=self.pages.invoices())

    def on_invoice(self, request: Request, reference: str) -> Response:
        return self._document(SALES_JOURNAL, reference, "Sales invoice")

    def on_sales_orders(self, request: Request) -> Response:
        return self.render("sage50desktop_orders.html", orders=self.pages.sales_orders())

    def on_sales_order(self, request: Request, reference: str) -> Response:
        return self._document(SALES_ORDER_JOURNAL, reference, "Sales order")

    def _document(self, journal: int, reference: str, what: str) -> Response:
        document = self.pages.document(journal, reference)
        if document is None:
            return self.render("sage50desktop_missing.html", status=404, what=f"{what} {reference}")
        return self.render("sage50desktop_document.html", document=document, what=what)

    def on_customers(self, request: Request) -> Response:
        search = request.args.get("q", "").strip()
        return self.render(
            "sage50desktop_customers.html",
            customers=self.pages.customers(search),
            search=search,
            labels=CUSTOMER_FIELD_LABELS,
        )

    def on_receipts(self, request: Request) -> Response:
        if request.method == "POST":
            form = request.form
            return self._form_write(
                lambda: self._record_payment(form),
                "/receipts",
                f"Receipt of {form.get('Amount', '').strip()} recorded against invoice "
                f"{form.get('InvoiceNumber', '')}.",
            )
        return self.render(
            "sage50desktop_receipts.html",
            open_invoices=self.pages.open_invoices(),
            receipts=self.pages.receipts(),
            methods=PAYMENT_METHODS,
            **messages(request),
        )

    def _record_payment(self, form: Any) -> None:
        """Receipts: the customer is the one of the invoice chosen."""
        invoice = form.get("InvoiceNumber", "")
        customer_id = self.pages.invoice_customer(invoice)
        if not customer_id:
            raise Refused("Choose an open invoice to apply the receipt to.", "InvoiceNumber")
        self.backend.record_receipt(
            customer_id,
            invoice,
            form.get("Amount", "").strip(),
            form.get("Reference", "").strip(),
            form.get("PaymentMethod", ""),
            form.get("Date", ""),
        )

    def on_stock(self, request: Request) -> Response:
        if request.method == "POST":
            item_id = request.form.get("ItemID", "").strip()
            on_hand = request.form.get("QuantityOnHand", "").strip()
            return self._form_write(
                lambda: self.backend.adjust_stock(item_id, on_hand),
                "/stock",
                f"{item_id}: {on_hand} on hand.",
            )
        return self.render(
            "sage50desktop_stock.html", items=self.pages.stock(), **messages(request)
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
