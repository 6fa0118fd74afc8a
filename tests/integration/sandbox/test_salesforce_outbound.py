"""Outbound Messages to a local SOAP receiver, and the pages a person uses (Closed Won)."""

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.sandbox.salesforce_client import connect, control, https_session

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
    "</notificationsResponse></soapenv:Body></soapenv:Envelope>"
)


class Receiver:
    """A tiny SOAP endpoint that fails its first `failures` deliveries, then acknowledges."""

    def __init__(self, failures: int) -> None:
        self.failures, self.bodies, self.headers = failures, [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(
                    self.rfile.read(int(self.headers["Content-Length"])).decode()
                )
                receiver.headers.append(dict(self.headers))
                if len(receiver.bodies) <= receiver.failures:
                    status, reply = (500, "boom") if len(receiver.bodies) == 1 else (200, "<x/>")
                else:
                    status, reply = 200, ACK
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.end_headers()
                self.wfile.write(reply.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/salesforce/outbound"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(failures=2)
    yield running
    running.server.shutdown()
    running.server.server_close()


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def open_opportunity(sf) -> dict:
    return sf.query("SELECT Id, Name FROM Opportunity WHERE IsClosed = false "
                    "ORDER BY Name LIMIT 1")["records"][0]  # fmt: skip


def test_closed_won_sends_an_outbound_message_retried_until_ack(salesforce_sandbox, receiver):
    control(salesforce_sandbox, "settings",
            {"outbound_url": receiver.url, "outbound_retry_base_seconds": 0.05})  # fmt: skip
    sf = connect(salesforce_sandbox)
    deal = open_opportunity(sf)
    sf.Opportunity.update(deal["Id"], {"Amount": 10})  # not a stage change: no message
    sf.Opportunity.update(deal["Id"], {"StageName": "Closed Won"})
    wait_for(lambda: len(receiver.bodies) == 3)
    time.sleep(0.3)
    assert len(receiver.bodies) == 3  # acknowledged: no further tries
    body = receiver.bodies[-1]
    assert '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">' in body
    assert f"<sf:Id>{deal['Id']}</sf:Id>" in body
    assert "<sf:StageName>Closed Won</sf:StageName>" in body
    assert re.search(r"<OrganizationId>00D\w{15}</OrganizationId>", body)
    assert receiver.headers[0]["Content-Type"].startswith("text/xml")
    log = https_session(salesforce_sandbox).get(f"{salesforce_sandbox.url}/outbound").text
    assert "delivered" in log and deal["Id"] in log
    sf.Opportunity.update(deal["Id"], {"Description": "still won"})
    time.sleep(0.3)
    assert len(receiver.bodies) == 3


def test_pages_list_opportunities_and_mark_closed_won(salesforce_sandbox, receiver):
    control(salesforce_sandbox, "settings",
            {"outbound_url": receiver.url, "outbound_retry_base_seconds": 0.05})  # fmt: skip
    sf = connect(salesforce_sandbox)
    deal = open_opportunity(sf)
    http = https_session(salesforce_sandbox)
    listing = http.get(f"{salesforce_sandbox.url}/")
    assert listing.status_code == 200
    assert deal["Name"].replace("&", "&amp;") in listing.text and "Mark Closed Won" in listing.text
    detail = http.get(f"{salesforce_sandbox.url}/opportunities/{deal['Id']}")
    codes = [line["ProductCode"] for line in sf.query(
        f"SELECT ProductCode FROM OpportunityLineItem WHERE OpportunityId = '{deal['Id']}'"
    )["records"]]  # fmt: skip
    assert codes and all(code in detail.text for code in codes)

    pressed = http.post(f"{salesforce_sandbox.url}/opportunities/{deal['Id']}/close-won",
                        allow_redirects=False)  # fmt: skip
    assert pressed.status_code == 303
    after = http.get(f"{salesforce_sandbox.url}{pressed.headers['Location']}")
    assert "is now Closed Won" in after.text
    assert sf.Opportunity.get(deal["Id"])["StageName"] == "Closed Won"
    wait_for(lambda: len(receiver.bodies) == 3)
