"""One Subscribe stream: replay position, pull flow control, keepalives, idle close, faults.

The first FetchRequest names the topic and the start (LATEST, EARLIEST, or CUSTOM: after a
replay id); later requests only add to what is owed, capped at 100 outstanding, and may not
name another topic. A reader thread takes the client's requests while the response generator
polls the log, so events written by another thread show up within a poll interval.
"""

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import grpc

from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from sandbox.salesforce.pubsub.errors import REPLAY_ID_CORRUPTED, SERVICE_UNAVAILABLE, fail
from sandbox.salesforce.pubsub.log import LoggedEvent, decode_replay_id, encode_replay_id

if TYPE_CHECKING:
    from sandbox.salesforce.pubsub.service import PubSubService

MAX_OUTSTANDING = 100
POLL_SECONDS = 0.05


class Subscription:
    def __init__(
        self,
        service: "PubSubService",
        requests: Iterator[pb.FetchRequest],
        context: grpc.ServicerContext,
        rpc_id: str,
    ) -> None:
        self.service, self.requests, self.context, self.rpc_id = service, requests, context, rpc_id
        self.log = service.log
        self.topic = ""
        self.cursor = 0
        self.owed = 0
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.refusal = ""  # set by the reader when a later request breaks the rules
        self.cut_after_next_batch = False  # the "redeliver" fault
        context.add_callback(self.wake.set)

    # ------------------------------------------------------------ requests

    def owe(self, num_requested: int) -> None:
        with self.lock:
            self.owed = min(self.owed + max(num_requested, 0), MAX_OUTSTANDING)
        self.wake.set()

    def read_requests(self) -> None:
        """The client's later FetchRequests; ends when it half-closes or the call ends."""
        try:
            for request in self.requests:
                if request.topic_name and request.topic_name != self.topic:
                    self.refusal = (f"A subscription can't change topic: {self.topic} was "
                                    f"subscribed, {request.topic_name} requested.")  # fmt: skip
                    self.wake.set()
                    return
                self.owe(request.num_requested)
        except grpc.RpcError:
            pass  # the call ended under us; the generator sees it through the context

    def start_position(self, first: pb.FetchRequest) -> int:
        """The replay id the stream starts after."""
        if first.replay_preset == pb.EARLIEST:
            return self.log.expired_up_to(self.topic)
        if first.replay_preset != pb.CUSTOM:
            return self.log.tip()
        number = decode_replay_id(first.replay_id)
        if number is None or not self.log.resumable(self.topic, number):
            fail(self.context, grpc.StatusCode.INVALID_ARGUMENT,
                 "The Replay ID validation failed: the replay ID is corrupted, unknown, or "
                 "outside the retention window.", self.rpc_id, REPLAY_ID_CORRUPTED)  # fmt: skip
        return number

    # ------------------------------------------------------------ responses

    def response(self, events: list[LoggedEvent], latest: int) -> pb.FetchResponse:
        return pb.FetchResponse(
            events=[
                pb.ConsumerEvent(
                    event=pb.ProducerEvent(id=e.event_id, schema_id=e.schema_id,
                                           payload=e.payload),
                    replay_id=encode_replay_id(e.replay_id),
                )
                for e in events
            ],
            latest_replay_id=encode_replay_id(latest), rpc_id=self.rpc_id,
            pending_num_requested=self.owed,
        )  # fmt: skip

    def take(self, events: list[LoggedEvent]) -> list[LoggedEvent]:
        """As many of the events as are owed, counted as sent."""
        with self.lock:
            sent = events[: self.owed]
            self.owed -= len(sent)
        return sent

    def run(self) -> Iterator[pb.FetchResponse]:
        first = next(self.requests, None)
        if first is None:
            return
        self.topic = first.topic_name
        if self.service.registry.topic(self.topic) is None:
            fail(self.context, grpc.StatusCode.NOT_FOUND,
                 f"Topic not found: {self.topic}.", self.rpc_id)  # fmt: skip
        self.cursor = self.start_position(first)
        self.owe(first.num_requested)
        threading.Thread(target=self.read_requests, name="pubsub-requests", daemon=True).start()
        duplicates = self.service.take_redelivery(self.topic)
        last_sent = idle_since = time.monotonic()
        while self.context.is_active():
            if self.refusal:
                fail(self.context, grpc.StatusCode.INVALID_ARGUMENT, self.refusal, self.rpc_id)
            if not self.apply_fault():
                return
            knobs = self.service.knobs
            now = time.monotonic()
            batch = self.take(duplicates)
            if batch:
                duplicates = duplicates[len(batch) :]
                last_sent = now
                yield self.response(batch, batch[-1].replay_id)
                continue
            batch = self.take(self.log.after(self.topic, self.cursor, self.owed)) if (
                self.owed) else []  # fmt: skip
            if batch:
                self.cursor = batch[-1].replay_id
                last_sent = now
                yield self.response(batch, self.cursor)
                if self.cut_after_next_batch:
                    self.service.keep_for_redelivery(self.topic, batch)
                    self.context.cancel()
                    return
                continue
            if self.owed:
                idle_since = now
            elif now - idle_since >= knobs.idle_close_seconds:
                return  # owed nothing for too long: Salesforce closes the stream
            if now - last_sent >= knobs.keepalive_seconds:
                last_sent = now
                yield self.response([], self.cursor)
            self.wake.wait(POLL_SECONDS)
            self.wake.clear()

    def apply_fault(self) -> bool:
        """Run the pending fault if this stream takes it; False when the stream must end."""
        fault = self.service.take_fault(self.topic)
        if fault == "unavailable":
            fail(self.context, grpc.StatusCode.UNAVAILABLE,
                 "The service is temporarily unavailable. Try again later.", self.rpc_id,
                 SERVICE_UNAVAILABLE)  # fmt: skip
        if fault == "expire_token":
            self.service.oauth.expire_sessions()
            fail(self.context, grpc.StatusCode.UNAUTHENTICATED,
                 "The session is invalid or expired.", self.rpc_id)  # fmt: skip
        if fault == "reset":
            self.context.cancel()
            return False
        if fault == "redeliver":
            self.cut_after_next_batch = True
        elif fault == "gap":
            self.service.emit_gap(self.topic, "GAP_UPDATE")
        elif fault == "overflow":
            self.service.emit_gap(self.topic, "GAP_OVERFLOW")
        elif fault == "schema_change":
            self.service.registry.bump(self.topic)
        return True
