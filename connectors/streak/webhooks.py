"""Streak webhook deliveries, parsed into small events the inbox can store and de-duplicate.

Streak POSTs a JSON array of the affected objects (boxes, comments, tasks, contacts...) with no
event name in it, so each webhook is registered with its own target URL carrying
`?event=<EVENT>` (`url_for_event`); the webhook endpoint passes that event to `parse_webhook`.
The event's `dedupe_key` is the same for a redelivery of the same change and different for
the next change, because Streak bumps `lastUpdatedTimestamp` on every change.

Streak signs nothing, but sends back in `X-Streak-Webhook-Token` the token a webhook was
registered with. `register_webhook` gives every registration one, and keeps its hash in the
connection's settings (`SENDER_TOKENS`, keyed by the hash of the pair's URL token, so each
pair has its own and the hot path needs neither the secrets nor a query); a delivery to a URL
registered that way must carry it (`screen_webhook`). A box of another pipeline than the
connection's is kept as ignored: only the connection's pipeline makes won deals.
"""

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.conf import settings as django_settings
from django.db import transaction

from clarity.parsers import STRICT_JSON, nested_deeper_than
from connectors.base import Record, SenderRefused, WebhookBatch, WebhookEvent
from connectors.errors import MalformedWebhook, NotFound, ValidationError
from connectors.models import Connection, IntegrationPair, hash_token
from connectors.streak.client import SYSTEM

PIPELINE_EVENTS = (
    "BOX_CREATE", "BOX_DELETE", "BOX_EDIT", "BOX_CHANGE_STAGE", "BOX_CHANGE_PIPELINE",
    "BOX_NEW_EMAIL_ADDRESS", "STAGE_CREATE", "COMMENT_CREATE", "MEETING_CREATE",
    "MEETING_UPDATE", "TASK_CREATE", "TASK_COMPLETE", "TASK_DUE",
)  # fmt: skip
TEAM_EVENTS = ("CONTACT_CREATE", "CONTACT_UPDATE", "CONTACT_DELETE", "ORG_CREATE",
               "ORG_UPDATE", "ORG_DELETE")  # fmt: skip
EVENTS = PIPELINE_EVENTS + TEAM_EVENTS
# What a pair asks Streak for: won deals (stage changes) for the won-deal flows,
# organization changes for customer sync and people's for contact sync (team-scoped;
# ORG_UPDATE is unconfirmed).
PAIR_EVENTS = ("BOX_CHANGE_STAGE", "ORG_UPDATE", "CONTACT_CREATE", "CONTACT_UPDATE")
# Where an object says when it last changed, by preference.
TIMESTAMP_FIELDS = ("lastUpdatedTimestamp", "lastSavedTimestamp", "timestamp",
                    "lastStatusChangeDate", "creationTimestamp", "creationDate")  # fmt: skip
MAX_KEY_LENGTH = 100  # Streak's keys are about 60 characters; two fit a dedupe key's 255
MAX_OBJECTS = 100  # Streak sends one object a delivery; thousands would hold a web worker
TOKEN_HEADER = "X-Streak-Webhook-Token"
# In the connection's settings: {hash of a pair's URL token: hash of its header token}.
SENDER_TOKENS = "webhook_sender_tokens"


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
    if len(value) > MAX_KEY_LENGTH:
        raise MalformedWebhook(f"{where}.{name}", f"longer than {MAX_KEY_LENGTH} characters")
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


def load_json(body: bytes | str) -> Any:
    """The body as JSON no deeper than CLARITY_WEBHOOK_MAX_DEPTH; MalformedWebhook for
    anything else, huge numbers and nesting too deep for the parser's stack included."""
    limit = django_settings.CLARITY_WEBHOOK_MAX_DEPTH
    try:
        text = body.decode(json.detect_encoding(body)) if isinstance(body, bytes) else body
        value = STRICT_JSON.decode(text)
        # No deeper than it has brackets: a usual delivery (about 20) needs no walk.
        too_deep = text.count("[") + text.count("{") > limit and nested_deeper_than(value, limit)
    except RecursionError:
        too_deep = True
    except ValueError as exc:  # not UTF-8, not JSON, or a number out of range
        raise MalformedWebhook("body", f"not JSON ({exc})") from None
    if too_deep:
        raise MalformedWebhook(
            "body", f"nested more than {limit} levels deep (CLARITY_WEBHOOK_MAX_DEPTH)"
        )
    return value


def parse_webhook(body: bytes | str, event: str) -> list[StreakEvent]:
    """The events of one delivery; MalformedWebhook names the field and the reason."""
    if event not in EVENTS:
        raise MalformedWebhook("event", f"{event!r} is not a Streak webhook event")
    items = load_json(body)
    if not isinstance(items, list):
        raise MalformedWebhook("body", f"expected a JSON array, got {type(items).__name__}")
    if not items:
        raise MalformedWebhook("body", "the array is empty")
    if len(items) > MAX_OBJECTS:
        raise MalformedWebhook("body", f"{len(items)} objects; at most {MAX_OBJECTS} are taken")
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


