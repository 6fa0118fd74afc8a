"""Streak webhook deliveries, parsed into small events the inbox can store and de-duplicate.

Streak POSTs a JSON array of the affected objects (boxes, comments, tasks, contacts...) with no
event name in it, so each webhook is registered with its own target URL carrying
`?event=<EVENT>` (`url_for_event`); the webhook endpoint passes that event to `parse_webhook`.
The event's `dedupe_key` is the same for a redelivery of the same change and different for
the next change, because Streak bumps `lastUpdatedTimestamp` on every change.
"""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from connectors.base import Record, WebhookBatch, WebhookEvent
from connectors.errors import MalformedWebhook, NotFound, ValidationError
from connectors.streak.client import SYSTEM

PIPELINE_EVENTS = (
    "BOX_CREATE", "BOX_DELETE", "BOX_EDIT", "BOX_CHANGE_STAGE", "BOX_CHANGE_PIPELINE",
    "BOX_NEW_EMAIL_ADDRESS", "STAGE_CREATE", "COMMENT_CREATE", "MEETING_CREATE",
    "MEETING_UPDATE", "TASK_CREATE", "TASK_COMPLETE", "TASK_DUE",
)  # fmt: skip
TEAM_EVENTS = ("CONTACT_CREATE", "CONTACT_UPDATE", "CONTACT_DELETE", "ORG_CREATE",
               "ORG_UPDATE", "ORG_DELETE")  # fmt: skip
EVENTS = PIPELINE_EVENTS + TEAM_EVENTS
# What a pair asks Streak for: won deals (stage changes) for the won-deal flows, and
# organization changes for customer sync (team-scoped; ORG_UPDATE is unconfirmed).
PAIR_EVENTS = ("BOX_CHANGE_STAGE", "ORG_UPDATE")
# Where an object says when it last changed, by preference.
TIMESTAMP_FIELDS = ("lastUpdatedTimestamp", "lastSavedTimestamp", "timestamp",
                    "lastStatusChangeDate", "creationTimestamp", "creationDate")  # fmt: skip


@dataclass(frozen=True)
class StreakEvent:
    """One object of a delivery: which box (if any) changed, how, and when."""

    event: str
    object_key: str  # the box, comment, task or contact the payload describes
    box_key: str  # "" for team events (contacts, organizations)
    pipeline_key: str
    stage_key: str  # "" for anything but boxes
    last_updated: int  # ms since the epoch, as Streak stamped the object
    payload: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        """Box (or object) + event + timestamp; non-box objects add their own key."""
        parts = [self.box_key or self.object_key, self.event, str(self.last_updated)]
        if self.box_key and self.object_key != self.box_key:
            parts.append(self.object_key)
        return ":".join(parts)


def url_for_event(target_url: str, event: str) -> str:
    """The target URL with `event=<EVENT>` in its query, so a delivery names its event."""
    parts = urlsplit(target_url)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "event"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("event", event)])))


def is_box(item: dict[str, Any]) -> bool:
    return "stageKey" in item and "fields" in item


def _text(item: dict[str, Any], name: str, where: str, required: bool = True) -> str:
    value = item.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value:
        raise MalformedWebhook(f"{where}.{name}", "missing" if value is None else "not a key")
    return value


def _timestamp(item: dict[str, Any], where: str) -> int:
    for name in TIMESTAMP_FIELDS:
        value = item.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedWebhook(
                f"{where}.{name}", f"not milliseconds since the epoch: {value!r}"
            )
        return value
    raise MalformedWebhook(f"{where}.lastUpdatedTimestamp", "missing")


