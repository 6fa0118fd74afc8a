"""Run a sandbox's WSGI app on a real socket in a background thread."""

import ssl
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without a log line per request."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class RunningSandbox:
    name: str
    app: Any
    server: BaseWSGIServer
    thread: threading.Thread
    scheme: str

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        close = getattr(self.app, "close", None)
        if close:
            close()


def start(
    name: str,
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
) -> RunningSandbox:
    """Bind (port 0 picks a free one) and serve in a daemon thread."""
    server = make_server(
        host, port, app, threaded=True, request_handler=QuietHandler, ssl_context=ssl_context
    )
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{name}", daemon=True)
    thread.start()
    scheme = "https" if ssl_context else "http"
    running = RunningSandbox(name, app, server, thread, scheme)
    if hasattr(app, "started"):
        app.started(running.url)
    return running
