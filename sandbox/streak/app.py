"""Streak's REST API (v1 and v2) as a sandbox: the paths, shapes and errors of the reference.

Auth is the API key as the HTTP Basic user (empty password, or the key again). API replies
are `application/json;charset=utf-8` with an `X-Streak-Request-Id`; errors are
`{"success": false, "error": …}`. The rules for changing records live in `records.py`, the
pages in `pages.py`, webhook delivery in `webhooks.py`.
"""

import json
import time
import uuid
from pathlib import Path
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.core.app import SandboxApp, json_response
from sandbox.core.store import DocumentStore
from sandbox.streak import data, seed
from sandbox.streak.pages import StreakPages
from sandbox.streak.protocol import SEARCH_PAGE_SIZE, api_rules, page_of, read_params, v2_list
from sandbox.streak.records import Records, StreakError, not_found, now_ms, pipeline
from sandbox.streak.webhooks import WebhookSender

API_KEY = "sandbox-streak-key"
PIPELINE_EVENTS = {
    "BOX_CREATE", "BOX_DELETE", "BOX_EDIT", "BOX_CHANGE_STAGE", "BOX_CHANGE_PIPELINE",
    "BOX_NEW_EMAIL_ADDRESS", "STAGE_CREATE", "COMMENT_CREATE", "MEETING_CREATE",
    "MEETING_UPDATE", "TASK_CREATE", "TASK_COMPLETE", "TASK_DUE",
}  # fmt: skip
TEAM_EVENTS = {"CONTACT_CREATE", "CONTACT_UPDATE", "CONTACT_DELETE", "ORG_CREATE",
               "ORG_UPDATE", "ORG_DELETE"}  # fmt: skip


def contact_text(contact: dict[str, Any]) -> str:
    """What search matches a contact against: names and email addresses."""
    names = [contact["givenName"], contact["familyName"], *contact["emailAddresses"]]
    return " ".join(names).lower()