def parse_item(item: Any, event: str, where: str) -> StreakEvent:
    if not isinstance(item, dict):
        raise MalformedWebhook(where, f"expected an object, got {type(item).__name__}")
    key = _text(item, "key", where)
    if is_box(item):
        box_key, stage_key = key, str(item["stageKey"])
        pipeline_key = _text(item, "pipelineKey", where)
    else:
        box_key, stage_key = _text(item, "boxKey", where, required=False), ""
        pipeline_key = _text(item, "pipelineKey", where, required=event in PIPELINE_EVENTS)
    if event.startswith("BOX_") and not is_box(item):
        raise MalformedWebhook(where, f"{event} carries a box, but this has no stageKey/fields")
    return StreakEvent(
        event=event,
        object_key=key,
        box_key=box_key,
        pipeline_key=pipeline_key,
        stage_key=stage_key,
        last_updated=_timestamp(item, where),
        payload=item,
    )


def parse_webhook(body: bytes | str, event: str) -> list[StreakEvent]:
    """The events of one delivery; MalformedWebhook names the field and the reason."""
    if event not in EVENTS:
        raise MalformedWebhook("event", f"{event!r} is not a Streak webhook event")
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedWebhook("body", f"not JSON ({exc})") from None
    if not isinstance(items, list):
        raise MalformedWebhook("body", f"expected a JSON array, got {type(items).__name__}")
    if not items:
        raise MalformedWebhook("body", "the array is empty")
    return [parse_item(item, event, f"[{index}]") for index, item in enumerate(items)]


def webhook_batch(body: bytes, params: dict[str, str]) -> WebhookBatch:
    """A delivery as flows see it: the event name comes from our own URL's `?event=`."""
    events = parse_webhook(body, params.get("event", ""))
    return WebhookBatch(
        events=[
            WebhookEvent(
                kind=event.event,
                entity_key=event.box_key or event.object_key,
                dedupe_key=event.dedupe_key,
                payload={
                    "pipelineKey": event.pipeline_key,
                    "stageKey": event.stage_key,
                    "lastUpdatedTimestamp": event.last_updated,
                    "object": event.payload,
                },
            )
            for event in events
        ],
        reply_body="ok",
    )


class WebhookAdmin:
    """Webhook management, mixed into the connector (which gives `client`, `pipeline_key`,
    `team_key()`): the pair page's Register webhook button calls these."""

    client: Any  # StreakClient
    pipeline_key: str

    def team_key(self) -> str:
        raise NotImplementedError

    @classmethod
    def parse_webhook(cls, body: bytes, params: dict[str, str]) -> WebhookBatch:
        return webhook_batch(body, params)

    def register_webhook(
        self, target_url: str, events: tuple[str, ...] = PAIR_EVENTS, token: str = ""
    ) -> list[Record]:
        """One webhook per event, each to `target_url?event=<EVENT>`; events already
        registered to that URL are kept, not duplicated, so pressing Register twice is safe.
        `token`, if given, comes back in the `X-Streak-Webhook-Token` header."""
        unknown = [e for e in events if e not in PIPELINE_EVENTS + TEAM_EVENTS]
        if unknown:
            raise ValidationError(
                f"Streak has no webhook event {', '.join(unknown)}",
                system=SYSTEM,
                fields={"events": ", ".join(unknown)},
            )
        existing = {(hook["event"], hook["targetUrl"]): hook for hook in self.webhooks()}
        registered = []
        for event in events:
            url = url_for_event(target_url, event)
            hook = existing.get((event, url))
            if hook is None:
                scope = (
                    {"pipelineKey": self.pipeline_key}
                    if event in PIPELINE_EVENTS
                    else {"teamKey": self.team_key()}
                )
                body = {"event": event, "targetUrl": url} | ({"token": token} if token else {})
                hook = self.client.post("/v2/webhooks", body, params=scope)
            registered.append(hook)
        return registered

    def webhooks(self) -> list[Record]:
        """Webhooks on the pipeline and on its team."""
        pipeline = f"/v2/pipelines/{quote(self.pipeline_key, safe='')}/webhooks"
        team = f"/v2/teams/{quote(self.team_key(), safe='')}/webhooks"
        return [*self.client.v2_results(pipeline), *self.client.v2_results(team)]

    def delete_webhook(self, key: str) -> bool:
        """Delete one webhook; False when it was already gone."""
        try:
            self.client.delete(f"/v2/webhooks/{quote(key, safe='')}")
        except NotFound:
            return False
        return True
