"""The base of every sandbox: routing, JSON replies, pages, faults and the control API.

A sandbox subclasses `SandboxApp`, lists its `Rule`s (endpoint = method name without the
`on_` prefix), and implements `reset()` to restore its deterministic seed data and
`fault_body()` to shape injected errors the way its real system does. Requests under
`api_prefixes` go through the fault knobs; pages and `/_control/` never do.
"""

import json
import socket
import ssl
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.core.faults import Faults, FaultSettings

CORE_TEMPLATES = Path(__file__).parent / "templates"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data, default=str), status=status, headers=headers, mimetype="application/json"
    )


def read_json(request: Request) -> Any:
    """The request body as JSON, or a 400 that says why it is not."""
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except json.JSONDecodeError as exc:
        raise BadJSON(f"Body is not valid JSON: {exc}") from None


class BadJSON(HTTPException):
    code = 400

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        return json_response({"error": self.description}, status=400)


class DroppedConnection(Exception):
    """Raised to close the socket without a reply (commit-then-fail, drop variant)."""


class SandboxApp:
    name: str = "sandbox"
    title: str = "Sandbox"
    api_prefixes: tuple[str, ...] = ("/api/",)
    template_dir: Path | None = None

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.faults = Faults()
        self.base_url = ""
        rules = [
            Rule("/_control/", endpoint="control_index", methods=["GET"]),
            Rule("/_control/reset", endpoint="control_reset", methods=["POST"]),
            Rule("/_control/faults", endpoint="control_faults", methods=["GET", "POST", "DELETE"]),
            *self.routes(),
        ]
        self.url_map = Map(rules, strict_slashes=False)
        loaders = [FileSystemLoader(str(CORE_TEMPLATES))]
        if self.template_dir:
            loaders.insert(0, FileSystemLoader(str(self.template_dir)))
        self.jinja = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape())

    # ------------------------------------------------------------ for subclasses

    def routes(self) -> list[Rule]:
        return []

    def reset(self) -> None:
        """Restore the deterministic seed data."""

    def fault_body(self, kind: str, status: int) -> Response:
        """The reply for an injected fault, shaped like the real system's errors."""
        messages = {
            "outage": "Service unavailable",
            "rate_limited": "Too many requests",
            "error": "Internal server error",
            "commit_then_fail": "Internal server error",
        }
        return json_response({"error": messages[kind]}, status=status)

    def ssl_context(self) -> "ssl.SSLContext | None":
        """A TLS context for sandboxes whose real system is only reachable over https."""
        return None

    def started(self, base_url: str) -> None:
        """Called once the server listens, with its public base URL."""
        self.base_url = base_url

    def describe(self) -> list[str]:
        """Extra lines `run_sandboxes` prints (paths of generated files and such)."""
        return []

    def close(self) -> None:
        """Stop background threads (webhook senders and such)."""

    # ------------------------------------------------------------ helpers

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        html = self.jinja.get_template(template).render(app=self, **context)
        return Response(html, status=status, mimetype="text/html")

    def committed(self, response: Response, environ: dict[str, Any] | None = None) -> Response:
        """Wrap the reply of a write that has committed: commit-then-fail may swallow it."""
        if not self.faults.fail_after_commit():
            return response
        if self.faults.settings.drop_connection:
            raise DroppedConnection
        return self.fault_body("commit_then_fail", 500)

    # ------------------------------------------------------------ control API

    def on_control_index(self, request: Request) -> Response:
        return json_response(
            {
                "sandbox": self.name,
                "title": self.title,
                "faults": self.faults.as_dict(),
                "endpoints": sorted({rule.rule for rule in self.url_map.iter_rules()}),
            }
        )

    def on_control_reset(self, request: Request) -> Response:
        self.reset()
        return json_response({"reset": True})

    def on_control_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.configure(FaultSettings())
        elif request.method == "POST":
            payload = read_json(request) or {}
            try:
                self.faults.configure(FaultSettings.from_dict(payload))
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, status=400)
        return json_response(self.faults.as_dict())

    # ------------------------------------------------------------ WSGI

    def is_api(self, path: str) -> bool:
        return path.startswith(self.api_prefixes)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        if self.is_api(request.path):
            fault = self.faults.before_request()
            if fault == "outage":
                return self.fault_body("outage", 503)
            if fault == "rate_limited":
                response = self.fault_body("rate_limited", 429)
                response.headers["Retry-After"] = str(self.faults.settings.retry_after)
                return response
            if fault == "error":
                return self.fault_body("error", 500)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return self.not_found(request)
        except HTTPException as exc:
            return exc.get_response(request.environ)
        try:
            return getattr(self, f"on_{endpoint}")(request, **values)
        except HTTPException as exc:
            return exc.get_response(request.environ)

    def not_found(self, request: Request) -> Response:
        return json_response({"error": f"No such path: {request.path}"}, status=404)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except DroppedConnection:
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            response = Response(b"", status=500)
        return response(environ, start_response)
