"""The sandboxes keep a connection open between requests, as the real APIs do, and a
request body the app did not read is not taken for the next request."""

import json
import socket

import pytest
import requests
from werkzeug.routing import Rule

from sandbox.core.app import SandboxApp, json_response
from sandbox.core.server import start


class ConnectionSandbox(SandboxApp):
    """Answers each request with the client's port (which connection it came on); POST
    /ignore leaves its body unread."""

    name = "connections"

    def routes(self):
        return [
            Rule("/port", endpoint="port", methods=["GET", "POST"]),
            Rule("/ignore", endpoint="ignore", methods=["POST"]),
        ]

    def on_port(self, request):
        return json_response(
            {"port": request.environ["REMOTE_PORT"], "body": request.get_data(as_text=True)}
        )

    def on_ignore(self, request):
        return json_response({"read": False})


@pytest.fixture
def sandbox(tmp_path):
    running = start("connections", ConnectionSandbox(tmp_path))
    yield running
    running.stop()


def test_a_session_sends_its_requests_on_one_connection(sandbox):
    session = requests.Session()
    ports = {session.get(f"{sandbox.url}/port", timeout=5).json()["port"] for _ in range(5)}
    ports.add(session.post(f"{sandbox.url}/port", data="x" * 100, timeout=5).json()["port"])
    assert len(ports) == 1
    reply = session.get(f"{sandbox.url}/port", timeout=5)
    assert "close" not in reply.headers.get("Connection", "")


def test_a_body_the_app_left_unread_is_not_read_as_the_next_request(sandbox):
    """Two requests sent back to back on one connection get two answers: werkzeug's drain of
    what the socket holds after a request would eat the second on a kept connection."""
    body = b"GET /port HTTP/1.1\r\n\r\n" * 50
    first = b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    second = b"POST /port HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nthe second"
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(first + second)
        replies = sock.makefile("rb")
        answers = [http_answer(replies) for _ in range(2)]
    assert answers[0] == {"read": False}
    assert answers[1]["body"] == "the second"


def http_answer(stream) -> dict:
    """Read one HTTP/1.1 answer with a Content-Length off the stream; its JSON body."""
    assert stream.readline().startswith(b"HTTP/1.1 200")
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(stream.read(length))


def test_a_client_asking_to_close_gets_its_connection_closed(sandbox):
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(b"GET /port HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):  # ends: the server closed it
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and b"Connection: close" in reply


def test_a_stopped_sandbox_closes_its_kept_connections(tmp_path):
    running = start("connections", ConnectionSandbox(tmp_path))
    session = requests.Session()
    assert session.get(f"{running.url}/port", timeout=5).status_code == 200
    running.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{running.url}/port", timeout=5)
