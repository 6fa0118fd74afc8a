"""Salesforce Outbound Messages: the SOAP notifications a workflow rule posts, and the Ack
reply that stops Salesforce retrying (for the webhook endpoint to use).

Delivery is at least once, unordered, up to 100 notifications a message, unsigned: the
secret token in the pair's URL is what authenticates the sender, the inbox dedupes on
`dedupe_key`, and a run re-reads the record from the connection's own org (a message naming
another org's record finds nothing there). An Outbound Message carries the record's data as
it is now, not a change.
"""

from dataclasses import dataclass, field
from xml.etree import ElementTree

from connectors.errors import ValidationError
from connectors.salesforce.oauth import SYSTEM

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ACK_CONTENT_TYPE = "text/xml; charset=utf-8"
MAX_BODY_BYTES = 5 * 1024 * 1024  # 100 notifications of wide records fit well inside


class MalformedOutboundMessage(ValidationError):
    """The body is not an Outbound Message; answer it without an Ack."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Not a Salesforce Outbound Message: {detail}",
            system=SYSTEM,
            detail=detail,
            fields={"body": detail},
        )


@dataclass(frozen=True)
class Notification:
    """One notified record: its type, Id, the fields the message sent (None when nil)."""

    notification_id: str
    organization_id: str
    action_id: str
    sobject_type: str
    record_id: str
    fields: dict[str, str | None] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        """Salesforce resends a notification with the same id until it is acknowledged."""
        return f"{self.organization_id}:{self.notification_id}"


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def child_text(element: ElementTree.Element, name: str) -> str:
    found = element.find(f"{{{OUTBOUND}}}{name}")
    return (found.text or "").strip() if found is not None else ""


def parse_outbound_message(body: bytes | str) -> list[Notification]:
    """The notifications of a SOAP body; MalformedOutboundMessage for anything else."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise MalformedOutboundMessage(f"body larger than {MAX_BODY_BYTES} bytes")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise MalformedOutboundMessage("document type declarations are not accepted")
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise MalformedOutboundMessage(f"not well-formed XML ({exc})") from None
    notifications = root.find(f"{{{SOAP_ENV}}}Body/{{{OUTBOUND}}}notifications")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or notifications is None:
        raise MalformedOutboundMessage("no soapenv:Body/notifications element")
    organization_id = child_text(notifications, "OrganizationId")
    if not organization_id:
        raise MalformedOutboundMessage("OrganizationId is missing")
    action_id = child_text(notifications, "ActionId")
    parsed = [
        parse_notification(element, organization_id, action_id)
        for element in notifications.findall(f"{{{OUTBOUND}}}Notification")
    ]
    if not parsed:
        raise MalformedOutboundMessage("the message holds no Notification")
    return parsed


def parse_notification(
    element: ElementTree.Element, organization_id: str, action_id: str
) -> Notification:
    notification_id = child_text(element, "Id")
    record = element.find(f"{{{OUTBOUND}}}sObject")
    if not notification_id or record is None:
        raise MalformedOutboundMessage("a Notification lacks its Id or sObject")
    sobject_type = record.get(f"{{{XSI}}}type", "").rpartition(":")[2]
    values: dict[str, str | None] = {}
    for item in record:
        nil = item.get(f"{{{XSI}}}nil") == "true"
        values[local(item.tag)] = None if nil else (item.text or "")
    record_id = values.get("Id") or ""
    if not sobject_type or not record_id:
        raise MalformedOutboundMessage(f"notification {notification_id} lacks sObject type or Id")
    return Notification(
        notification_id, organization_id, action_id, sobject_type, record_id, values
    )


def ack_response(ack: bool = True) -> str:
    """The SOAP reply; `<Ack>true</Ack>` tells Salesforce the whole message is handled, false
    has it retried later (with backoff, for up to 24 hours)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">\n'
        " <soapenv:Body>\n"
        f'  <notificationsResponse xmlns="{OUTBOUND}">\n'
        f"   <Ack>{'true' if ack else 'false'}</Ack>\n"
        "  </notificationsResponse>\n"
        " </soapenv:Body>\n"
        "</soapenv:Envelope>\n"
    )
