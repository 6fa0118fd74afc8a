"""The Sage Accounting sandbox: API v3.1 under /v3.1/, OAuth under /oauth/, and a few pages
(sales invoices, contacts, a form to record a customer receipt) at the root.

Every API call needs `Authorization: Bearer <access token>`; `X-Business` may name the
business (omitted means the lead business, as in Sage). Control extras for tests:
`GET/POST /_control/oauth` (token lifetimes) and `POST /_control/oauth/tokens` (a token
pair without the browser flow).
"""

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from sandbox.core.app import BadJSON, SandboxApp, json_response, read_json
from sandbox.core.store import DocumentStore
from sandbox.sage_accounting import data, stock
from sandbox.sage_accounting.books import SINGULAR, Books
from sandbox.sage_accounting.errors import SageError, error_item, error_response, not_found
from sandbox.sage_accounting.listing import list_page
from sandbox.sage_accounting.oauth import CLIENTS, OAuthError, OAuthServer
from sandbox.sage_accounting.people import person_seeds
from sandbox.sage_accounting.shapes import seed_id, to_decimal

READ_ONLY = (
    "ledger_accounts",
    "tax_rates",
    "currencies",
    "exchange_rates",
    "contact_types",
    "bank_accounts",
    "payment_methods",
    "stock_items",
    "stock_movements",
)
COLLECTIONS = (*SINGULAR, *READ_ONLY)
FAULT_ERRORS = {
    "outage": ("ServiceUnavailable", "The service is temporarily unavailable"),
    "rate_limited": ("TooManyRequests", "Too many requests; please retry later"),
    "error": ("UnexpectedError", "An unexpected error occurred"),
    "commit_then_fail": ("UnexpectedError", "An unexpected error occurred"),
}