class StreakSandbox(StreakPages, SandboxApp):
    name = "streak"
    title = "Streak"
    accent = "#e8590c"
    api_prefixes = ("/api/",)
    template_dir = Path(__file__).parent / "templates"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.store = DocumentStore(self.data_dir / "streak.db")
        self.records = Records(self.store, self.emit)
        self.webhooks = WebhookSender(self.store)
        if self.store.count("boxes") == 0:
            self.reset()

    def routes(self) -> list[Rule]:
        v1 = api_rules("/api/v1", [
            ("/users/me", "user_me", ["GET"]),
            ("/users/<key>", "user", ["GET"]),
            ("/pipelines", "pipelines", ["GET"]),
            ("/pipelines/<pk>", "pipeline", ["GET"]),
            ("/pipelines/<pk>/stages", "stages", ["GET"]),
            ("/pipelines/<pk>/stages/<sk>", "stage", ["GET"]),
            ("/pipelines/<pk>/fields", "fields", ["GET"]),
            ("/pipelines/<pk>/fields/<fk>", "field", ["GET"]),
            ("/pipelines/<pk>/boxes", "pipeline_boxes", ["GET", "PUT"]),
            ("/boxes", "all_boxes", ["GET"]),
            ("/boxes/<bk>", "box", ["GET", "POST", "DELETE"]),
            ("/boxes/<bk>/fields", "box_fields", ["GET"]),
            ("/boxes/<bk>/fields/<fk>", "box_field", ["GET", "POST"]),
            ("/search", "search", ["GET"]),
        ])  # fmt: skip
        v2 = api_rules("/api/v2", [
            ("/users/me/teams", "my_teams", ["GET"]),
            ("/teams/<tk>", "team", ["GET"]),
            ("/pipelines/<pk>/boxes", "create_box", ["POST"]),
            ("/teams/<tk>/contacts", "create_contact", ["POST"]),
            ("/contacts/<key>", "contact", ["GET", "POST", "DELETE"]),
            ("/teams/<tk>/organizations", "create_organization", ["POST"]),
            ("/organizations/<key>", "organization", ["GET", "POST", "DELETE"]),
            ("/boxes/<bk>/comments", "comments", ["GET", "POST"]),
            ("/boxes/<bk>/tasks", "tasks", ["GET", "POST"]),
            ("/tasks/<key>", "task", ["GET", "POST", "DELETE"]),
            ("/webhooks", "create_webhook", ["POST"]),
            ("/pipelines/<scope>/webhooks", "list_webhooks", ["GET"]),
            ("/teams/<scope>/webhooks", "list_webhooks", ["GET"]),
            ("/webhooks/<key>", "webhook", ["GET", "DELETE"]),
        ])  # fmt: skip
        control = [
            Rule("/_control/webhook-settings", endpoint="webhook_settings",
                 methods=["GET", "POST"]),
            Rule("/_control/webhook-deliveries", endpoint="webhook_deliveries", methods=["GET"]),
        ]  # fmt: skip
        return [*v1, *v2, *control, *self.page_routes()]

    def reset(self) -> None:
        self.webhooks.clear()
        with self.store.transaction():
            self.store.clear()
            for collection, documents in seed.seed_documents().items():
                for document in documents:
                    self.store.put(collection, document["key"], document)

    def close(self) -> None:
        self.webhooks.close()

    def describe(self) -> list[str]:
        return [f"data: {self.store.path}; pages at / (boards, boxes, webhook deliveries)"]

    def fault_body(self, kind: str, status: int) -> Response:
        messages = {
            "outage": "Service Unavailable",
            "rate_limited": "Rate limit exceeded, please retry later",
            "error": "Internal Server Error",
            "commit_then_fail": "Internal Server Error",
        }
        return json_response({"success": False, "error": messages[kind]}, status=status)

    # ------------------------------------------------------------ auth, headers, events

    def dispatch(self, request: Request) -> Response:
        if not self.is_api(request.path):
            return super().dispatch(request)
        if not self.authorized(request):
            response = StreakError(401, "Authentication failed", "invalid API key").get_response()
        else:
            response = super().dispatch(request)
        if response.status_code == 405:
            response = StreakError(400, "Invalid API path specified", request.path).get_response()
        response.headers["X-Streak-Request-Id"] = uuid.uuid4().hex
        response.content_type = "application/json;charset=utf-8"
        return response

    @staticmethod
    def authorized(request: Request) -> bool:
        """The key as Basic user; the password empty, or the key again (some tools insist)."""
        auth = request.authorization
        return (
            auth is not None
            and auth.type == "basic"
            and auth.username == API_KEY
            and auth.password in ("", None, API_KEY)
        )

    def not_found(self, request: Request) -> Response:
        if self.is_api(request.path):
            return StreakError(400, "Invalid API path specified", request.path).get_response()
        return super().not_found(request)

    def emit(self, event: str, scope_key: str, box_key: str | None, payload: list[dict]) -> None:
        """Queue a delivery to every webhook of this event registered on the scope."""
        for hook in self.store.all("webhooks"):
            scope = hook.get("pipelineKey") or hook.get("teamKey")
            if hook["event"] == event and scope == scope_key:
                self.webhooks.enqueue(hook, event, box_key, payload)

    def write(self, document: Any) -> Response:
        """The reply of a committed write (commit-then-fail may swallow it)."""
        return self.committed(json_response(document))

    # ------------------------------------------------------------ users, teams, pipelines

    def on_user_me(self, request: Request) -> Response:
        return json_response(data.ME)

    def on_user(self, request: Request, key: str) -> Response:
        for user in data.USERS:
            if user["key"] == key:
                return json_response(user)
        raise not_found(key)

    def on_my_teams(self, request: Request) -> Response:
        return json_response({"results": [data.TEAM]})

    def on_team(self, request: Request, tk: str) -> Response:
        if tk != data.TEAM_KEY:
            raise not_found(tk)
        return json_response(data.TEAM)

    def on_pipelines(self, request: Request) -> Response:
        return json_response(data.PIPELINES)

    def on_pipeline(self, request: Request, pk: str) -> Response:
        return json_response(pipeline(pk))

    def on_stages(self, request: Request, pk: str) -> Response:
        return json_response(pipeline(pk)["stages"])

    def on_stage(self, request: Request, pk: str, sk: str) -> Response:
        stage = pipeline(pk)["stages"].get(sk)
        if stage is None:
            raise not_found(sk)
        return json_response(stage)

    def on_fields(self, request: Request, pk: str) -> Response:
        return json_response(pipeline(pk)["fields"])

    def on_field(self, request: Request, pk: str, fk: str) -> Response:
        for field in pipeline(pk)["fields"]:
            if field["key"] == fk:
                return json_response(field)
        raise not_found(fk)

    # ------------------------------------------------------------ boxes

    def on_pipeline_boxes(self, request: Request, pk: str) -> Response:
        """A bare array; `stageKey` filters, `sortBy` orders newest first, `limit`/`page`
        page (pages start at 1; without `limit` a page holds 1000 boxes)."""
        pipeline(pk)
        if request.method == "PUT":  # legacy v1 create, form `name=`
            return self.write(self.records.create_box(pk, read_params(request)))
        boxes = self.records.boxes(pk)
        if request.args.get("stageKey"):
            boxes = [box for box in boxes if box["stageKey"] == request.args["stageKey"]]
        sort_by = request.args.get("sortBy")
        if sort_by in ("creationTimestamp", "lastUpdatedTimestamp"):
            boxes.sort(key=lambda box: box[sort_by], reverse=True)
        elif sort_by:
            raise StreakError(400, "Invalid sortBy", sort_by)
        return json_response(page_of(boxes, request, SEARCH_PAGE_SIZE)[0])

    def on_all_boxes(self, request: Request) -> Response:
        return json_response(self.records.boxes())

    def on_create_box(self, request: Request, pk: str) -> Response:
        return self.write(self.records.create_box(pk, read_params(request)))

    def on_box(self, request: Request, bk: str) -> Response:
        if request.method == "POST":
            return self.write(self.records.update_box(bk, read_params(request)))
        if request.method == "DELETE":
            self.records.delete_box(bk)
            return self.write({"success": True})
        return json_response(self.records.fetch("boxes", bk))

    def on_box_fields(self, request: Request, bk: str) -> Response:
        box = self.records.fetch("boxes", bk)
        return json_response([{"key": key, "value": value} for key, value in box["fields"].items()])

    def on_box_field(self, request: Request, bk: str, fk: str) -> Response:
        if request.method == "POST":
            params = read_params(request)
            if "value" not in params:
                raise StreakError(400, "Missing parameters", "value")
            return self.write(self.records.set_field(bk, fk, params["value"]))
        box = self.records.fetch("boxes", bk)
        if fk not in {field["key"] for field in pipeline(box["pipelineKey"])["fields"]}:
            raise not_found(fk)
        return json_response({"key": fk, "value": box["fields"].get(fk)})

    def on_search(self, request: Request) -> Response:
        query = request.args.get("query", "").lower()
        exact = request.args.get("name")
        if not query and not exact:
            raise StreakError(400, "Missing parameters", "query or name")
        boxes = [
            box
            for box in self.records.boxes(request.args.get("pipelineKey"))
            if (box["name"] == exact if exact else query in box["name"].lower())
            and box["stageKey"] in (request.args.getlist("stageKey") or [box["stageKey"]])
        ]
        contacts = [
            contact
            for contact in self.store.all("contacts")
            if query and query in contact_text(contact)
        ]
        organizations = [
            org for org in self.store.all("organizations") if query and query in org["name"].lower()
        ]
        page, _ = page_of(boxes, request, SEARCH_PAGE_SIZE)
        return json_response(
            {"results": {"boxes": page, "contacts": contacts, "organizations": organizations}}
        )

    # ------------------------------------------------------------ contacts, organizations

    def check_team(self, tk: str) -> None:
        if tk != data.TEAM_KEY:
            raise StreakError(400, "Invalid API path specified", tk)

    def on_create_contact(self, request: Request, tk: str) -> Response:
        self.check_team(tk)
        params = read_params(request)
        if not params:
            raise StreakError(400, "Insufficient params for TeamContact")
        if_existing = request.args.get("getIfExisting") == "true"
        return self.write(self.records.save_contact(params, if_existing=if_existing))

    def on_contact(self, request: Request, key: str) -> Response:
        return self.team_record(request, "contacts", key, self.records.save_contact)

    def on_create_organization(self, request: Request, tk: str) -> Response:
        self.check_team(tk)
        if_existing = request.args.get("getIfExisting") == "true"
        params = read_params(request)
        return self.write(self.records.save_organization(params, if_existing=if_existing))

    def on_organization(self, request: Request, key: str) -> Response:
        return self.team_record(request, "organizations", key, self.records.save_organization)

    def team_record(self, request: Request, collection: str, key: str, save: Any) -> Response:
        if request.method == "POST":
            return self.write(save(read_params(request), key=key))
        if request.method == "DELETE":
            self.records.fetch(collection, key)
            self.store.delete(collection, key)
            return self.write({"success": True})
        return json_response(self.records.fetch(collection, key))

    # ------------------------------------------------------------ comments, tasks

    def on_comments(self, request: Request, bk: str) -> Response:
        if request.method == "POST":
            return self.write(self.records.add_comment(bk, read_params(request)))
        self.records.fetch("boxes", bk)
        comments = [c for c in self.store.all("comments") if c["boxKey"] == bk]
        return v2_list(comments, request)

    def on_tasks(self, request: Request, bk: str) -> Response:
        if request.method == "POST":
            return self.write(self.records.add_task(bk, read_params(request)))
        self.records.fetch("boxes", bk)
        return v2_list([t for t in self.store.all("tasks") if t["boxKey"] == bk], request)

    def on_task(self, request: Request, key: str) -> Response:
        if request.method == "POST":
            return self.write(self.records.update_task(key, read_params(request)))
        task = self.records.fetch("tasks", key)
        if request.method == "DELETE":
            self.store.delete("tasks", key)
            return self.write({"success": True})
        return json_response(task)

    # ------------------------------------------------------------ webhooks

    def on_create_webhook(self, request: Request) -> Response:
        """`?pipelineKey=` or `?teamKey=` (or the same in the body), JSON event + targetUrl."""
        params = read_params(request)
        pipeline_key = request.args.get("pipelineKey") or params.get("pipelineKey")
        team_key = request.args.get("teamKey") or params.get("teamKey")
        event, target_url = params.get("event"), params.get("targetUrl")
        if pipeline_key:
            pipeline(pipeline_key)
            allowed, scope = PIPELINE_EVENTS, {"pipelineKey": pipeline_key}
        elif team_key:
            self.check_team(team_key)
            allowed, scope = TEAM_EVENTS, {"teamKey": team_key}
        else:
            raise StreakError(400, "Missing parameters", "pipelineKey or teamKey")
        if event not in allowed:
            raise StreakError(400, "Invalid event", str(event))
        if not isinstance(target_url, str) or not target_url.startswith(("https://", "http://")):
            raise StreakError(400, "Invalid targetUrl", str(target_url))
        hook = {
            "key": self.records.next_key("Webhook"),
            "event": event,
            "targetUrl": target_url,
            **scope,
            "creatorKey": data.ME["userKey"],
            "creationTimestamp": now_ms(),
            "token": params.get("token") or "",
        }
        self.store.put("webhooks", hook["key"], hook)
        return self.write(self.public_hook(hook))

    @staticmethod
    def public_hook(hook: dict[str, Any]) -> dict[str, Any]:
        """A webhook as the API shows it: the token is write-only."""
        return {name: value for name, value in hook.items() if name != "token"}

    def on_list_webhooks(self, request: Request, scope: str) -> Response:
        if request.path.startswith("/api/v2/pipelines/"):
            pipeline(scope)
        else:
            self.check_team(scope)
        hooks = [
            self.public_hook(hook)
            for hook in self.store.all("webhooks")
            if scope in (hook.get("pipelineKey"), hook.get("teamKey"))
        ]
        return json_response({"results": hooks})

    def on_webhook(self, request: Request, key: str) -> Response:
        hook = self.records.fetch("webhooks", key)
        if request.method == "DELETE":
            self.store.delete("webhooks", key)
            return self.write({"success": True})
        return json_response(self.public_hook(hook))

    # ------------------------------------------------------------ control

    def on_webhook_settings(self, request: Request) -> Response:
        """GET or POST `{retry_base_seconds, max_attempts, timeout_seconds}`."""
        if request.method == "POST":
            try:
                self.webhooks.settings.update(json.loads(request.get_data() or b"{}"))
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, status=400)
        return json_response(vars(self.webhooks.settings))

    def on_webhook_deliveries(self, request: Request) -> Response:
        """Every delivery attempt so far, oldest first, and how many are still queued."""
        return json_response(
            {
                "deliveries": self.store.all("deliveries"),
                "pending": self.webhooks.pending(),
                "time": int(time.time() * 1000),
            }
        )
