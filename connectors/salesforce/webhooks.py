"""Salesforce Outbound Messages: the SOAP notifications a workflow rule posts, and the Ack
reply that stops Salesforce retrying (for the webhook endpoint to use).

Delivery is at least once, unordered, up to 100 notifications a message, unsigned: the
secret token in the pair's URL is what authenticates the sender, its `OrganizationId` must
be the connection's org (`screen_outbound_message`), the inbox dedupes on `dedupe_key`, and
a run re-reads the record from the connection's own org. An Outbound Message carries the
record's data as it is now, not a change.

The body is parsed by defusedxml with document type declarations refused outright, in any
case or encoding: no entity is ever expanded, no external reference followed.
"""

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.db import transaction

from connectors.base import SenderRefused, WebhookBatch
from connectors.errors import ValidationError
from connectors.models import Connection
from connectors.salesforce.oauth import SYSTEM

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ACK_CONTENT_TYPE = "text/xml; charset=utf-8"
MAX_BODY_BYTES = 5 * 1024 * 1024  # 100 notifications of wide records fit well inside
ORG_ID = "org_id"  # in the connection's settings: its org, as the last Test found it
MAX_NOTIFICATIONS = 100  # Salesforce sends at most 100 a message
SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
SOBJECT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")

logger = logging.getLogger(__name__)


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


def salesforce_id(value: str, what: str) -> str:
    """`value` when it has the shape of a Salesforce id (15 or 18 letters and digits)."""
    if not SALESFORCE_ID.fullmatch(value):
        raise MalformedOutboundMessage(f"{what} {value[:40]!r} is not a Salesforce id")
    return value


def same_org(one: str, other: str) -> bool:
    """Whether two organization ids name one org: the 18-character form is the 15-character
    one (case-sensitive) with a checksum of its letters' case after it."""
    return bool(one) and bool(other) and one[:15] == other[:15]


def remember_org(connection: Connection, org_id: str) -> None:
    """Keep the org the credentials sign in to (found by a Test) in the connection's
    settings, where the webhook's hot path compares OrganizationId with it; under the row's
    lock, as the client keeps the API usage beside it."""
    if not org_id or (connection.settings or {}).get(ORG_ID) == org_id:
        return
    if connection.pk is None:
        connection.settings = {**(connection.settings or {}), ORG_ID: org_id}
        return
    with transaction.atomic():
        row = Connection.objects.select_for_update().only("settings").get(pk=connection.pk)
        row.settings = {**(row.settings or {}), ORG_ID: org_id}
        row.save(update_fields=["settings"])
    connection.settings = row.settings


def screen_outbound_message(batch: WebhookBatch, settings: dict[str, Any]) -> WebhookBatch:
    """An Outbound Message from another org than the connection's is refused. Until a Test
    has found the connection's org, messages are taken unchecked (the URL token still
    stands, and runs re-read records from the connection's own org), with a warning in the
    log, so that deliveries do not stop at an upgrade."""
    org_id = str(settings.get(ORG_ID) or "")
    sent_by = {str(event.payload.get("organization_id") or "") for event in batch.events}
    if not org_id:
        logger.warning(
            "Outbound Message from Salesforce org %s taken without an org check: the "
            "connection's org is not known yet. Test the connection to record it.",
            ", ".join(sorted(sent_by)),
        )
        return batch
    strangers = sorted(org for org in sent_by if not same_org(org, org_id))
    if strangers:
        raise SenderRefused(
            f"The Outbound Message comes from Salesforce org {', '.join(strangers)}, but the "
            f"connection is signed in to org {org_id}: point that org's Outbound Messages at "
            "its own pair, or test the connection again if it now signs in to that org."
        )
    return batch


def parse_outbound_message(body: bytes | str) -> list[Notification]:
    """The notifications of a SOAP body; MalformedOutboundMessage for anything else."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise MalformedOutboundMessage(f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        root = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException:
        raise MalformedOutboundMessage("document type declarations are not accepted") from None
    except ElementTree.ParseError as exc:
        raise MalformedOutboundMessage(f"not well-formed XML ({exc})") from None
    notifications = root.find(f"{{{SOAP_ENV}}}Body/{{{OUTBOUND}}}notifications")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or notifications is None:
        raise MalformedOutboundMessage("no soapenv:Body/notifications element")
    organization_id = child_text(notifications, "OrganizationId")
    if not organization_id:
        raise MalformedOutboundMessage("OrganizationId is missing")
    salesforce_id(organization_id, "OrganizationId")
    action_id = child_text(notifications, "ActionId")
    elements = notifications.findall(f"{{{OUTBOUND}}}Notification")
    if not elements:
        raise MalformedOutboundMessage("the message holds no Notification")
    if len(elements) > MAX_NOTIFICATIONS:
        raise MalformedOutboundMessage(
            f"{len(elements)} notifications; Salesforce sends at most {MAX_NOTIFICATIONS}"
        )
    return [parse_notification(element, organization_id, action_id) for element in elements]


def parse_notification(
    element: ElementTree.Element, organization_id: str, action_id: str
) -> Notification:
    notification_id = child_text(element, "Id")
    record = element.find(f"{{{OUTBOUND}}}sObject")
    if not notification_id or record is None:
        raise MalformedOutboundMessage("a Notification lacks its Id or sObject")
    salesforce_id(notification_id, "Notification Id")
    sobject_type = record.get(f"{{{XSI}}}type", "").rpartition(":")[2]
    values: dict[str, str | None] = {}
    for item in record:
        nil = item.get(f"{{{XSI}}}nil") == "true"
        values[local(item.tag)] = None if nil else (item.text or "")
    record_id = values.get("Id") or ""
    if not sobject_type or not record_id:
        raise MalformedOutboundMessage(f"notification {notification_id} lacks sObject type or Id")
    if not SOBJECT_TYPE.fullmatch(sobject_type):
        raise MalformedOutboundMessage(f"{sobject_type[:40]!r} is not a Salesforce object name")
    salesforce_id(record_id, f"notification {notification_id}: record Id")
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
