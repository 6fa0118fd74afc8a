"""Outbound Messages are parsed by defusedxml with document type declarations refused, in
any encoding: no entity is expanded, however it is spelled. Before, a byte search for
`<!DOCTYPE` let a UTF-16 body through, and its entities were expanded into the payload."""

import time

import pytest

from flows.models import InboundEvent, SyncRun
from sandbox.salesforce.schema import ORG_ID
from tests.security.webhooks import outbound_message, salesforce_pair

pytestmark = pytest.mark.django_db

ENTITY = '<!DOCTYPE soapenv:Envelope [<!ENTITY e "EXPANDED">]>'
LAUGHS = (
    '<!DOCTYPE soapenv:Envelope [<!ENTITY l0 "EXPANDED">'
    + "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    + "]>"
)
EXTERNAL = '<!DOCTYPE soapenv:Envelope [<!ENTITY e SYSTEM "file:///etc/passwd">]>'


def with_doctype(doctype: str, entity: str) -> str:
    """An Outbound Message whose opportunity name is `entity`, declared in `doctype`."""
    message = outbound_message(ORG_ID, fields=f"<sf:Name>{entity}</sf:Name>").decode()
    declaration, _, rest = message.partition("?>")
    return f"{declaration}?>{doctype}{rest}"


CASES = {
    "utf-16": with_doctype(ENTITY, "&e;").replace('"UTF-8"', '"UTF-16"').encode("utf-16"),
    "utf-16-be": with_doctype(ENTITY, "&e;").replace('"UTF-8"', '"UTF-16BE"').encode("utf-16-be"),
    "billion-laughs": with_doctype(LAUGHS, "&l9;").encode(),
    "billion-laughs-utf-16": with_doctype(LAUGHS, "&l9;")
    .replace('"UTF-8"', '"UTF-16"')
    .encode("utf-16"),
    "external": with_doctype(EXTERNAL, "&e;").replace('"UTF-8"', '"UTF-16"').encode("utf-16"),
}


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_a_message_declaring_a_document_type_is_400_kept_and_never_expanded(client, body):
    pair, token = salesforce_pair(org_id=ORG_ID)
    client.post(f"/hooks/{pair.slug}/{token}/", b"", content_type="text/xml")  # warm up
    InboundEvent.objects.all().delete()
    started = time.perf_counter()
    reply = client.post(f"/hooks/{pair.slug}/{token}/", body, content_type="text/xml")
    assert time.perf_counter() - started < 1
    assert reply.status_code == 400
    assert "document type declarations are not accepted" in reply.content.decode()
    kept = InboundEvent.objects.get()
    assert kept.status == "invalid" and "document type" in kept.error
    assert "EXPANDED" not in str(kept.payload) and not SyncRun.objects.exists()


def test_a_lower_case_doctype_is_no_xml_and_is_400_kept(client):
    pair, token = salesforce_pair(org_id=ORG_ID)
    body = with_doctype(ENTITY.replace("DOCTYPE", "doctype"), "&e;").encode()
    reply = client.post(f"/hooks/{pair.slug}/{token}/", body, content_type="text/xml")
    assert reply.status_code == 400
    assert "not well-formed XML" in reply.content.decode()
    assert InboundEvent.objects.get().status == "invalid"


def test_a_utf_16_message_without_a_doctype_is_still_read(client):
    pair, token = salesforce_pair(org_id=ORG_ID)
    message = outbound_message(ORG_ID).decode().replace('"UTF-8"', '"UTF-16"')
    reply = client.post(
        f"/hooks/{pair.slug}/{token}/", message.encode("utf-16"), content_type="text/xml"
    )
    assert reply.status_code == 200 and b"<Ack>true</Ack>" in reply.content
    assert InboundEvent.objects.get().status != "invalid"
