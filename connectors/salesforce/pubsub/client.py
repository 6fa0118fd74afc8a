"""Salesforce's Pub/Sub API over gRPC: the channel, the auth metadata, schemas and one
Subscribe stream with flow control; every gRPC failure turned into the connector errors.

- Channel: TLS (the system's root certificates) to `api.pubsub.salesforce.com:7443`; plain
  text only to a loopback address (`127.0.0.1:` or `localhost:`, the sandbox). The address
  passes the outbound guard (`connectors.outbound.grpc_target`): resolved and checked once,
  the channel pinned to the checked addresses, TLS still verifying the name.
- Auth: every call carries `accesstoken`, `instanceurl` and `tenantid` (the org id) from the
  connection's OAuth token, the one the REST client keeps; a call refused UNAUTHENTICATED is
  sent once more with a new token.
- Flow control: a stream asks for 100 events, then for as many more as each response held,
  once the caller has stored it, so at most 100 are ever owed and none wait unstored.
- Schemas: fetched once per schema id (it changes when the fields do) and decoded with
  fastavro.
- Errors: a refused replay id (trailer `error-code` …replayid.corrupted or …validation.failed)
  is `StreamPositionLost`; …service.unavailable is `RateLimited` for 5 s; UNAUTHENTICATED and
  PERMISSION_DENIED are `AuthError`; an unknown topic is `NotFound`; the rest is transient.
"""

import io
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from fastavro import parse_schema, schemaless_reader

from connectors.errors import (
    AuthError,
    ConnectorError,
    NotFound,
    RateLimited,
    StreamPositionLost,
    TransientError,
)
from connectors.metering import count
from connectors.outbound import grpc_target
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.oauth import SYSTEM, AccessToken
from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from connectors.salesforce.pubsub.pubsub_api_pb2_grpc import PubSubStub

LOOPBACK = ("127.0.0.1:", "localhost:")
BATCH_SIZE = 100  # the most events a subscriber may have outstanding
CALL_TIMEOUT = 30.0  # seconds, for the unary calls
LOOK_EVERY = 0.5  # seconds between a stream's looks at whether it is told to stop
UNAVAILABLE_WAIT = 5.0  # seconds, as Salesforce's samples wait on service.unavailable
POSITION_REFUSED = ("replayid.corrupted", "replayid.validation.failed")
SERVICE_UNAVAILABLE = "service.unavailable"


@dataclass(frozen=True)
class EventSchema:
    """A writer schema as served: its JSON (for bitmap positions) and fastavro's parse."""

    schema: dict[str, Any]
    parsed: Any


def open_channel(address: str) -> grpc.Channel:
    """A channel to the checked addresses of `address`, with the name kept as the
    authority and for TLS (SNI and the certificate)."""
    try:
        target, host = grpc_target(address)
    except ConnectorError as refused:
        refused.system = refused.system or SYSTEM
        raise
    options = [("grpc.default_authority", address)]
    if address.startswith(LOOPBACK):
        return grpc.insecure_channel(target, options=options)
    options.append(("grpc.ssl_target_name_override", host))
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(), options=options)


def trailer_code(error: grpc.RpcError) -> str:
    """Salesforce's own error code, sent as the `error-code` trailer."""
    trailers = error.trailing_metadata() if isinstance(error, grpc.Call) else None
    return next((str(value) for key, value in trailers or () if key == "error-code"), "")


