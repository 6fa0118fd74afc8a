"""Sage100Sandbox: the Clarity agent (Sage 100's endpoints over the sandbox backend) plus a
few pages of "Sage 100" at the root, over `<data_dir>/sage100.db`, which clients read
through ODBC.

The agent lives under /v1/ (the fault-injected API paths). Pages: sales orders with a
status control, an order's lines, customers, S/O invoices entered and not yet posted (read
only), cash receipts, stock, purchase orders (read only) and item prices, each form posting
through the same backend as the agent, so it follows the same BOI rules.
"""

from pathlib import Path

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from agent.sage100.api import Sage100Api
from sandbox.core.agent import AgentSandbox, page_messages
from sandbox.sage100.backend import SandboxBackend
from sandbox.sage100.prices import PRICE_LEVELS, STANDARD
from sandbox.sage100.purchasing import PURCHASE_ORDER_STATUSES
from sandbox.sage100.sales import CLOSING_STATUSES, OPEN_STATUSES
from sandbox.sage100.schema import TABLES
from sandbox.sage100.seed import write_seed
from sandbox.sage100.views import PageQueries

BRIDGE_KEY = "sandbox-bridge-key"  # the agent's key (its name from before the agent)


class Sage100Sandbox(AgentSandbox):
    name = "sage100"
    title = "Sage 100 — ABC Distribution (sandbox)"
    accent = "#00815d"
    template_dir = Path(__file__).parent / "templates"
    agent_key = BRIDGE_KEY
    unreachable = "Sage 100 is not reachable: no BOI session could be opened."
    backend_class = SandboxBackend
    tables = TABLES
    api_class = Sage100Api
    backend: SandboxBackend

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.pages = PageQueries(self.db_path)

    def seed(self) -> None:
        write_seed(self.db_path)

    def routes(self) -> list[Rule]:
        return [
            *super().routes(),
            Rule("/", endpoint="orders", methods=["GET"]),
            Rule("/orders/<order_no>", endpoint="order", methods=["GET"]),
            Rule("/orders/<order_no>/status", endpoint="order_status", methods=["POST"]),
            Rule("/customers", endpoint="customers", methods=["GET"]),
            Rule("/sales-invoices", endpoint="sales_invoices", methods=["GET"]),
            Rule("/cash-receipts", endpoint="cash_receipts", methods=["GET", "POST"]),
            Rule("/stock", endpoint="stock", methods=["GET", "POST"]),
            Rule("/purchase-orders", endpoint="purchase_orders", methods=["GET"]),
            Rule("/prices", endpoint="prices", methods=["GET", "POST"]),
        ]

    def on_orders(self, request: Request) -> Response:
        return self.render(
            "sage100_orders.html",
            orders=self.pages.open_orders(),
            history=self.pages.recent_history(),
            statuses=OPEN_STATUSES | CLOSING_STATUSES,
            **page_messages(request),
        )

    def on_order(self, request: Request, order_no: str) -> Response:
        order = self.pages.order(order_no)
        if order is None:
            return self.render("sage100_missing.html", status=404, what=f"Sales order {order_no}")
        return self.render(
            "sage100_order.html", order=order, statuses=OPEN_STATUSES | CLOSING_STATUSES
        )

    def on_order_status(self, request: Request, order_no: str) -> Response:
        return self.form_write(
            lambda: self.backend.set_order_status(order_no, request.form.get("status", "")),
            "/",
            f"Sales order {order_no}: status changed to {request.form.get('status', '')}.",
        )

    def on_customers(self, request: Request) -> Response:
        search = request.args.get("q", "").strip()
        return self.render(
            "sage100_customers.html", customers=self.pages.customers(search), search=search
        )

    def on_sales_invoices(self, request: Request) -> Response:
        return self.render("sage100_sales_invoices.html", invoices=self.pages.entered_invoices())

    def on_cash_receipts(self, request: Request) -> Response:
        if request.method == "POST":
            form = request.form
            values = {
                name: form.get(name, "").strip()
                for name in ("ARDivisionNo", "CustomerNo", "InvoiceNo", "Amount", "CheckNo")
            }
            return self.form_write(
                lambda: self.backend.post_cash_receipt(values),
                "/cash-receipts",
                f"Receipt of {values['Amount']} applied to invoice {values['InvoiceNo']}.",
            )
        return self.render(
            "sage100_cash_receipts.html",
            open_invoices=self.pages.open_invoices(),
            receipts=self.pages.recent_receipts(),
            **page_messages(request),
        )

    def on_stock(self, request: Request) -> Response:
        if request.method == "POST":
            form = request.form
            item_code, warehouse = form.get("ItemCode", ""), form.get("WarehouseCode", "")
            quantity = form.get("QuantityOnHand", "")
            return self.form_write(
                lambda: self.backend.set_stock(item_code, warehouse, quantity),
                "/stock",
                f"{item_code} in warehouse {warehouse}: {quantity} on hand.",
            )
        return self.render(
            "sage100_stock.html",
            stock=self.pages.stock(),
            warehouses=self.pages.warehouses(),
            **page_messages(request),
        )

    def on_purchase_orders(self, request: Request) -> Response:
        return self.render(
            "sage100_purchase_orders.html",
            purchase_orders=self.pages.purchase_orders(),
            statuses=PURCHASE_ORDER_STATUSES,
        )

    def on_prices(self, request: Request) -> Response:
        if request.method == "POST":
            form = request.form
            item_code, level = form.get("ItemCode", "").strip(), form.get("PriceLevel", "")
            price = form.get("Price", "").strip()
            where = f"level {level}" if level else "standard"
            return self.form_write(
                lambda: self.backend.set_price(item_code, level, price),
                "/prices",
                f"{item_code.upper()}: {where} price set to {price}.",
            )
        return self.render(
            "sage100_prices.html",
            items=self.pages.items(),
            price_levels=self.pages.price_levels(),
            levels=PRICE_LEVELS,
            standard=STANDARD,
            **page_messages(request),
        )