def screened(event: WebhookEvent, pipeline_key: str) -> WebhookEvent:
    """The event, marked ignored when it is about a box of another pipeline: its run would
    read a deal the connection does not follow (and learn that pipeline's stage keys)."""
    pipeline = event.payload.get("pipelineKey") or ""
    if not pipeline or pipeline == pipeline_key:
        return event
    return replace(
        event,
        ignored=f"A box of Streak pipeline {pipeline}, not of the connection's pipeline "
        f"{pipeline_key}: only the connection's pipeline makes won deals.",
    )


class WebhookAdmin:
    """Webhook management, mixed into the connector (which gives `client`, `connection`,
    `pipeline_key`, `team_key()`): the pair page's Register webhook button calls these."""

    client: Any  # StreakClient
    connection: Connection
    settings: dict[str, Any]  # the connection's
    pipeline_key: str

    def team_key(self) -> str:
        raise NotImplementedError

    @classmethod
    def parse_webhook(cls, body: bytes, params: dict[str, str]) -> WebhookBatch:
        return webhook_batch(body, params)

    @classmethod
    def screen_webhook(
        cls,
        batch: WebhookBatch,
        settings: dict[str, Any],
        token_hash: str,
        headers: Mapping[str, str],
    ) -> WebhookBatch:
        """A URL registered with a header token takes no delivery without that token; a
        box of another pipeline is kept as ignored."""
        known = settings.get(SENDER_TOKENS)
        expected = known.get(token_hash) if isinstance(known, dict) else None
        if expected:
            given = headers.get(TOKEN_HEADER) or ""
            if not secrets.compare_digest(hash_token(given), str(expected)):
                raise SenderRefused(
                    f"The {TOKEN_HEADER} header is {'wrong' if given else 'missing'}: "
                    "Streak sends the token this URL was registered with, so the delivery "
                    "did not come from that registration. If Streak's own deliveries are "
                    "refused, register the webhook again from the pair page."
                )
        pipeline_key = settings.get("pipeline_key") or ""
        if not pipeline_key:
            return batch
        return replace(batch, events=[screened(event, pipeline_key) for event in batch.events])

    def register_webhook(
        self, target_url: str, events: tuple[str, ...] = PAIR_EVENTS, token: str = ""
    ) -> list[Record]:
        """One webhook per event, each to `target_url?event=<EVENT>` and each with the
        header token (`token`, or a new random one), which Streak sends back in
        `X-Streak-Webhook-Token`. Streak never shows a token again, so a webhook already
        registered to the URL is replaced, not duplicated: pressing Register twice is safe."""
        unknown = [e for e in events if e not in PIPELINE_EVENTS + TEAM_EVENTS]
        if unknown:
            raise ValidationError(
                f"Streak has no webhook event {', '.join(unknown)}",
                system=SYSTEM,
                fields={"events": ", ".join(unknown)},
            )
        token = token or secrets.token_urlsafe(32)
        self.remember_sender_token(target_url, token)
        existing = {(hook["event"], hook["targetUrl"]): hook for hook in self.webhooks()}
        registered = []
        for event in events:
            url = url_for_event(target_url, event)
            if (event, url) in existing:
                self.delete_webhook(existing[event, url]["key"])
            scope = (
                {"pipelineKey": self.pipeline_key}
                if event in PIPELINE_EVENTS
                else {"teamKey": self.team_key()}
            )
            body = {"event": event, "targetUrl": url, "token": token}
            registered.append(self.client.post("/v2/webhooks", body, params=scope))
        return registered

    def remember_sender_token(self, target_url: str, token: str) -> None:
        """Keep the header token's hash in the connection's settings (under the row's lock:
        other writers keep their own keys there) under the hash of the URL's token (its last
        path segment: `/hooks/<pair>/<token>/`), forgetting those of URL tokens no pair of
        the connection holds any more."""
        url_token = urlsplit(target_url).path.rstrip("/").rpartition("/")[2]
        entry = {hash_token(url_token): hash_token(token)}
        if self.connection.pk is None:
            self.connection.settings = {**(self.connection.settings or {}), SENDER_TOKENS: entry}
        else:
            held = set(
                IntegrationPair.objects.filter(crm_id=self.connection.pk).values_list(
                    "webhook_token_hash", flat=True
                )
            )
            with transaction.atomic():
                row = (
                    Connection.objects.select_for_update()
                    .only("settings")
                    .get(pk=self.connection.pk)
                )
                known = (row.settings or {}).get(SENDER_TOKENS)
                kept = {
                    url_hash: header_hash
                    for url_hash, header_hash in (known.items() if isinstance(known, dict) else ())
                    if url_hash in held
                }
                row.settings = {**(row.settings or {}), SENDER_TOKENS: {**kept, **entry}}
                row.save(update_fields=["settings"])
            self.connection.settings = row.settings
        self.settings = self.connection.settings

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
