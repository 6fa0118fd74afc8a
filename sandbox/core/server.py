"""Run a sandbox's WSGI app on a real socket in a background thread.

The sandboxes keep connections open between requests, as the real APIs do (HTTP/1.1
keep-alive), so that a client's connection reuse and its cost per request are measured as
they would be against them. Werkzeug's development server always answers
`Connection: close`, because after a request it drains whatever the socket holds, which on a
kept connection could be the next request; `KeptConnectionHandler` hands werkzeug a stream
that ends with the request's body instead, and reads what the app left of that body itself.
"""

import contextlib
import io
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

IDLE_SECONDS = 60  # a kept connection with no request this long is closed, as servers do


class RequestBody(io.RawIOBase):
    """The connection's stream, ending where this request's body (Content-Length) ends."""

    def __init__(self, stream: Any, length: int) -> None:
        self.stream, self.left = stream, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            return 0
        data = self.stream.read(min(len(buffer), self.left))
        buffer[: len(data)] = data
        self.left -= len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:  # werkzeug's drain asks for 10 MB at once
        return super().read(size if 0 <= size <= self.left else self.left)

    def readline(self, size: int | None = -1) -> bytes:
        limit = self.left if size is None or size < 0 else min(size, self.left)
        line = self.stream.readline(limit) if limit > 0 else b""
        self.left -= len(line)
        return line

    def finish(self) -> bool:
        """Read what the app left of the body; False if the client went away first."""
        while self.left > 0:
            if not self.read(min(self.left, 65536)):
                return False
        return True


class KeptConnectionHandler(WSGIRequestHandler):
    """Werkzeug's handler, keeping the connection for the next request, without a log line
    per request."""

    timeout = IDLE_SECONDS
    disable_nagle_algorithm = True  # else a reply in two writes waits on a delayed ACK

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.open_connections.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def run_wsgi(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if "Transfer-Encoding" in self.headers or not length.isdigit():
            self.close_connection = True  # a body whose end is not known up front
            super().run_wsgi()
            return
        stream, body = self.rfile, RequestBody(self.rfile, int(length))
        self.rfile = body  # type: ignore[assignment]
        try:
            super().run_wsgi()
        finally:
            self.rfile = stream
        if not body.finish():
            self.close_connection = True

    def send_header(self, keyword: str, value: str) -> None:
        closing = keyword.lower() == "connection" and value.lower() == "close"
        if closing and not self.close_connection:  # werkzeug says it to every request
            return
        super().send_header(keyword, value)

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
        """Stop listening and close the kept connections: a stopped sandbox answers no one."""
        self.server.shutdown()
        self.server.server_close()
        for connection in list(self.server.open_connections):  # type: ignore[attr-defined]
            with contextlib.suppress(OSError):  # closed by the client meanwhile
                connection.shutdown(socket.SHUT_RDWR)
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
        host,
        port,
        app,
        threaded=True,
        request_handler=KeptConnectionHandler,
        ssl_context=ssl_context,
    )
    server.open_connections = set()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{name}", daemon=True)
    thread.start()
    scheme = "https" if ssl_context else "http"
    running = RunningSandbox(name, app, server, thread, scheme)
    if hasattr(app, "started"):
        app.started(running.url)
    return running
