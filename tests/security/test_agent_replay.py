"""Issue 15, item 6: a captured signed request sent to the agent again inside the time window
is refused (401 `replayed`), read or write, and nothing is written twice; the agent forgets
nonces once their timestamps leave the window and holds a bounded number; our client signs
every attempt afresh, so its own repeats and retries are never taken for replays.

A real agent: `AgentApp` served by cheroot (as `python -m agent` serves it) in a thread,
Sage 100's endpoints over the sandbox backend on a seeded company, its clock moved by the
test; requests sent as raw HTTP with `requests`, or through `AgentClient`.
"""

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Thread

import pytest
import requests
from cheroot import wsgi

from agent.backend import BackendUnavailable, Record
from agent.protocol import (
    REPLAYED_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WINDOW_SECONDS,
    sign_request,
    signed_headers,
)
from agent.sage100.api import Sage100Api
from agent.server import AgentApp
from connectors.agent_client import AgentClient
from sandbox.sage100.backend import SandboxBackend
from sandbox.sage100.seed import write_seed

KEY = "replay-test-agent-key"
CUSTOMER = {"ARDivisionNo": "00", "CustomerName": "Replay Valve Co", "UDF_CRM_ID": "crm-77"}


class Clock:
    """The agent's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


class SageStartingUp(SandboxBackend):
    """Sage 100 whose next `unavailable` health checks find no session yet."""

    unavailable = 0

    def health(self) -> Record:
        if self.unavailable:
            self.unavailable -= 1
            raise BackendUnavailable("Sage 100 is still starting.")
        return super().health()


class Agent:
    def __init__(self, url: str, app: AgentApp, backend: SageStartingUp, clock: Clock) -> None:
        self.url, self.app, self.backend, self.clock = url, app, backend, clock

    def signed(self, method: str, path: str, body: bytes, idempotency_key: str = "") -> dict:
        """Headers as a client signs them at the agent's present time."""
        return {
            "Content-Type": "application/json",
            **signed_headers(KEY, method, path, body, idempotency_key, now=self.clock.now),
        }

    def send(self, method: str, path: str, body: bytes, headers: dict) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", data=body, headers=headers, timeout=10)

    def customers_named(self, name: str) -> list[Record]:
        return self.backend.rows("SELECT * FROM AR_Customer WHERE CustomerName = ?", name)

    def client(self) -> AgentClient:
        return AgentClient("sage100", "Sage 100 agent", self.url, KEY, product="Sage 100")


@pytest.fixture
def start_agent(tmp_path) -> Iterator[Callable[..., Agent]]:
    servers: list[tuple[wsgi.Server, Thread]] = []

    def start(max_nonces: int = 1000) -> Agent:
        company = Path(tmp_path / f"sage100-{len(servers)}.db")
        write_seed(company)
        backend, clock = SageStartingUp(company), Clock()
        app = AgentApp(Sage100Api(backend), KEY, tmp_path / f"idem-{len(servers)}.db",
                       max_nonces=max_nonces, clock=clock)  # fmt: skip
        server = wsgi.Server(("127.0.0.1", 0), app)
        server.prepare()
        thread = Thread(target=server.serve, daemon=True)
        thread.start()
        servers.append((server, thread))
        return Agent(f"http://127.0.0.1:{server.bind_addr[1]}", app, backend, clock)

    yield start
    for server, thread in servers:
        server.stop()
        thread.join(5)


@pytest.fixture
def agent(start_agent) -> Agent:
    return start_agent()


def test_a_captured_write_sent_again_is_refused_and_written_once(agent):
    body = json.dumps(CUSTOMER).encode()
    captured = agent.signed("POST", "/v1/customers", body, "deal-77:customer")
    first = agent.send("POST", "/v1/customers", body, captured)
    assert first.status_code == 201, first.text
    agent.clock.now += 60  # a minute later, well inside the window
    replayed = agent.send("POST", "/v1/customers", body, captured)
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "replayed"
    assert "received before" in replayed.json()["error"]["message"]
    assert "customer" not in replayed.json()  # the first reply is not handed out again
    assert len(agent.customers_named("Replay Valve Co")) == 1


def test_a_captured_read_sent_again_is_refused(agent):
    captured = agent.signed("GET", "/v1/health", b"")
    assert agent.send("GET", "/v1/health", b"", captured).status_code == 200
    replayed = agent.send("GET", "/v1/health", b"", captured)
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "replayed"


def test_the_same_request_signed_afresh_passes(agent):
    body = json.dumps(CUSTOMER).encode()
    first = agent.send("POST", "/v1/customers", body,
                       agent.signed("POST", "/v1/customers", body, "deal-77:customer"))  # fmt: skip
    again = agent.send("POST", "/v1/customers", body,
                       agent.signed("POST", "/v1/customers", body, "deal-77:customer"))  # fmt: skip
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers[REPLAYED_HEADER] == "true"  # the idempotent repeat, not a replay
    assert len(agent.customers_named("Replay Valve Co")) == 1


def test_copies_sent_at_once_are_taken_once(agent):
    body = json.dumps(CUSTOMER).encode()
    captured = agent.signed("POST", "/v1/customers", body, "deal-77:customer")
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: agent.send("POST", "/v1/customers", body, captured),
                                range(8)))  # fmt: skip
    assert sorted(reply.status_code for reply in replies) == [201] + [401] * 7
    assert len(agent.customers_named("Replay Valve Co")) == 1


def test_after_the_window_a_copy_is_refused_as_stale_and_its_nonce_forgotten(start_agent):
    agent = start_agent(max_nonces=2)
    captured = [agent.signed("GET", "/v1/health", b"") for _ in range(2)]
    for headers in captured:
        assert agent.send("GET", "/v1/health", b"", headers).status_code == 200
    full = agent.send("GET", "/v1/health", b"", agent.signed("GET", "/v1/health", b""))
    assert full.status_code == 429 and full.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(full.headers["Retry-After"]) <= WINDOW_SECONDS
    agent.clock.now += WINDOW_SECONDS + 1
    stale = agent.send("GET", "/v1/health", b"", captured[0])
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "stale_timestamp"
    fresh = agent.send("GET", "/v1/health", b"", agent.signed("GET", "/v1/health", b""))
    assert fresh.status_code == 200 and len(agent.app.nonces) == 1


def test_a_client_signing_without_a_nonce_is_told_to_update(agent):
    timestamp = str(int(agent.clock.now))
    headers = {  # as clients signed before the replay guard
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign_request(KEY, "GET", "/v1/health", b"", timestamp),
    }
    old = agent.send("GET", "/v1/health", b"", headers)
    assert old.status_code == 400 and old.json()["error"]["code"] == "bad_nonce"
    assert "update Clarity Connect" in old.json()["error"]["message"]


def test_our_client_repeats_a_read_at_once_and_retries_one_under_new_nonces(agent):
    client = agent.client()
    agent.clock.now = time.time()  # the client signs with the real clock
    assert client.health()["status"] == client.health()["status"] == "ok"  # same second
    agent.backend.unavailable = 1  # the first try answers 503; the helper tries again
    assert client.health()["status"] == "ok"
    made, existed = client.create("/v1/customers", "customer", CUSTOMER, "deal-77:customer")
    again, existed_again = client.create("/v1/customers", "customer", CUSTOMER,
                                         "deal-77:customer")  # fmt: skip
    assert (existed, existed_again) == (False, False) and again == made
    assert len(agent.customers_named("Replay Valve Co")) == 1
