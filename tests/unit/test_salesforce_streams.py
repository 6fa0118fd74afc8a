"""Which Change Data Capture channels a Salesforce connection is followed on: the subscriber
follows Order change events only when the connection's won deals come from orders, as the
polls read orders only then."""

import pytest

from connectors.models import Connection
from connectors.services import connector_for

pytestmark = pytest.mark.django_db

ADDRESS = "api.pubsub.salesforce.com:7443"


def followed(**settings: str) -> list[str]:
    """The channels `run_subscribers` would follow for a connection with these settings."""
    connection = Connection.objects.create(
        name="Acme Salesforce",
        system="salesforce",
        settings={"login_url": "https://login.salesforce.com", "auth_flow": "client_credentials",
                  "client_id": "client", **settings},
        secrets={"client_secret": "secret"},
    )  # fmt: skip
    return [stream.topic for stream in connector_for(connection).streams()]


@pytest.mark.parametrize(
    ("sources", "channels"),
    [
        ("", ["/data/OpportunityChangeEvent", "/data/AccountChangeEvent"]),
        ("opportunities", ["/data/OpportunityChangeEvent", "/data/AccountChangeEvent"]),
        ("orders", ["/data/OrderChangeEvent", "/data/AccountChangeEvent"]),
        (
            "both",
            ["/data/OpportunityChangeEvent", "/data/OrderChangeEvent", "/data/AccountChangeEvent"],
        ),
    ],
)
def test_order_change_events_are_followed_only_when_won_deals_come_from_orders(sources, channels):
    assert followed(pubsub_address=ADDRESS, won_deal_sources=sources) == channels


def test_the_platform_event_channel_is_followed_whatever_the_won_deals_come_from():
    topics = followed(
        pubsub_address=ADDRESS,
        won_deal_sources="opportunities",
        platform_event_channel="/event/Sage_Order_Request__e",
    )
    assert topics[-1] == "/event/Sage_Order_Request__e"
    assert "/data/OrderChangeEvent" not in topics


def test_a_connection_without_a_pubsub_address_is_followed_on_no_channel():
    assert followed(won_deal_sources="both") == []
