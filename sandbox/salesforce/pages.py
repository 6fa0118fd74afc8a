"""What a person sees of the org: opportunities (with "Mark Closed Won"), one opportunity
with its lines, orders (with "Activate"), one order with its products, the activity (tasks)
of each, the Outbound Message log, and the OAuth consent page of the authorization-code
flow. Plain HTML forms that POST and redirect.
"""

from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from sandbox.salesforce import auth
from sandbox.salesforce.errors import ApiError
from sandbox.salesforce.records import Records
from sandbox.salesforce.schema import STAGES, sobject


def page_rules() -> list[Rule]:
    return [
        Rule("/", endpoint="page_opportunities", methods=["GET"]),
        Rule("/opportunities/<record_id>", endpoint="page_opportunity", methods=["GET"]),
        Rule("/opportunities/<record_id>/close-won", endpoint="page_close_won", methods=["POST"]),
        Rule("/orders", endpoint="page_orders", methods=["GET"]),
        Rule("/orders/<record_id>", endpoint="page_order", methods=["GET"]),
        Rule("/orders/<record_id>/activate", endpoint="page_activate", methods=["POST"]),
        Rule("/outbound", endpoint="page_outbound", methods=["GET"]),
        Rule("/outbound/<message_id>/retry", endpoint="page_retry", methods=["POST"]),
        Rule("/services/oauth2/authorize", endpoint="page_authorize", methods=["GET", "POST"]),
    ]


class Pages:
    records: Records

    def on_page_opportunities(self, request: Request) -> Response:
        accounts = {a["Id"]: a["Name"] for a in self.records.all(sobject("Account"))}
        opportunities = self.records.all(sobject("Opportunity"))
        stage = request.args.get("stage", "")
        if stage:
            opportunities = [o for o in opportunities if o["StageName"] == stage]
        return self.render(
            "salesforce_opportunities.html", opportunities=opportunities, accounts=accounts,
            stages=[s[0] for s in STAGES], stage=stage, flash=request.args.get("flash", ""),
        )  # fmt: skip

    def on_page_opportunity(self, request: Request, record_id: str) -> Response:
        try:
            opportunity = self.records.existing(sobject("Opportunity"), record_id)
        except ApiError:
            return self.render("salesforce_missing.html", status=404, record_id=record_id)
        lines = [
            line for line in self.records.all(sobject("OpportunityLineItem"))
            if line["OpportunityId"] == opportunity["Id"]
        ]  # fmt: skip
        account = self.records.get(sobject("Account"), opportunity["AccountId"] or "")
        return self.render(
            "salesforce_opportunity.html", opportunity=opportunity, lines=lines, account=account,
            tasks=self.tasks_on(opportunity["Id"]), flash=request.args.get("flash", ""),
        )  # fmt: skip

    def tasks_on(self, record_id: str) -> list[dict]:
        """The record's activity: its tasks, newest first."""
        tasks = [t for t in self.records.all(sobject("Task")) if t["WhatId"] == record_id]
        return sorted(tasks, key=lambda task: task["CreatedDate"], reverse=True)

    def on_page_close_won(self, request: Request, record_id: str) -> Response:
        """The button a sales rep presses; fires the Outbound Message like an API update."""
        opportunity_obj = sobject("Opportunity")
        try:
            opportunity = self.records.existing(opportunity_obj, record_id)
            self.records.update(opportunity_obj, record_id, {"StageName": "Closed Won"})
        except ApiError as error:
            return redirect("/?" + urlencode({"flash": f"Not updated: {error.message}"}), 303)
        flash = f"{opportunity['Name']} is now Closed Won."
        return redirect(f"{request.form.get('back') or '/'}?{urlencode({'flash': flash})}", 303)

    def on_page_orders(self, request: Request) -> Response:
        accounts = {a["Id"]: a["Name"] for a in self.records.all(sobject("Account"))}
        return self.render(
            "salesforce_orders.html", orders=self.records.all(sobject("Order")),
            accounts=accounts, flash=request.args.get("flash", ""),
        )  # fmt: skip

    def on_page_order(self, request: Request, record_id: str) -> Response:
        try:
            order = self.records.existing(sobject("Order"), record_id)
        except ApiError:
            return self.render(
                "salesforce_missing.html", status=404, record_id=record_id, noun="order"
            )
        products = {p["Id"]: p for p in self.records.all(sobject("Product2"))}
        items = [
            {**item, "product": products.get(item["Product2Id"], {})}
            for item in self.records.all(sobject("OrderItem")) if item["OrderId"] == order["Id"]
        ]  # fmt: skip
        return self.render(
            "salesforce_order.html", order=order, items=items,
            account=self.records.get(sobject("Account"), order["AccountId"]),
            tasks=self.tasks_on(order["Id"]), flash=request.args.get("flash", ""),
        )  # fmt: skip

    def on_page_activate(self, request: Request, record_id: str) -> Response:
        """The button a sales rep presses once the order is complete: Draft → Activated, a
        change like an API update (polled by SystemModstamp, in its change events, and its
        Outbound Message sent)."""
        back = request.form.get("back") or "/orders"
        try:
            self.records.update(sobject("Order"), record_id, {"Status": "Activated"})
            order = self.records.existing(sobject("Order"), record_id)
            flash = f"Order {order['OrderNumber']} is activated."
        except ApiError as error:
            flash = f"Not activated: {error.message}"
        return redirect(f"{back}?{urlencode({'flash': flash})}", 303)

    def on_page_outbound(self, request: Request) -> Response:
        return self.render(
            "salesforce_outbound.html", messages=self.outbound.messages(),
            endpoint_url=self.outbound.endpoint_url, flash=request.args.get("flash", ""),
        )  # fmt: skip

    def on_page_retry(self, request: Request, message_id: str) -> Response:
        self.outbound.retry_now(message_id)
        return redirect("/outbound?" + urlencode({"flash": f"Retrying {message_id} now."}), 303)

    def on_page_authorize(self, request: Request) -> Response:
        """Authorization-code flow: a consent page whose Allow button redirects with a code."""
        params = request.values
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != auth.CLIENT_ID or params.get("response_type") != "code":
            error = "Unknown client_id, or response_type is not 'code'."
            return self.render("salesforce_authorize.html", status=400, params=params, error=error)
        if request.method == "GET":
            return self.render("salesforce_authorize.html", params=params, error="")
        query = {"code": self.oauth.new_authorization_code(redirect_uri)}
        if params.get("state"):
            query["state"] = params["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{separator}{urlencode(query)}", 302)
