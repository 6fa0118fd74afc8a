"""Outbound Messages: recorded SOAP bodies parsed into notifications, malformed ones refused,
and the Ack reply accepted by the sandbox's live sender."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.salesforce.webhooks import (
    ACK_CONTENT_TYPE,
    MalformedOutboundMessage,
    Notification,
    ack_response,
    parse_outbound_message,
)
from tests.integration.sandbox.salesforce_client import control

FIXTURES = Path(__file__).parent.parent / "fixtures" / "salesforce"


def test_recorded_message_parses_into_one_notification():
    [notification] = parse_outbound_message((FIXTURES / "outbound_opportunity.xml").read_bytes())
    assert notification.sobject_type == "Opportunity"
    assert notification.record_id == "006Dn0000000001IAA"
    assert notification.organization_id == "00DDn00000SbXc1MAF"
    assert notification.dedupe_key == "00DDn00000SbXc1MAF:04lDn0000000001IAA"
    assert notification.fields["StageName"] == "Closed Won"
    assert notification.fields["Amount"] == "1117.93"
    assert notification.fields["ExternalID__c"] == "CRM-OPP-0001"


def test_batched_message_keeps_order_nil_fields_and_escaped_text():
    body = (FIXTURES / "outbound_batch.xml").read_text()
    first, second = parse_outbound_message(body)
    assert [first.notification_id, second.notification_id] == [
        "04lDn0000000002IAA",
        "04lDn0000000003IAA",
    ]
    assert first.fields["Sage_Order_No__c"] is None and "Sage_Order_No__c" not in second.fields
    assert second.fields["Name"] == "Lumière Hôtels SARL - Linen & Fittings"
    assert second.fields["CurrencyIsoCode"] == "EUR"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ((FIXTURES / "outbound_no_org.xml").read_bytes(), "OrganizationId is missing"),
        (b"<notifications", "not well-formed XML"),
        (b'{"event": "not soap"}', "not well-formed XML"),
        (b"<a><b/></a>", "no soapenv:Body/notifications"),
        (b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "document type declarations"),
    ],
)
def test_malformed_bodies_are_refused_with_the_reason(body, reason):
    with pytest.raises(MalformedOutboundMessage, match=reason) as caught:
        parse_outbound_message(body)
    assert caught.value.message.startswith("Not a Salesforce Outbound Message")


def test_ack_reply_is_soap_with_ack_true_or_false():
    assert "<Ack>true</Ack>" in ack_response()
    assert "<Ack>false</Ack>" in ack_response(ack=False)
    assert ack_response().startswith('<?xml version="1.0" encoding="UTF-8"?>')


class Endpoint:
    """A stand-in for the later webhook view: parse the body, answer with our Ack."""

    def __init__(self) -> None:
        self.received: list[Notification] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.extend(parse_outbound_message(body))
                reply = ack_response().encode()
                self.send_response(200)
                self.send_header("Content-Type", ACK_CONTENT_TYPE)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/salesforce"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    running = Endpoint()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.mark.django_db
def test_sandbox_delivery_is_parsed_and_acknowledged(salesforce_sandbox, connector, endpoint):
    control(salesforce_sandbox, "settings", {"outbound_url": endpoint.url})
    open_deal = connector.search("Opportunity", IsClosed=False)[0]
    connector.update("Opportunity", open_deal["Id"], {"StageName": "Closed Won"}, "won-1")
    outbound = salesforce_sandbox.app.outbound
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all_delivered(outbound.messages()):
        time.sleep(0.05)
    assert all_delivered(outbound.messages()), outbound.messages()
    assert [n.record_id for n in endpoint.received] == [open_deal["Id"]]
    assert endpoint.received[0].fields["StageName"] == "Closed Won"
    control(salesforce_sandbox, "settings", {"outbound_url": ""})


def all_delivered(messages: list[dict]) -> bool:
    return bool(messages) and all(m["status"] == "delivered" for m in messages)
