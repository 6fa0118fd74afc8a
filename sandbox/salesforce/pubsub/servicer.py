"""The PubSub gRPC service: auth on every call, GetTopic, GetSchema, Publish, PublishStream and
Subscribe (whose stream lives in `stream.py`)."""

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import grpc

from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from connectors.salesforce.pubsub import pubsub_api_pb2_grpc
from sandbox.salesforce.pubsub.errors import fail
from sandbox.salesforce.pubsub.log import encode_replay_id
from sandbox.salesforce.pubsub.stream import Subscription
from sandbox.salesforce.schema import ORG_ID

if TYPE_CHECKING:
    from sandbox.salesforce.pubsub.service import PubSubService

AUTH_KEYS = ("accesstoken", "instanceurl", "tenantid")


def same_instance(given: str, expected: str) -> bool:
    def normal(url: str) -> str:
        return url.rstrip("/").replace("://localhost", "://127.0.0.1")

    return bool(expected) and normal(given) == normal(expected)


class PubSubServicer(pubsub_api_pb2_grpc.PubSubServicer):
    def __init__(self, service: "PubSubService") -> None:
        self.service = service

    def authenticate(self, context: grpc.ServicerContext, rpc_id: str) -> None:
        """All three metadata keys, a live token of this org's OAuth, its instance and org."""
        metadata = {key: value for key, value in context.invocation_metadata()}
        missing = [key for key in AUTH_KEYS if not metadata.get(key)]
        if missing:
            fail(context, grpc.StatusCode.UNAUTHENTICATED,
                 f"Missing authentication metadata: {', '.join(missing)}.", rpc_id)  # fmt: skip
        if (
            self.service.oauth.session_of_token(str(metadata["accesstoken"])) is None
            or metadata["tenantid"] not in (ORG_ID, ORG_ID[:15])
            or not same_instance(str(metadata["instanceurl"]), self.service.instance_url)
        ):
            message = "The session is invalid or expired, or the org does not match."
            fail(context, grpc.StatusCode.UNAUTHENTICATED, message, rpc_id)

    def GetTopic(self, request: pb.TopicRequest, context: grpc.ServicerContext) -> pb.TopicInfo:
        rpc_id = str(uuid.uuid4())
        self.authenticate(context, rpc_id)
        topic = self.service.registry.topic(request.topic_name)
        if topic is None:
            fail(context, grpc.StatusCode.NOT_FOUND,
                 f"Topic not found: {request.topic_name}.", rpc_id)  # fmt: skip
        return pb.TopicInfo(
            topic_name=topic.name, tenant_guid=ORG_ID, can_publish=topic.can_publish,
            can_subscribe=True, schema_id=self.service.registry.current(topic.name).schema_id,
            rpc_id=rpc_id,
        )  # fmt: skip

    def GetSchema(self, request: pb.SchemaRequest, context: grpc.ServicerContext) -> pb.SchemaInfo:
        rpc_id = str(uuid.uuid4())
        self.authenticate(context, rpc_id)
        schema = self.service.registry.schema(request.schema_id)
        if schema is None:
            fail(context, grpc.StatusCode.NOT_FOUND,
                 f"Schema not found: {request.schema_id}.", rpc_id)  # fmt: skip
        return pb.SchemaInfo(
            schema_json=schema.schema_json, schema_id=schema.schema_id, rpc_id=rpc_id
        )

    def Publish(
        self, request: pb.PublishRequest, context: grpc.ServicerContext
    ) -> pb.PublishResponse:
        rpc_id = str(uuid.uuid4())
        self.authenticate(context, rpc_id)
        return self.publish(request, context, rpc_id)

    def PublishStream(
        self, request_iterator: Iterator[pb.PublishRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.PublishResponse]:
        rpc_id = str(uuid.uuid4())
        self.authenticate(context, rpc_id)
        for request in request_iterator:
            yield self.publish(request, context, rpc_id)

    def publish(
        self, request: pb.PublishRequest, context: grpc.ServicerContext, rpc_id: str
    ) -> pb.PublishResponse:
        """Each event logged as sent (Avro is not validated) or refused with its own error."""
        topic = self.service.registry.topic(request.topic_name)
        if topic is None:
            fail(context, grpc.StatusCode.NOT_FOUND,
                 f"Topic not found: {request.topic_name}.", rpc_id)  # fmt: skip
        if not topic.can_publish:
            fail(context, grpc.StatusCode.PERMISSION_DENIED,
                 f"Publishing is not allowed on {topic.name}.", rpc_id)  # fmt: skip
        current = self.service.registry.current(topic.name)
        results = []
        for event in request.events:
            if self.service.registry.schema(event.schema_id) is None:
                results.append(pb.PublishResult(
                    error=pb.Error(code=pb.PUBLISH, msg=f"Unknown schema id {event.schema_id}."),
                    correlation_key=event.id,
                ))  # fmt: skip
                continue
            replay_id = self.service.log.append(
                topic.name, event.id or str(uuid.uuid4()), event.schema_id, event.payload
            )
            results.append(pb.PublishResult(
                replay_id=encode_replay_id(replay_id), correlation_key=event.id
            ))  # fmt: skip
        return pb.PublishResponse(results=results, schema_id=current.schema_id, rpc_id=rpc_id)

    def Subscribe(
        self, request_iterator: Iterator[pb.FetchRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.FetchResponse]:
        rpc_id = str(uuid.uuid4())
        self.authenticate(context, rpc_id)
        yield from Subscription(self.service, request_iterator, context, rpc_id).run()
