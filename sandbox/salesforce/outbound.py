"""Outbound Messages: the SOAP notification a workflow rule sends when an Opportunity is
Closed Won or an Order is Activated, retried with exponential backoff until the receiver
answers `<Ack>true</Ack>`. Each object's rule is its own action (ActionId) and sends its own
fields, as the sObject of that type.

The queue lives in the data store (collection `_outbound`), so it is written in the same
transaction as the record's change; a background thread delivers what is due.
"""

import re
import threading
import time
from collections.abc import Callable
from xml.sax.saxutils import escape

import requests

from sandbox.core.store import DocumentStore
from sandbox.salesforce import ids
from sandbox.salesforce.records import Record
from sandbox.salesforce.schema import BY_PREFIX, ORG_ID

QUEUE = "_outbound"
ACTION_IDS = {"Opportunity": "04kDn0000000ClWIAU", "Order": "04kDn0000000ClXIAU"}
SENT_FIELDS = {
    "Opportunity": ("Id", "Name", "AccountId", "Amount", "CloseDate", "StageName",
                    "CurrencyIsoCode", "Sage_Order_No__c", "ExternalID__c", "LastModifiedDate"),
    "Order": ("Id", "Name", "AccountId", "OpportunityId", "OrderNumber", "Status",
              "EffectiveDate", "TotalAmount", "CurrencyIsoCode", "PoNumber", "Sage_Order_No__c",
              "LastModifiedDate"),
}  # fmt: skip
ACK = re.compile(r"<(?:\w+:)?Ack>\s*true\s*</(?:\w+:)?Ack>", re.IGNORECASE)
MAX_GAP_SECONDS = 7200  # Salesforce never waits longer than 2 h between tries
GIVE_UP_SECONDS = 24 * 3600
DEFAULT_RETRY_BASE = 15.0


class OutboundMessenger:
    def __init__(self, store: DocumentStore, record: Callable[[str], Record | None]) -> None:
        self.store = store
        self.record = record  # the record with this Id as it is now, None when gone
        self.base_url = ""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="salesforce-outbound", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ configuration

    @property
    def endpoint_url(self) -> str:
        return self.store.get_meta("outbound_url", "") or ""

    @property
    def retry_base(self) -> float:
        return float(self.store.get_meta("outbound_retry_base", str(DEFAULT_RETRY_BASE)))

    def configure(self, url: str | None = None, retry_base: float | None = None) -> None:
        if url is not None:
            self.store.set_meta("outbound_url", url)
        if retry_base is not None:
            self.store.set_meta("outbound_retry_base", str(float(retry_base)))
        self._wake.set()

    @property
    def enabled(self) -> bool:
        """Whether the workflow rule that sends the messages is active (it is after a reset)."""
        return self.store.get_meta("outbound_enabled", "true") == "true"

    def set_enabled(self, enabled: bool) -> None:
        self.store.set_meta("outbound_enabled", "true" if enabled else "false")

    def messages(self) -> list[dict]:
        return list(reversed(self.store.all(QUEUE)))

    # ------------------------------------------------------------ queue

    def enqueue(self, record_id: str) -> None:
        """Called inside the transaction in which the record met its workflow rule (an
        Opportunity Closed Won, an Order Activated). An Opportunity's message names it under
        `opportunity_id` too, as the log has always done."""
        if not self.enabled:
            return
        number = int(self.store.get_meta("seq:04l", "0")) + 1
        self.store.set_meta("seq:04l", str(number))
        notification_id = ids.make_id("04l", number)
        sobject = BY_PREFIX[record_id[:3]].name
        named = {"opportunity_id": record_id} if sobject == "Opportunity" else {}
        self.store.put(QUEUE, notification_id, {
            "id": notification_id, "sobject": sobject, "record_id": record_id, **named,
            "status": "pending", "attempts": 0, "created_at": time.time(),
            "next_attempt_at": time.time(), "last_error": "", "delivered_at": None,
        })  # fmt: skip
        self._wake.set()

    def retry_now(self, notification_id: str) -> None:
        message = self.store.get(QUEUE, notification_id)
        if message and message["status"] != "delivered":
            self.store.put(QUEUE, notification_id, {**message, "status": "pending",
                                                    "next_attempt_at": time.time()})  # fmt: skip
            self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.2)
            self._wake.clear()
            url = self.endpoint_url
            if not url:
                continue
            due = [m for m in self.store.all(QUEUE)
                   if m["status"] == "pending" and m["next_attempt_at"] <= time.time()]  # fmt: skip
            for message in due:
                if self._stop.is_set():
                    return
                self._deliver(message, url)

    def _deliver(self, message: dict, url: str) -> None:
        # A message an older sandbox queued names only its opportunity.
        record_id = message.get("record_id") or message["opportunity_id"]
        attempts = message["attempts"] + 1
        try:
            reply = requests.post(
                url,
                data=self.envelope(message["id"], self.record(record_id) or {"Id": record_id}),
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                timeout=10,
            )
            acked = reply.status_code == 200 and bool(ACK.search(reply.text))
            error = "" if acked else f"HTTP {reply.status_code}: no <Ack>true</Ack> in the reply"
        except requests.RequestException as exc:
            acked, error = False, f"{type(exc).__name__}: {exc}"
        now = time.time()
        if acked:
            update = {"status": "delivered", "delivered_at": now, "last_error": ""}
        elif now - message["created_at"] > GIVE_UP_SECONDS:
            update = {"status": "failed", "last_error": error}
        else:
            delay = min(self.retry_base * 2 ** (attempts - 1), MAX_GAP_SECONDS)
            update = {"next_attempt_at": now + delay, "last_error": error}
        if self.store.get(QUEUE, message["id"]) is not None:  # not wiped by a reset meanwhile
            self.store.put(QUEUE, message["id"], {**message, **update, "attempts": attempts})

    # ------------------------------------------------------------ SOAP

    def envelope(self, notification_id: str, record: Record) -> str:
        """The SOAP message of one notification about `record`, as its object's rule sends it."""
        sobject = BY_PREFIX[record["Id"][:3]].name
        fields = "".join(
            f"<sf:{name}>{escape(str(record[name]))}</sf:{name}>"
            for name in SENT_FIELDS[sobject]
            if record.get(name) is not None
        )
        org = ORG_ID[:15]
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
            " <soapenv:Body>\n"
            '  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">\n'
            f"   <OrganizationId>{ORG_ID}</OrganizationId>\n"
            f"   <ActionId>{ACTION_IDS[sobject]}</ActionId>\n"
            '   <SessionId xsi:nil="true"/>\n'
            f"   <EnterpriseUrl>{self.base_url}/services/Soap/c/59.0/{org}</EnterpriseUrl>\n"
            f"   <PartnerUrl>{self.base_url}/services/Soap/u/59.0/{org}</PartnerUrl>\n"
            "   <Notification>\n"
            f"    <Id>{notification_id}</Id>\n"
            f'    <sObject xsi:type="sf:{sobject}" '
            'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
            f"{fields}</sObject>\n"
            "   </Notification>\n"
            "  </notifications>\n"
            " </soapenv:Body>\n"
            "</soapenv:Envelope>\n"
        )
