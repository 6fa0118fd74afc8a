"""The Pub/Sub side of the Salesforce sandbox: the log, the topics, change capture, the knobs,
and the gRPC server, started with the sandbox and stopped with it.

Its knobs (`/_control/pubsub`): keepalive and idle-close timers, the clock, and one pending
fault that the next (or current) Subscribe stream takes.
"""

import io
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from fastavro import schemaless_writer

from connectors.salesforce.pubsub import pubsub_api_pb2_grpc
from sandbox.salesforce.auth import OAuth
from sandbox.salesforce.pubsub.capture import CapturingStore, ChangeCapture
from sandbox.salesforce.pubsub.log import Clock, EventLog, LoggedEvent
from sandbox.salesforce.pubsub.servicer import PubSubServicer
from sandbox.salesforce.pubsub.topics import TopicRegistry
from sandbox.salesforce.schema import USER_ID

PORT_ENV = "SANDBOX_SALESFORCE_PUBSUB_PORT"
DEFAULT_PORT = 8445
FAULTS = ("unavailable", "reset", "redeliver", "gap", "overflow", "schema_change",
          "expire_token")  # fmt: skip
DATA_ONLY_FAULTS = ("gap", "overflow")  # change events only; a platform event stream skips them
MAX_STREAMS = 64


@dataclass
class Knobs:
    keepalive_seconds: float = 270.0  # Salesforce sends a keepalive within 270 s
    idle_close_seconds: float = 60.0  # and closes a stream owed nothing for 60 s
    fault: str | None = None
    redelivery: dict[str, list[LoggedEvent]] = field(default_factory=dict)  # by topic


class PubSubService:
    def __init__(self, store: CapturingStore, oauth: OAuth, active: Callable[[], bool]) -> None:
        """`active()` is false while the sandbox seeds its data: seeding emits no events."""
        self.store, self.oauth = store, oauth
        self.clock = Clock()
        self.log = EventLog(store.path, self.clock)
        self.registry = TopicRegistry(self.log.remember_schema, self.log.recall_schema)
        self.capture = ChangeCapture(self.registry, self.log, active)
        store.listener = self.capture.on_write
        self.knobs = Knobs()
        self.lock = threading.Lock()
        self.instance_url = ""
        self.server: grpc.Server | None = None
        self.address: str | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self, instance_url: str, port: int) -> str:
        """Serve on 127.0.0.1:port (0: a free one), insecure like a local stand-in should."""
        self.instance_url = instance_url
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=MAX_STREAMS, thread_name_prefix="pubsub"),
            maximum_concurrent_rpcs=MAX_STREAMS,
        )
        pubsub_api_pb2_grpc.add_PubSubServicer_to_server(PubSubServicer(self), self.server)
        bound = self.server.add_insecure_port(f"127.0.0.1:{port}")
        self.server.start()
        self.address = f"127.0.0.1:{bound}"
        return self.address

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(grace=0.5).wait(timeout=5)
            self.server = None

    def reset(self) -> None:
        """An empty log, shipped schemas, default timers, no fault, the real clock."""
        with self.lock:
            self.knobs = Knobs()
            self.clock.offset = 0.0
        self.log.clear()
        self.registry.reset()

    # ------------------------------------------------------------ knobs

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        known = {"keepalive_seconds", "idle_close_seconds", "fault", "advance_hours"}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        fault = body.get("fault")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"fault must be one of {', '.join(FAULTS)}")
        with self.lock:
            for name in ("keepalive_seconds", "idle_close_seconds"):
                if name in body:
                    seconds = float(body[name])
                    if seconds <= 0:
                        raise ValueError(f"{name} must be positive")
                    setattr(self.knobs, name, seconds)
            if fault is not None:
                self.knobs.fault = fault
            if "advance_hours" in body:
                self.clock.advance(float(body["advance_hours"]))
        return self.state()

    def state(self) -> dict[str, Any]:
        return {
            "address": self.address, "keepalive_seconds": self.knobs.keepalive_seconds,
            "idle_close_seconds": self.knobs.idle_close_seconds, "fault": self.knobs.fault,
            "clock_offset_hours": self.clock.offset / 3600,
            "topics": {name: self.registry.current(name).schema_id
                       for name in self.registry.names()},
        }  # fmt: skip

    def take_fault(self, topic: str) -> str | None:
        """The pending fault, taken once by a stream of this topic."""
        with self.lock:
            fault = self.knobs.fault
            if fault is None or (fault in DATA_ONLY_FAULTS and not topic.startswith("/data/")):
                return None
            self.knobs.fault = None
            return fault

    def keep_for_redelivery(self, topic: str, events: list[LoggedEvent]) -> None:
        with self.lock:
            self.knobs.redelivery[topic] = events

    def take_redelivery(self, topic: str) -> list[LoggedEvent]:
        with self.lock:
            return self.knobs.redelivery.pop(topic, [])

    # ------------------------------------------------------------ events

    def publish(self, topic_name: str, payload: dict[str, Any]) -> int:
        """A platform event from the org (a flow or trigger), written with the topic's schema."""
        topic = self.registry.topic(topic_name)
        if topic is None or not topic.can_publish:
            raise ValueError(f"not a platform event topic: {topic_name}")
        schema = self.registry.current(topic_name)
        values = {"CreatedDate": int(time.time() * 1000), "CreatedById": USER_ID, **payload}
        buffer = io.BytesIO()
        try:
            schemaless_writer(buffer, schema.parsed, values)
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"payload does not fit the schema of {topic_name}: {exc}") from None
        return self.log.append(topic_name, str(uuid.uuid4()), schema.schema_id, buffer.getvalue())

    def emit_gap(self, topic_name: str, change_type: str) -> None:
        """GAP_UPDATE names the entity's most recently changed record; GAP_OVERFLOW none."""
        topic = self.registry.topic(topic_name)
        if topic is None or topic.entity is None:
            return
        record_ids: list[str] = []
        live = [r for r in self.store.all(topic.entity) if not r.get("IsDeleted")]
        if change_type != "GAP_OVERFLOW" and live:
            record_ids = [max(live, key=lambda r: r.get("SystemModstamp") or "")["Id"]]
        self.capture.emit_gap(topic.entity, change_type, record_ids)


def configured_port(http_port: int, http_default: int) -> int:
    """SANDBOX_SALESFORCE_PUBSUB_PORT if set; else 8445 beside a sandbox on its usual port, and
    a free port beside one on a free port (the tests), so parallel test runs never collide."""
    if os.environ.get(PORT_ENV):
        return int(os.environ[PORT_ENV])
    return DEFAULT_PORT if http_port == http_default else 0
