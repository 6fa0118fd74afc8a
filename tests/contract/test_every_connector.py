"""What both roles share, the same tests for every connector (`connector`, see conftest): its
pushed event kinds and change feeds agree with the registry and with the flows that watch
them, and every change a feed reads has a key and a timezone-aware stamp."""

from datetime import UTC, datetime

import pytest

from connectors.base import FeedCursor
from connectors.crm_role import CrmRole
from connectors.erp_role import ErpRole
from connectors.registry import CRM, ERP, SYSTEMS, event_topic
from connectors.roles import Change
from flows.polling import read_feed
from flows.registry import FLOWS

pytestmark = pytest.mark.django_db

LONG_AGO = FeedCursor(datetime(2000, 1, 1, tzinfo=UTC))


def side_of(connector: CrmRole | ErpRole) -> str:
    return CRM if isinstance(connector, CrmRole) else ERP


def test_the_registry_names_the_connector_on_its_role_side(connector):
    system = SYSTEMS[connector.system]
    assert system.connector_class is type(connector)
    assert system.side == side_of(connector)
    assert connector.label and connector.capabilities


def test_each_event_kind_and_feed_is_about_a_topic_a_flow_watches_on_its_side(connector):
    side, system = side_of(connector), SYSTEMS[connector.system]
    watched = {watch.topic for flow in FLOWS.values() for watch in flow.watches
               if watch.side == side}  # fmt: skip
    assert connector.event_kinds or connector.feeds, "nothing would ever start a run"
    for kind, topic in connector.event_kinds.items():
        assert topic in watched, kind
        assert event_topic(kind) == (system, topic)  # no other system claims the kind
    for topic, feeds in connector.feeds.items():
        assert topic in watched and feeds, topic
        for feed in feeds:
            assert feed.entity in connector.entities(), feed
            assert event_topic(feed.kind) == (system, topic)


def test_every_change_a_feed_reads_has_a_key_and_an_aware_stamp(connector):
    feeds = [feed for feeds in connector.feeds.values() for feed in feeds]
    changes: list[Change] = []
    for feed in feeds:
        read, after = read_feed(connector, feed.entity, LONG_AGO)
        assert read, f"the {connector.label} sandbox has no {feed.entity} to read"
        changes += [change for _, change in read]
        assert after.since >= max(change.moment for _, change in read)
    if not feeds:  # a CRM without feeds: its deals, as a catch-up poll would read them
        entity = connector.deal_entity
        changes = [connector.change_of(entity, record) for record in connector.sample(entity, 3)]
    assert changes
    for change in changes:
        assert change.key and change.stamp, change
        assert change.moment.tzinfo is not None and change.moment.utcoffset() is not None
