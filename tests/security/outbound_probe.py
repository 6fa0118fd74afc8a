"""A stand-in for "whatever an admin's URL reaches": a real HTTP server on 127.0.0.1 that
records every request it gets and answers what the test tells it (a status, a body, a
content type, a redirect). The outbound tests use it to see whether a request, or a secret
in one, left this server, and what a reply's body could show."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core.server import RunningSandbox, start

MARKER = "internal-only-3f9a1c"  # what an internal service's page says; no viewer may see it


@dataclass
class Probe:
    """The answer to give (`status`, `body`, `content_type`, `headers`) and what came in."""

    status: int = 404
    body: str = f"<html><body>Admin console: {MARKER}</body></html>"
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)
    routes: dict[str, tuple[int, Any]] = field(default_factory=dict)  # path -> status, JSON
    seen: list[dict[str, Any]] = field(default_factory=list)
    running: RunningSandbox | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append(
            {
                "method": request.method,
                "path": request.full_path.rstrip("?"),
                "headers": dict(request.headers),
                "body": request.get_data(as_text=True),
            }
        )
        if request.path in self.routes:
            status, data = self.routes[request.path]
            reply = Response(json.dumps(data), status=status, content_type="application/json")
        else:
            reply = Response(self.body, status=self.status, content_type=self.content_type)
            reply.headers.update(self.headers)
        return reply(environ, start_response)

    @property
    def url(self) -> str:
        assert self.running is not None
        return self.running.url

    @property
    def port(self) -> int:
        assert self.running is not None
        return self.running.port

    def heard(self, text: str) -> bool:
        """Some request carried `text` in its path, headers or body."""
        return any(text in json.dumps(request) for request in self.seen)


@contextmanager
def serving() -> Iterator[Probe]:
    """A probe listening on a free port of 127.0.0.1 (allow-listed in tests) until the end."""
    probe = Probe()
    probe.running = start("probe", probe)
    try:
        yield probe
    finally:
        probe.running.stop()