def error_from_rpc(error: grpc.RpcError, what: str) -> ConnectorError:
    """A failed call as the connector error the subscriber acts on."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = error.details() if isinstance(error, grpc.Call) else str(error)
    trailer = trailer_code(error)
    detail = " ".join(part for part in (code.name, trailer, details) if part)
    kwargs: dict[str, Any] = {"system": SYSTEM, "detail": detail}
    if any(refused in trailer for refused in POSITION_REFUSED):
        return StreamPositionLost(
            f"Salesforce no longer has the stored position of {what} (expired or unknown)",
            **kwargs,
        )
    if SERVICE_UNAVAILABLE in trailer:
        return RateLimited(
            f"Salesforce's Pub/Sub service is unavailable for now ({what})",
            retry_after=UNAVAILABLE_WAIT,
            **kwargs,
        )
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return AuthError(f"Salesforce's Pub/Sub API refused the session ({what})", **kwargs)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"Salesforce's Pub/Sub API has no {what}", **kwargs)
    return TransientError(f"Salesforce's Pub/Sub API failed ({what}): {code.name}", **kwargs)


class PubSubClient:
    """One connection's way into the Pub/Sub API, beside its REST client (whose token it
    uses). Not shared between threads."""

    def __init__(self, rest: SalesforceClient, address: str) -> None:
        self.rest = rest
        self.address = address
        self.channel = open_channel(address)
        self.stub = PubSubStub(self.channel)
        self.schemas: dict[str, EventSchema] = {}
        self.access: AccessToken | None = None

    def close(self) -> None:
        self.channel.close()

    # ------------------------------------------------------------ auth

    def metadata(self) -> tuple[tuple[str, str], ...]:
        self.access = self.rest.token()
        return (
            ("accesstoken", self.access.access_token),
            ("instanceurl", self.access.instance_url),
            ("tenantid", self.access.org_id),
        )

    def renew(self) -> None:
        """A new token instead of the one just refused."""
        self.rest.renew(rejected=self.access.access_token if self.access else "")

    def unary(self, method: Any, request: Any, what: str) -> Any:
        """One unary call, sent again with a new token when the token was refused."""
        try:
            return self.call(method, request, what)
        except AuthError:
            self.renew()
        return self.call(method, request, what)

    def call(self, method: Any, request: Any, what: str) -> Any:
        """One unary call, counted for /metrics, its failure as a connector error."""
        try:
            reply = method(request, metadata=self.metadata(), timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            refused = error_from_rpc(error, what)
            count(SYSTEM, refused)
            raise refused from None
        count(SYSTEM)
        return reply

    # ------------------------------------------------------------ topics and schemas

    def topic(self, name: str) -> pb.TopicInfo:
        return self.unary(self.stub.GetTopic, pb.TopicRequest(topic_name=name), f"topic {name}")

    def schema(self, schema_id: str) -> EventSchema:
        if schema_id not in self.schemas:
            request = pb.SchemaRequest(schema_id=schema_id)
            info = self.unary(self.stub.GetSchema, request, f"schema {schema_id}")
            schema = json.loads(info.schema_json)
            self.schemas[schema_id] = EventSchema(schema, parse_schema(schema))
        return self.schemas[schema_id]

    def decode(self, event: pb.ProducerEvent) -> tuple[dict[str, Any], dict[str, Any]]:
        """The event's Avro payload as a dict, and the schema it was written with."""
        schema = self.schema(event.schema_id)
        return schemaless_reader(io.BytesIO(event.payload), schema.parsed), schema.schema

    # ------------------------------------------------------------ subscribe

    def fetch(
        self, topic: str, position: str, stopping: threading.Event
    ) -> Iterator[pb.FetchResponse]:
        """One Subscribe stream from after `position` (hex; "" for the newest event) until
        the server ends it, a failure (raised as a connector error), or `stopping`. Each
        response's events are asked for again only when the caller asks for the next one."""
        first = pb.FetchRequest(
            topic_name=topic,
            replay_preset=pb.ReplayPreset.CUSTOM if position else pb.ReplayPreset.LATEST,
            replay_id=bytes.fromhex(position),
            num_requested=BATCH_SIZE,
        )
        wanted: queue.Queue[pb.FetchRequest] = queue.Queue()
        ended = threading.Event()
        calls: list[grpc.Call] = []

        def requests() -> Iterator[pb.FetchRequest]:
            """gRPC reads this in a thread of its own: the one place that sees a stop."""
            yield first
            while not ended.is_set():
                if stopping.is_set() and calls:
                    calls[0].cancel()
                    return
                try:
                    yield wanted.get(timeout=LOOK_EVERY)
                except queue.Empty:
                    continue

        responses = self.stub.Subscribe(requests(), metadata=self.metadata())
        calls.append(responses)
        try:
            for response in responses:
                yield response
                if response.events:
                    more = pb.FetchRequest(topic_name=topic, num_requested=len(response.events))
                    wanted.put(more)
        except grpc.RpcError as error:
            if stopping.is_set() and responses.code() == grpc.StatusCode.CANCELLED:
                return
            failure = error_from_rpc(error, f"topic {topic}")
            count(SYSTEM, failure)
            raise failure from None
        else:
            count(SYSTEM)
        finally:
            ended.set()
            responses.cancel()
