"""What a person sees of Streak: a board per pipeline, a box's detail, an organization's
detail with an edit form, webhook deliveries.

Moving a box on a page goes through `Records.update_box`, exactly like the API, so it fires
the same BOX_CHANGE_STAGE webhook; saving an organization goes through
`Records.save_organization` and fires the team's ORG_UPDATE. Forms POST and redirect; no
JavaScript.
"""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from sandbox.streak import data
from sandbox.streak.records import StreakError, pipeline


def display_value(field: dict[str, Any], value: Any) -> str:
    """A field value as Streak's UI shows it: dropdown names, dates as days."""
    if value is None:
        return ""
    if field["type"] == "DROPDOWN":
        names = {item["key"]: item["name"] for item in field["dropdownSettings"]["items"]}
        return names.get(value, value)
    if field["type"] == "DATE":
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d")
    return str(value)


def card_line(board: dict[str, Any], box: dict[str, Any]) -> str:
    """The line under a box's name on the board: deal ID, amount and currency."""
    fields = {field["key"]: field for field in board["fields"]}
    shown = [
        display_value(fields[key], box["fields"].get(key))
        for key in (data.FIELD_DEAL_ID, data.FIELD_AMOUNT, data.FIELD_CURRENCY)
    ]
    return " · ".join(filter(None, [shown[0], " ".join(filter(None, shown[1:]))]))


class StreakPages:
    """Page handlers, mixed into `StreakSandbox` (which provides records, store, render)."""

    nav_pipelines = data.PIPELINES
    team_name = data.TEAM_NAME

    def page_routes(self) -> list[Rule]:
        return [
            Rule("/", endpoint="page_index", methods=["GET"]),
            Rule("/pipelines/<pk>", endpoint="page_board", methods=["GET"]),
            Rule("/boxes/<bk>", endpoint="page_box", methods=["GET"]),
            Rule("/boxes/<bk>/stage", endpoint="page_move_box", methods=["POST"]),
            Rule("/organizations/<key>", endpoint="page_organization", methods=["GET"]),
            Rule("/organizations/<key>", endpoint="page_save_organization", methods=["POST"]),
            Rule("/webhooks", endpoint="page_webhooks", methods=["GET"]),
        ]

    def on_page_index(self, request: Request) -> Response:
        counts = {p["key"]: len(self.records.boxes(p["key"])) for p in data.PIPELINES}
        return self.render("streak_index.html", pipelines=data.PIPELINES, counts=counts)

    def on_page_board(self, request: Request, pk: str) -> Response:
        try:
            board = pipeline(pk)
        except StreakError:
            return self.render("streak_missing.html", status=404, key=pk)
        boxes = self.records.boxes(pk)
        columns = [
            (
                board["stages"][key],
                [(box, card_line(board, box)) for box in boxes if box["stageKey"] == key],
            )
            for key in board["stageOrder"]
        ]
        return self.render(
            "streak_board.html", pipeline=board, columns=columns, moved=request.args.get("moved")
        )

    def on_page_box(self, request: Request, bk: str) -> Response:
        box = self.store.get("boxes", bk)
        if box is None:
            return self.render("streak_missing.html", status=404, key=bk)
        board = pipeline(box["pipelineKey"])
        rows = [
            (field["name"], display_value(field, box["fields"].get(field["key"])))
            for field in board["fields"]
        ]
        return self.render(
            "streak_box.html",
            box=box,
            pipeline=board,
            rows=rows,
            contacts=[self.store.get("contacts", c["key"]) for c in box["contacts"]],
            organizations=[self.store.get("organizations", o["key"]) for o in box["organizations"]],
            comments=[c for c in self.store.all("comments") if c["boxKey"] == bk],
            tasks=[t for t in self.store.all("tasks") if t["boxKey"] == bk],
            moved=request.args.get("moved"),
        )

    def on_page_move_box(self, request: Request, bk: str) -> Response:
        try:
            box = self.records.update_box(bk, {"stageKey": request.form.get("stageKey", "")})
        except StreakError as exc:
            return self.render("streak_missing.html", status=exc.code or 400, key=exc.error)
        target = request.form.get("next", "")
        if not target.startswith("/") or target.startswith("//"):
            target = f"/pipelines/{box['pipelineKey']}"
        stage = pipeline(box["pipelineKey"])["stages"][box["stageKey"]]["name"]
        message = quote(f"{box['name']} moved to {stage}")
        return redirect(f"{target}?moved={message}", code=303)

    def on_page_organization(self, request: Request, key: str) -> Response:
        organization = self.store.get("organizations", key)
        if organization is None:
            return self.render("streak_missing.html", status=404, key=key)
        return self.render(
            "streak_organization.html", organization=organization, saved=request.args.get("saved")
        )

    def on_page_save_organization(self, request: Request, key: str) -> Response:
        """The form's name, first phone number, first address and industry; `other` too."""
        current = self.store.get("organizations", key)
        if current is None:
            return self.render("streak_missing.html", status=404, key=key)
        form = request.form
        changes: dict[str, Any] = {
            "name": form.get("name", current["name"]).strip() or current["name"],
            "industry": form.get("industry", current["industry"]).strip(),
            "other": form.get("other", current["other"]).replace("\r\n", "\n"),
        }
        for name, field in (("phone", "phoneNumbers"), ("address", "addresses")):
            first = form.get(name, "").strip()
            changes[field] = [first, *current[field][1:]] if first else current[field][1:]
        saved = self.records.save_organization(changes, key=key)
        return redirect(f"/organizations/{key}?saved={quote(saved['name'] + ' saved')}", code=303)

    def on_page_webhooks(self, request: Request) -> Response:
        names = {p["key"]: p["name"] for p in data.PIPELINES} | {data.TEAM_KEY: data.TEAM_NAME}
        box_names = {box["key"]: box["name"] for box in self.records.boxes()}
        deliveries = list(reversed(self.store.all("deliveries")))
        for delivery in deliveries:
            delivery["when"] = datetime.fromtimestamp(delivery["time"] / 1000, UTC)
        return self.render(
            "streak_webhooks.html",
            hooks=self.store.all("webhooks"),
            deliveries=deliveries,
            scope_names=names,
            box_names=box_names,
            settings=self.webhooks.settings,
        )
