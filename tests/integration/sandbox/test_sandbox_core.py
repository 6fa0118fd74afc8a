"""The shared sandbox machinery: fault knobs and the control API, seen from a client."""

import pytest
import requests
from werkzeug.routing import Rule

from sandbox.core.app import SandboxApp, json_response
from sandbox.core.faults import FaultSettings
from sandbox.core.server import start
from sandbox.core.store import DocumentStore


class CounterSandbox(SandboxApp):
    """A minimal sandbox: one counter behind a write endpoint."""

    name = "counter"

    def __init__(self, data_dir):
        super().__init__(data_dir)
        self.store = DocumentStore(self.data_dir / "counter.db")
        self.reset()

    def routes(self):
        return [Rule("/api/count", endpoint="count", methods=["GET", "POST"])]

    def reset(self):
        self.store.clear()
        self.store.put("counter", "n", {"value": 0})

    def on_count(self, request):
        if request.method == "POST":
            value = self.store.get("counter", "n")["value"] + 1
            self.store.put("counter", "n", {"value": value})
            return self.committed(json_response({"value": value}, status=201))
        return json_response(self.store.get("counter", "n"))


@pytest.fixture
def counter(tmp_path):
    running = start("counter", CounterSandbox(tmp_path))
    yield running
    running.stop()


def set_faults(url, **knobs):
    reply = requests.post(f"{url}/_control/faults", json=knobs, timeout=5)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_outage_answers_503_on_the_api_but_not_on_control(counter):
    set_faults(counter.url, outage=True)
    assert requests.get(f"{counter.url}/api/count", timeout=5).status_code == 503
    assert requests.get(f"{counter.url}/_control/", timeout=5).json()["faults"]["outage"] is True


def test_rate_limit_carries_retry_after(counter):
    set_faults(counter.url, rate_limit_rate=1.0, retry_after=7)
    reply = requests.get(f"{counter.url}/api/count", timeout=5)
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "7"


def test_seeded_error_rate_is_deterministic(counter):
    def statuses():
        set_faults(counter.url, error_rate=0.5, seed=42)
        return [requests.get(f"{counter.url}/api/count", timeout=5).status_code for _ in range(20)]

    first = statuses()
    assert set(first) == {200, 500}
    assert statuses() == first


def test_commit_then_fail_writes_but_answers_500(counter):
    set_faults(counter.url, commit_then_fail_rate=1.0)
    assert requests.post(f"{counter.url}/api/count", timeout=5).status_code == 500
    requests.delete(f"{counter.url}/_control/faults", timeout=5)
    assert requests.get(f"{counter.url}/api/count", timeout=5).json() == {"value": 1}


def test_commit_then_fail_can_drop_the_connection(counter):
    set_faults(counter.url, commit_then_fail_rate=1.0, drop_connection=True)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{counter.url}/api/count", timeout=5)
    requests.delete(f"{counter.url}/_control/faults", timeout=5)
    assert requests.get(f"{counter.url}/api/count", timeout=5).json() == {"value": 1}


def test_latency_delays_the_reply(counter):
    set_faults(counter.url, latency_ms=300)
    reply = requests.get(f"{counter.url}/api/count", timeout=5)
    assert reply.elapsed.total_seconds() >= 0.3


def test_unknown_knob_is_refused_with_the_known_ones(counter):
    reply = requests.post(f"{counter.url}/_control/faults", json={"lag": 5}, timeout=5)
    assert reply.status_code == 400
    assert "lag" in reply.json()["error"] and "latency_ms" in reply.json()["error"]


def test_reset_restores_seed_data(counter):
    requests.post(f"{counter.url}/api/count", timeout=5)
    requests.post(f"{counter.url}/_control/reset", timeout=5)
    assert requests.get(f"{counter.url}/api/count", timeout=5).json() == {"value": 0}


def test_fault_settings_reject_shares_outside_0_to_1():
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultSettings.from_dict({"error_rate": 2})
