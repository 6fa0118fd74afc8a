"""The base of the on-premises Sage sandboxes (Sage 100, Sage 50 US desktop): the company
in a SQLite file, `<data_dir>/<name>.db`, which clients read through ODBC with Sage's own
table names, and the Clarity agent under /v1/ (the fault-injected API paths) over the
product's sandbox backend. The pages at the root write through that same backend, so a
form follows the same rules as the agent and says what Sage said.
"""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from agent import protocol
from agent.api import ProductApi
from agent.backend import AgentBackend, Refused
from agent.server import WRITE_METHODS, AgentApp, error_response
from sandbox.core.app import SandboxApp
from sandbox.core.company import Table, written_by_another_schema

# The agent's replies to the other injected faults; an outage names the product.
AGENT_FAULTS = {
    "rate_limited": ("rate_limited", "Too many requests; retry after the Retry-After delay."),
    "error": ("internal_error", "The agent failed before doing anything."),
    "commit_then_fail": ("internal_error", "The agent failed while sending the reply."),
}


def page_messages(request: Request) -> dict[str, str]:
    """What the last form write said (`form_write` redirects with it)."""
    return {"flash": request.args.get("flash", ""), "error": request.args.get("error", "")}


class AgentSandbox(SandboxApp):
    api_prefixes = ("/v1/",)
    agent_key = ""  # the key the agent is started with
    unreachable = ""  # the outage fault's message: why the agent cannot reach Sage
    backend_class: Callable[[Path], AgentBackend]  # the product's sandbox backend on a file
    tables: Iterable[Table]  # the company file's tables, as `seed` writes them
    api_class: type[ProductApi]

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.db_path = self.data_dir / f"{self.name}.db"
        if not self.db_path.exists() or written_by_another_schema(self.db_path, self.tables):
            self.seed()
        self.backend = self.backend_class(self.db_path)
        self.agent = AgentApp(
            self.api_class(self.backend),
            self.agent_key,
            self.data_dir / f"{self.name}-agent-idempotency.db",
        )

    def seed(self) -> None:
        """Write the seed company to `db_path`, replacing what is there."""
        raise NotImplementedError

    @property
    def odbc_connection_string(self) -> str:
        return f"DRIVER={{SQLite3}};Database={self.db_path}"

    def routes(self) -> list[Rule]:
        methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
        return [Rule("/v1/<path:rest>", endpoint="agent", methods=methods)]

    def reset(self) -> None:
        self.seed()
        self.agent.idempotency.clear()

    def fault_body(self, kind: str, status: int) -> Response:
        code, message = {"outage": ("unavailable", self.unreachable), **AGENT_FAULTS}[kind]
        return error_response(code, message, status)

    def describe(self) -> list[str]:
        return [f"ODBC: {self.odbc_connection_string}"]

    def on_agent(self, request: Request, rest: str) -> Response:
        """The agent as is; a write it committed may still fail on the way back (the
        commit-then-fail knob), and a retry with the same Idempotency-Key then gets the
        first reply from the agent's memory."""
        response = self.agent.handle(request)
        replayed = response.headers.get(protocol.REPLAYED_HEADER) == "true"
        if request.method in WRITE_METHODS and response.status_code < 400 and not replayed:
            return self.committed(response)
        return response

    def form_write(self, write: Callable[[], Any], back_to: str, done: str) -> Response:
        """Run a page form's write; redirect back with what happened (Sage's error if any)."""
        try:
            write()
        except Refused as exc:
            return redirect(f"{back_to}?{urlencode({'error': exc.message})}", code=303)
        return redirect(f"{back_to}?{urlencode({'flash': done})}", code=303)
