"""The test knobs of the Pub/Sub API, mixed into the Salesforce sandbox app:

- `POST /_control/pubsub {"keepalive_seconds": 0.2, "idle_close_seconds": 1,
  "fault": "unavailable"|"reset"|"redeliver"|"gap"|"overflow"|"schema_change"|"expire_token",
  "advance_hours": 73}` (any subset; a fault is taken once, by the next or current stream);
  `GET` shows them with the server's address and each topic's schema id.
- `POST /_control/pubsub/publish {"topic": "/event/Sage_Order_Request__e", "payload": {...}}`
  publishes a platform event as the org would (CreatedDate and CreatedById filled in).
"""

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.core.app import json_response, read_json
from sandbox.salesforce.pubsub.log import encode_replay_id
from sandbox.salesforce.pubsub.service import PubSubService


def pubsub_rules() -> list[Rule]:
    return [
        Rule("/_control/pubsub", endpoint="control_pubsub", methods=["GET", "POST"]),
        Rule("/_control/pubsub/publish", endpoint="control_pubsub_publish", methods=["POST"]),
    ]


class PubSubControl:
    pubsub: PubSubService

    def on_control_pubsub(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response(self.pubsub.state())
        body = read_json(request) or {}
        if not isinstance(body, dict):
            return json_response({"error": "the body must be a JSON object"}, status=400)
        try:
            return json_response(self.pubsub.configure(body))
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, status=400)

    def on_control_pubsub_publish(self, request: Request) -> Response:
        body = read_json(request) or {}
        if not isinstance(body, dict) or not isinstance(body.get("payload", {}), dict):
            return json_response({"error": 'expected {"topic": ..., "payload": {...}}'}, 400)
        try:
            replay_id = self.pubsub.publish(str(body.get("topic", "")), body.get("payload", {}))
        except ValueError as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response({"replay_id": encode_replay_id(replay_id).hex()})
