"""Issue 15, low finding: secrets escaped run snapshots. A run whose event, step output and
error carry secrets in every shape a system sends them (keys such as `sessionId` or
`agent_key`, header pairs in lists, URLs' query strings and userinfo, token replies quoted
into an error's detail, a Bearer header in an error field) shows them masked on the run's
page and in the runs API, and the note the run leaves on the deal (in the live Streak
sandbox) quotes none either."""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from connectors.errors import ValidationError
from connectors.services import connector_for
from flows.base import Flow, Step
from flows.models import FlowConfig, InboundEvent, SyncRun
from flows.redaction import REDACTED
from flows.registry import FLOWS
from flows.runner import execute_run
from tests.factories import IntegrationPairFactory
from tests.won_deals import seeded_box_key

pytestmark = pytest.mark.django_db

BOX = seeded_box_key("SAL-1005")
SECRETS = {
    "event_session": "00D5g000004Xyz1!AQ4AQOnlyInTheEventPayload",
    "agent_key": "agent-key-4f9a1c",
    "header_pair": "hdr-pair-secret-77",
    "header_entry": "hdr-entry-secret-88",
    "query_token": "qs-token-5521",
    "url_password": "url-pw-6633",
    "error_client_secret": "cs-in-message-9911",
    "detail_access_token": "detail-access-7788",
    "detail_refresh_token": "detail-refresh-2266",
    "field_bearer": "fieldbearer0123456789abcdef",
    "odbc_password": "odbc-pw-3344",
}


def read_deal(ctx) -> dict:  # named so: the run tells the deal when it fails
    return {
        "deal": "D-7",
        "connection": {"agent_key": SECRETS["agent_key"], "bridge_url": "https://sage.local"},
        "sent_headers": [["X-Api-Key", SECRETS["header_pair"]], ["Accept", "application/json"]],
        "har": [{"name": "Authorization", "value": SECRETS["header_entry"]}],
        "next_page": f"https://crm.example.com/api/deals?page=2&access_token={SECRETS['query_token']}",
        "source": f"https://sync:{SECRETS['url_password']}@crm.example.com/deals/D-7",
        "odbc": f"DRIVER={{SQLite3}};Database=sage.db;UID=sage;PWD={SECRETS['odbc_password']};",
    }


def create_order(ctx) -> dict:
    raise ValidationError(
        "The token endpoint https://login.example.com/oauth2/token?grant_type=refresh_token"
        f"&client_secret={SECRETS['error_client_secret']} refused the request",
        system="salesforce",
        status=400,
        detail=json.dumps({
            "access_token": SECRETS["detail_access_token"],
            "refresh_token": SECRETS["detail_refresh_token"],
            "instance_url": "https://na1.example.com",
        }),
        fields={"Authorization": f"sent Bearer {SECRETS['field_bearer']}"},
    )  # fmt: skip


@pytest.fixture
def run(monkeypatch, streak) -> SyncRun:
    flow = Flow(
        name="leaky_flow",
        label="Leaky flow",
        description="Reads a deal with secrets about it, then fails quoting more.",
        steps=(Step("read_deal", read_deal), Step("create_order", create_order)),
    )
    monkeypatch.setitem(FLOWS, flow.name, flow)
    pair = IntegrationPairFactory(crm=streak)
    config = FlowConfig.objects.update_or_create(
        pair=pair, flow=flow.name, defaults={"enabled": True}
    )[0]
    event = InboundEvent.objects.create(
        pair=pair, source="webhook", kind="BOX_CHANGE_STAGE", entity_key=BOX,
        payload={"key": BOX, "SessionId": SECRETS["event_session"]}, status="accepted",
    )  # fmt: skip
    run = SyncRun.objects.create(flow_config=config, pair=pair, event=event, entity_key=BOX)
    assert execute_run(run.pk) == "failed"
    return run


def assert_masked(text: str) -> None:
    leaked = [name for name, secret in SECRETS.items() if secret in text]
    assert leaked == [], f"secrets shown: {leaked}"


def test_the_run_page_shows_no_secret_of_the_run(client, users, run):
    client.force_login(users["viewer"])
    html = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "D-7" in html and "ValidationError" in html and "na1.example.com" in html
    assert REDACTED in html
    assert_masked(html)


def test_the_runs_api_shows_no_secret_of_the_run(users, run):
    api = APIClient()
    api.force_authenticate(users["viewer"])
    reply = api.get(f"/api/v1/runs/{run.pk}/")
    assert reply.status_code == 200
    body = reply.content.decode()
    data = reply.json()
    assert data["error_class"] == "ValidationError" and "client_secret=" in data["error_message"]
    assert data["error_fields"] == {"Authorization": REDACTED}
    assert_masked(body)


def test_the_note_on_the_deal_quotes_no_secret(streak, run):
    notes = [note["message"] for note in connector_for(streak).search("Comment", box_key=BOX)]
    told = [note for note in notes if f"Clarity run {run.pk}" in note]
    assert len(told) == 1 and "client_secret=" + REDACTED in told[0]
    assert_masked(told[0])


def test_an_invalid_delivery_is_kept_with_the_session_id_it_quoted_masked(client, sage100_pair):
    """An Outbound Message sent with "Send Session ID" that we refuse is kept for
    inspection, without the session id a reader of the inbox could use."""
    pair, token = sage100_pair
    body = (
        '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="x"><soapenv:Body>'
        "<notifications><SessionId>00Dxx0000001gPL!AQ4AQ.secret.session</SessionId>"
        "<broken></soapenv:Body>"
    )
    reply = client.post(f"/hooks/{pair.slug}/{token}/", data=body, content_type="application/json")
    assert reply.status_code == 400
    kept = InboundEvent.objects.get(pair=pair, status=InboundEvent.Status.INVALID)
    assert "AQ4AQ.secret.session" not in kept.raw_body
    assert "<notifications>" in kept.raw_body
