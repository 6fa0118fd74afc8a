"""The Salesforce connection's push streams: which channels it follows, and a subscription
that outlives dropped streams.

A connection with a `pubsub_address` follows the change events of Account, those of the
deal objects its won deals come from (`won_deal_sources`: Opportunity by default, Order for
"orders", both for "both"; the polls read no other deal object either), and its
`platform_event_channel` when set. A subscription reconnects on its own from the last
position it handed out (the subscriber stores each batch before asking for the
next, so that is the stored one): at once after the server ends a stream, after 5 s when the
service is unavailable, with a new token when the token was refused, and with backoff from
1 s to 60 s after anything else transient. A refused position (`StreamPositionLost`) and
credentials that no new token fixes (`AuthError`) are the subscriber's to handle.
"""

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from connectors.base import WebhookEvent
from connectors.errors import AuthError, NotFound, RateLimited, TransientError
from connectors.records import Stream, StreamBatch
from connectors.salesforce.deals import DEALS, OPPORTUNITY, WON_DEAL_SOURCES
from connectors.salesforce.pubsub.client import PubSubClient
from connectors.salesforce.pubsub.events import (
    CHANGE_TOPICS,
    Reread,
    Translation,
    change_events,
    platform_event,
)
from connectors.salesforce.pubsub.pubsub_api_pb2 import FetchResponse

if TYPE_CHECKING:
    from connectors.salesforce.connector import SalesforceConnector

logger = logging.getLogger(__name__)

# Salesforce keeps change and platform events 72 hours; resuming later than this risks
# finding the position gone, so the subscriber reads such a stretch by polling instead.
KEEPS_FOR = timedelta(hours=70)
FIRST_WAIT, LONGEST_WAIT = 1.0, 60.0  # seconds, the backoff between reconnects


def streams_of(settings: dict) -> list[Stream]:
    """The channels a connection's settings ask for; none without a Pub/Sub address."""
    address = (settings.get("pubsub_address") or "").strip()
    if not address:
        return []
    sources = WON_DEAL_SOURCES.get(settings.get("won_deal_sources") or "", (OPPORTUNITY,))
    found = [
        Stream(topic, entity, KEEPS_FOR, address)
        for entity, topic in CHANGE_TOPICS.items()
        if entity in sources or entity not in DEALS
    ]
    channel = (settings.get("platform_event_channel") or "").strip()
    if channel:
        found.append(Stream(channel, "", KEEPS_FOR, address))
    return found


def subscription(
    connector: "SalesforceConnector", topic: str, position: str, stopping: threading.Event
) -> Iterator[StreamBatch]:
    """The topic's batches from after `position` until `stopping` is set; see the module
    docstring for what it survives."""
    client = PubSubClient(connector.client, connector.settings["pubsub_address"].strip())
    wait = FIRST_WAIT
    renewed = False  # a new token was tried since the last response
    try:
        while not stopping.is_set():
            try:
                for response in client.fetch(topic, position, stopping):
                    batch = batch_of(connector, client, topic, response)
                    yield batch
                    position = batch.position or position
                    wait, renewed = FIRST_WAIT, False
                continue  # the server ended the stream: resume at once
            except AuthError:
                if renewed:
                    raise
                client.renew()
                renewed = True
                continue
            except RateLimited as exc:
                logger.info("Pub/Sub %s: %s; again in %s s", topic, exc, exc.retry_after)
                stopping.wait(exc.retry_after)
            except TransientError as exc:
                logger.warning("Pub/Sub %s: %s (%s); again in %s s", topic, exc, exc.detail, wait)
                stopping.wait(wait)
                wait = min(wait * 2, LONGEST_WAIT)
    finally:
        client.close()


def batch_of(
    connector: "SalesforceConnector", client: PubSubClient, topic: str, response: FetchResponse
) -> StreamBatch:
    """A response as a batch: its events decoded and translated, the records they name read,
    and the position to store with them. A keepalive's position is kept only when events
    were owed (so none was left undelivered before it)."""
    translation = Translation()
    for consumed in response.events:
        decoded, schema = client.decode(consumed.event)
        replay_id = consumed.replay_id.hex()
        if topic.startswith("/data/"):
            translation.extend(change_events(decoded, schema, replay_id))
        else:
            translation.extend(platform_event(topic, decoded, consumed.event.id, replay_id))
    events = [
        read_record(connector, item) if isinstance(item, Reread) else item
        for item in translation.events
    ]
    if response.events:
        position = response.events[-1].replay_id.hex()
    elif response.pending_num_requested > 0:
        position = response.latest_replay_id.hex()
    else:
        position = ""
    return StreamBatch(events, position, translation.resyncs)


def read_record(connector: "SalesforceConnector", reread: Reread) -> WebhookEvent:
    """The event with its record as Salesforce has it now (none when deleted since)."""
    try:
        return reread.with_record(connector.get(reread.entity, reread.record_id))
    except NotFound:
        return reread.with_record(None)
