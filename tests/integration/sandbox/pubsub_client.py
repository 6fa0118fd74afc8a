"""A raw Pub/Sub client for tests, built from the generated stubs (not the product's
subscriber): auth metadata, schemas by id, fastavro decoding, bitmap names, and a Subscribe
stream whose requests and responses the test drives one by one."""

import io
import json
import queue
import threading
import time
from collections.abc import Iterator

import grpc
from fastavro import parse_schema, schemaless_reader

from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from connectors.salesforce.pubsub import pubsub_api_pb2_grpc
from sandbox.core.server import RunningSandbox
from sandbox.salesforce.schema import ORG_ID
from tests.integration.sandbox.salesforce_client import client_credentials_token

OPPORTUNITIES = "/data/OpportunityChangeEvent"


class PubSub:
    """A raw client: a channel, the auth metadata, schemas cached by id."""

    def __init__(self, sandbox: RunningSandbox, token: str | None = None) -> None:
        self.sandbox = sandbox
        self.channel = grpc.insecure_channel(sandbox.app.pubsub_address)
        self.stub = pubsub_api_pb2_grpc.PubSubStub(self.channel)
        self.token = token or client_credentials_token(sandbox)
        self.schemas: dict[str, dict] = {}

    @property
    def metadata(self) -> tuple:
        return (("accesstoken", self.token), ("instanceurl", self.sandbox.url),
                ("tenantid", ORG_ID))  # fmt: skip

    def schema(self, schema_id: str) -> dict:
        if schema_id not in self.schemas:
            info = self.stub.GetSchema(pb.SchemaRequest(schema_id=schema_id),
                                       metadata=self.metadata, timeout=5)  # fmt: skip
            self.schemas[schema_id] = json.loads(info.schema_json)
        return self.schemas[schema_id]

    def decode(self, event: pb.ConsumerEvent) -> dict:
        schema = parse_schema(self.schema(event.event.schema_id))
        return schemaless_reader(io.BytesIO(event.event.payload), schema, None)

    def changed(self, event: pb.ConsumerEvent, bitmap: str = "changedFields") -> set[str]:
        """Field names of a header bitmap, `Parent.Child` for the nested `pos-0xNN` form."""
        fields = self.schema(event.event.schema_id)["fields"]
        names = set()
        for element in self.decode(event)["ChangeEventHeader"][bitmap]:
            parent, _, bits = element.rpartition("-")
            scope = fields[int(parent)]["type"][1]["fields"] if parent else fields
            prefix = f"{fields[int(parent)]['name']}." if parent else ""
            value = int(bits, 16)
            names |= {prefix + f["name"] for i, f in enumerate(scope) if value >> i & 1}
        return names

    def subscribe(self, topic: str = OPPORTUNITIES, num_requested: int = 100, **start) -> "Stream":
        return Stream(self, pb.FetchRequest(topic_name=topic, num_requested=num_requested,
                                            **start))  # fmt: skip

    def close(self) -> None:
        self.channel.close()


class Stream:
    """One Subscribe call: requests fed from a queue, responses collected by a thread."""

    def __init__(self, client: PubSub, first: pb.FetchRequest) -> None:
        self.topic = first.topic_name
        self.requests: queue.Queue = queue.Queue()
        self.requests.put(first)
        self.responses: queue.Queue = queue.Queue()
        self.call = client.stub.Subscribe(self._requests(), metadata=client.metadata)
        self.error: grpc.RpcError | None = None
        self.ended = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _requests(self) -> Iterator[pb.FetchRequest]:
        yield from iter(self.requests.get, None)

    def _read(self) -> None:
        try:
            for response in self.call:
                self.responses.put(response)
        except grpc.RpcError as error:
            self.error = error
        finally:
            self.ended.set()

    def ask(self, num_requested: int, topic: str | None = None) -> None:
        self.requests.put(pb.FetchRequest(topic_name=topic or self.topic,
                                          num_requested=num_requested))  # fmt: skip

    def next(self, timeout: float = 5) -> pb.FetchResponse:
        try:
            return self.responses.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no response within {timeout}s; error: {self.error}") from None

    def events(self, count: int, timeout: float = 5) -> list[pb.ConsumerEvent]:
        """The next `count` events, keepalives skipped."""
        found: list[pb.ConsumerEvent] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            found += self.next(max(deadline - time.monotonic(), 0.01)).events
        return found

    def ready(self) -> pb.FetchResponse:
        """The first keepalive: the server has taken the first request and set the start."""
        response = self.next()
        assert not response.events
        return response

    def wait_end(self, timeout: float = 5) -> grpc.RpcError | None:
        assert self.ended.wait(timeout), "the stream is still open"
        return self.error

    def close(self) -> None:
        self.requests.put(None)
        self.call.cancel()