class SageAccountingSandbox(SandboxApp):
    name = "sage_accounting"
    title = "Sage Accounting"
    accent = "#008a1e"
    api_prefixes = ("/v3.1/",)
    template_dir = Path(__file__).parent / "templates"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.store = DocumentStore(self.data_dir / "sage_accounting.db")
        self.books = Books(self.store)
        self.oauth = OAuthServer(
            DocumentStore(self.data_dir / "sage_accounting_oauth.db"), data.USER_ID
        )
        if self.store.get("businesses", data.BUSINESS_ID) is None:
            self.reset()

    def routes(self) -> list[Rule]:
        collections = f"any({', '.join(COLLECTIONS)})"
        return [
            Rule("/", endpoint="invoices_page", methods=["GET"]),
            Rule("/invoices/<record_id>", endpoint="invoice_page", methods=["GET"]),
            Rule("/invoices/<record_id>/payments", endpoint="record_payment", methods=["POST"]),
            Rule("/contacts", endpoint="contacts_page", methods=["GET"]),
            Rule("/stock", endpoint="stock_count", methods=["POST"]),
            Rule("/oauth/authorize", endpoint="authorize", methods=["GET", "POST"]),
            Rule("/oauth/token", endpoint="token", methods=["POST"]),
            Rule("/oauth/revoke", endpoint="revoke", methods=["POST"]),
            Rule("/_control/oauth", endpoint="control_oauth", methods=["GET", "POST"]),
            Rule("/_control/oauth/tokens", endpoint="control_tokens", methods=["POST"]),
            Rule("/v3.1/businesses", endpoint="businesses", methods=["GET"]),
            Rule("/v3.1/businesses/<record_id>", endpoint="business", methods=["GET"]),
            Rule("/v3.1/user", endpoint="user", methods=["GET"]),
            Rule("/v3.1/financial_settings", endpoint="financial_settings", methods=["GET"]),
            Rule(
                f"/v3.1/<{collections}:collection>", endpoint="collection", methods=["GET", "POST"]
            ),
            Rule(
                f"/v3.1/<{collections}:collection>/<record_id>",
                endpoint="record",
                methods=["GET", "PUT", "DELETE"],
            ),
        ]

    def reset(self) -> None:
        """Business data back to the seed; issued tokens stay valid, lifetimes go back."""
        self.oauth.reset_lifetimes()
        with self.store.transaction():  # readers never see half a seed
            self.store.clear()
            self.store.put("businesses", data.BUSINESS_ID, data.BUSINESS)
            for collection, docs in data.reference_documents().items():
                for doc in docs:
                    self.store.put(collection, doc["id"], doc)
            for doc in stock.stock_item_documents():
                self.store.put("stock_items", doc["id"], doc)
            contacts = data.contact_seeds()
            people = person_seeds(contacts)
            for seed in [*contacts, *people, *data.product_seeds(), *data.invoice_seeds(contacts)]:
                self.books.create(seed.collection, seed.body, seed.record_id, seed.created_at)
                for paid_on, amount, method in seed.payments:
                    self._seed_payment(seed, paid_on, amount, method)

    def _seed_payment(
        self, invoice_seed: data.SeedRecord, paid_on: date, amount: Any, method: str
    ) -> None:
        invoice = self.books.require("sales_invoices", invoice_seed.record_id)
        body = self._receipt_body(invoice, str(amount), paid_on.isoformat(), method, "")
        moment = invoice_seed.created_at.replace(
            year=paid_on.year, month=paid_on.month, day=paid_on.day
        )
        self.books.create("contact_payments", body, seed_id("payment", invoice["id"]), moment)

    def _receipt_body(
        self, invoice: dict, amount: str, paid_on: str, method: str, reference: str
    ) -> dict[str, Any]:
        """A customer receipt allocated to one invoice, paid into the matching bank account."""
        currency = invoice["currency"]["id"]
        return {
            "transaction_type_id": "CUSTOMER_RECEIPT",
            "contact_id": invoice["contact"]["id"],
            "bank_account_id": data.bank_account_id(1010 if currency == "EUR" else 1000),
            "payment_method_id": method,
            "date": paid_on,
            "total_amount": amount,
            "currency_id": currency,
            "exchange_rate": invoice["exchange_rate"],
            "reference": reference or f"Receipt {invoice['invoice_number']}",
            "allocated_artefacts": [{"artefact_id": invoice["id"], "amount": amount}],
        }

    def describe(self) -> list[str]:
        return [
            f"authorize: {self.base_url}/oauth/authorize  token: {self.base_url}/oauth/token",
            f"API base: {self.base_url}/v3.1  business: {data.BUSINESS['name']}",
        ]

    # ------------------------------------------------------------ errors

    def fault_body(self, kind: str, status: int) -> Response:
        data_code, message = FAULT_ERRORS[kind]
        return error_response(status, data_code, message)

    def not_found(self, request: Request) -> Response:
        if self.is_api(request.path):
            return error_response(404, "RecordNotFound", f"No route matches {request.path}")
        return Response("Not found", status=404, mimetype="text/plain")

    # ------------------------------------------------------------ OAuth

    def on_authorize(self, request: Request) -> Response:
        params = request.args if request.method == "GET" else request.form
        try:
            grant = self.oauth.check_authorize(params)
        except ValueError as exc:
            return self.render("authorize.html", status=400, problem=str(exc), params=params)
        if request.method == "GET":
            return self.render(
                "authorize.html", grant=grant, business=data.BUSINESS, user=data.USER
            )
        if request.form.get("decision") == "allow":
            reply = {"code": self.oauth.issue_code(grant), "country": "US"}
        else:
            reply = {"error": "access_denied"}
        separator = "&" if "?" in grant.redirect_uri else "?"
        query = urlencode({**reply, "state": grant.state})
        return redirect(f"{grant.redirect_uri}{separator}{query}", code=302)

    def on_token(self, request: Request) -> Response:
        try:
            tokens = self.oauth.token(request.form, request.authorization)
        except OAuthError as exc:
            return json_response(exc.body(), status=exc.status)
        return json_response(tokens, headers={"Cache-Control": "no-store"})

    def on_revoke(self, request: Request) -> Response:
        try:
            self.oauth.revoke(request.form, request.authorization)
        except OAuthError as exc:
            return json_response(exc.body(), status=exc.status)
        return json_response({})

    def on_control_oauth(self, request: Request) -> Response:
        if request.method == "POST":
            for name, value in (read_json(request) or {}).items():
                if name not in self.oauth.lifetimes() or not str(value).isdigit():
                    return json_response({"error": f"bad setting {name}={value}"}, status=400)
                setattr(self.oauth, name, int(value))
        return json_response(self.oauth.lifetimes())

    def on_control_tokens(self, request: Request) -> Response:
        scope = (read_json(request) or {}).get("scope", "full_access")
        return json_response(self.oauth.issue_tokens(next(iter(CLIENTS)), scope), status=201)

    # ------------------------------------------------------------ API

    def _authenticate(self, request: Request, business_scoped: bool = True) -> None:
        grant = self.oauth.authenticate(request.headers.get("Authorization", ""))
        if request.method != "GET" and grant.scope != "full_access":
            raise SageError(403, [error_item("AuthorizationFailure", "Read-only access token")])
        business = request.headers.get("X-Business")
        if business_scoped and business and business != data.BUSINESS_ID:
            raise SageError(
                403,
                [error_item("AuthorizationFailure", "No access to this business", "X-Business")],
            )

    def on_businesses(self, request: Request) -> Response:
        self._authenticate(request, business_scoped=False)
        return json_response(
            list_page("businesses", self.store.all("businesses"), [], request.args)
        )

    def on_business(self, request: Request, record_id: str) -> Response:
        self._authenticate(request, business_scoped=False)
        return json_response(self.books.require("businesses", record_id))

    def on_user(self, request: Request) -> Response:
        self._authenticate(request, business_scoped=False)
        return json_response(data.USER)

    def on_financial_settings(self, request: Request) -> Response:
        self._authenticate(request)
        return json_response(data.FINANCIAL_SETTINGS)

    def on_collection(self, request: Request, collection: str) -> Response:
        self._authenticate(request)
        if request.method == "GET":
            docs = self.store.all(collection)
            deleted = self.books.deleted_since(collection)
            return json_response(list_page(collection, docs, deleted, request.args))
        doc = self.books.create(collection, self._unwrap(request, collection))
        return self.committed(json_response(doc, status=201))

    def on_record(self, request: Request, collection: str, record_id: str) -> Response:
        self._authenticate(request)
        if request.method == "GET":
            return json_response(self.books.require(collection, record_id))
        if request.method == "PUT":
            doc = self.books.update(collection, record_id, self._unwrap(request, collection))
            return self.committed(json_response(doc))
        if collection not in SINGULAR:
            raise not_found()
        body = self._json(request) if request.get_data() else {}
        reason = request.args.get("void_reason") or (body or {}).get("void_reason")
        self.books.delete(collection, record_id, reason)
        return self.committed(Response(status=204))

    def _unwrap(self, request: Request, collection: str) -> dict[str, Any]:
        """The resource object of a `{"contact": {...}}`-style body."""
        if collection not in SINGULAR:
            raise SageError(405, [error_item("MethodNotAllowed", f"{collection} is read-only")])
        name = SINGULAR[collection]
        body = self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get(name), dict):
            raise SageError(422, [error_item("RecordInvalid", "can't be blank", name)])
        return body[name]

    @staticmethod
    def _json(request: Request) -> Any:
        try:
            return read_json(request)
        except BadJSON as exc:
            raise SageError(400, [error_item("InvalidJSON", str(exc.description))]) from None

    # ------------------------------------------------------------ pages

    def on_invoices_page(self, request: Request) -> Response:
        invoices = sorted(self.store.all("sales_invoices"), key=lambda i: i["date"], reverse=True)
        return self.render("invoices.html", invoices=invoices)

    def on_invoice_page(self, request: Request, record_id: str, problems: Any = None) -> Response:
        invoice = self.store.get("sales_invoices", record_id)
        if invoice is None:
            return self.not_found(request)
        return self.render(
            "invoice.html",
            status=422 if problems else 200,
            invoice=invoice,
            payments=[
                self.store.get("contact_payments", p["id"]) for p in invoice["payments_allocations"]
            ],
            methods=data.PAYMENT_METHODS,
            today=date.today().isoformat(),
            problems=problems or [],
            recorded=request.args.get("recorded"),
        )

    def on_record_payment(self, request: Request, record_id: str) -> Response:
        invoice = self.store.get("sales_invoices", record_id)
        if invoice is None:
            return self.not_found(request)
        form = request.form
        body = self._receipt_body(
            invoice,
            form.get("amount", ""),
            form.get("date", ""),
            form.get("payment_method_id", "BANK_TRANSFER"),
            form.get("reference", ""),
        )
        try:
            payment = self.books.create("contact_payments", body)
        except HTTPException as exc:
            return self.on_invoice_page(request, record_id, getattr(exc, "errors", []))
        return redirect(f"/invoices/{record_id}?recorded={payment['id']}", code=303)

    def on_contacts_page(self, request: Request) -> Response:
        kind = request.args.get("type", "CUSTOMER").upper()
        contacts = [
            c for c in self.store.all("contacts") if kind in {t["id"] for t in c["contact_types"]}
        ]
        return self.render("contacts.html", contacts=contacts, kind=kind)

    def on_stock_count(self, request: Request) -> Response:
        """A stock count entered for an item (form: item_code, quantity)."""
        try:
            quantity = to_decimal(request.form.get("quantity", ""))
        except ValueError as exc:
            return redirect(f"/?{urlencode({'error': str(exc)})}", code=303)
        problem = stock.count_stock(
            self.store, request.form.get("item_code", ""), quantity, self.books.clock()
        )
        query = {"error": problem} if problem else {"counted": request.form["item_code"]}
        return redirect(f"/?{urlencode(query)}", code=303)
