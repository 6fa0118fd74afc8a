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

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from agent.backend import Refused
from agent.sage50.api import Sage50Api
from sandbox.core.agent import AgentSandbox, page_messages
from sandbox.sage50desktop.backend import SandboxBackend
from sandbox.sage50desktop.data import COMPANY_NAME, CUSTOMER_FIELD_LABELS
from sandbox.sage50desktop.journals import PAYMENT_METHODS
from sandbox.sage50desktop.ledger import SALES_JOURNAL, SALES_ORDER_JOURNAL, decimal_of
from sandbox.sage50desktop.schema import TABLES
from sandbox.sage50desktop.seed import write_seed
from sandbox.sage50desktop.views import PageQueries

AGENT_KEY = "sandbox-agent-key"


def money(value: Any) -> str:
    return f"{decimal_of(value):,.2f}"


def quantity(value: Any) -> str:
    return f"{decimal_of(value).normalize():f}"


class Sage50DesktopSandbox(AgentSandbox):
    name = "sage50desktop"
    title = f"Sage 50 — {COMPANY_NAME} (sandbox)"
    accent = "#1b6b3a"
    template_dir = Path(__file__).parent / "templates"
    agent_key = AGENT_KEY
    unreachable = "Sage 50 is not reachable: the SDK could not open the company."
    backend_class = SandboxBackend
    tables = TABLES
    api_class = Sage50Api
    backend: SandboxBackend

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.pages = PageQueries(self.db_path)
        self.jinja.filters.update(money=money, quantity=quantity)
        self.jinja.globals["today"] = lambda: date.today().isoformat()

    def seed(self) -> None:
        write_seed(self.db_path)

    def routes(self) -> list[Rule]:
        return [
            *super().routes(),
            Rule("/", endpoint="invoices", methods=["GET"]),
            Rule("/invoices/<reference>", endpoint="invoice", methods=["GET"]),
            Rule("/sales-orders", endpoint="sales_orders", methods=["GET"]),
            Rule("/sales-orders/<reference>", endpoint="sales_order", methods=["GET"]),
            Rule("/customers", endpoint="customers", methods=["GET"]),
            Rule("/receipts", endpoint="receipts", methods=["GET", "POST"]),
            Rule("/stock", endpoint="stock", methods=["GET", "POST"]),
        ]

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
            return self.form_write(
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
            **page_messages(request),
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
            return self.form_write(
                lambda: self.backend.adjust_stock(item_id, on_hand),
                "/stock",
                f"{item_id}: {on_hand} on hand.",
            )
        return self.render(
            "sage50desktop_stock.html", items=self.pages.stock(), **page_messages(request)
        )
