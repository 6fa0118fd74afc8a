"""`POST /hooks/<pair-slug>/<token>/`: where CRMs deliver their webhooks.

In this order, each answer plain text:
- more deliveries to this URL than the rate limit allows → 429 with Retry-After, before the
  database is touched (`flows.throttle`);
- unknown pair or wrong token → 404 with no detail;
- a body over the cap → 413;
- a body the CRM's connector cannot read (unparseable, nested too deep) → 400 with the
  reason;
- a delivery the CRM's sender check refuses (`Connector.screen_webhook`: Streak's header
  token, the Outbound Message's org) → 403 with the reason. Not 404: the sender knew the
  URL's token already, and the operator reading the CRM's delivery log learns what is wrong;
  not 401: no webhook sender answers an authentication challenge.
Every refusal after the token check is kept (status `invalid`, no dedupe key, so every one
is kept) for inspection without running anything. Otherwise the events are stored and
answered 200 (with the body the CRM expects, e.g. Salesforce's Ack).
"""

import json
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.base import SenderRefused
from connectors.errors import MalformedWebhook
from connectors.models import IntegrationPair
from connectors.registry import SYSTEMS
from flows.intake import take_in
from flows.models import FlowConfig, InboundEvent
from flows.redaction import redact, redact_text
from flows.registry import FLOWS
from flows.throttle import WEBHOOK_THROTTLE

KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Streak-Webhook-Token", "SOAPAction")
KIND_LENGTH = InboundEvent._meta.get_field("kind").max_length

# The pair, its CRM's system and settings, and its enabled flows, in one statement. Fields
# left out load if something reads them; the CRM's secrets are never decrypted, its settings
# (no secrets) hold what the sender checks compare with.
PAIR_FOR_DELIVERY = """
    SELECT pair.id, pair.slug, pair.crm_id, pair.erp_id, pair.webhook_token_hash,
           crm.system, crm.settings, config.id, config.flow, config.trigger, config.options
    FROM connectors_integrationpair pair
    JOIN connectors_connection crm ON crm.id = pair.crm_id
    LEFT JOIN flows_flowconfig config ON config.pair_id = pair.id AND config.enabled = %s
    WHERE pair.slug = %s
    ORDER BY config.flow
"""
# In the models' field order, as `Model.from_db` takes them.
PAIR_FIELDS = ("id", "slug", "crm_id", "erp_id", "webhook_token_hash")
CONFIG_FIELDS = ("id", "pair_id", "flow", "enabled", "trigger", "options")


def json_value(value: Any) -> Any:
    """A JSON column as read by a plain cursor: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def pair_for_delivery(slug: str) -> tuple[IntegrationPair | None, list[FlowConfig]]:
    """The pair at `slug` with what a delivery needs (its id, token hash, `crm_system` and
    `crm_settings`), and its enabled flows, each holding the pair.

    Hand-written and read through a plain cursor because it runs on every delivery:
    `select_related("crm").get()` took about a seventh of a delivery's CPU, compiling the
    query and decrypting the CRM's secrets, which reading a delivery never needs; two raw
    querysets (pair, flows) still took a sixth."""
    with connection.cursor() as cursor:
        cursor.execute(PAIR_FOR_DELIVERY, [True, slug])
        rows = cursor.fetchall()
    if not rows:
        return None, []
    first = rows[0]
    pair = IntegrationPair.from_db(connection.alias, PAIR_FIELDS, first[:5])
    pair.crm_system, pair.crm_settings = first[5], json_value(first[6])
    configs = []
    for row in rows:
        config_id, flow, trigger, options = row[7:]
        if config_id is None or flow not in FLOWS:
            continue
        values = (config_id, pair.pk, flow, True, trigger, json_value(options))
        config = FlowConfig.from_db(connection.alias, CONFIG_FIELDS, values)
        config.pair = pair
        configs.append(config)
    return pair, configs


def crm_settings(pair: IntegrationPair) -> dict[str, Any]:
    """The CRM connection's settings (a dict, whatever the column held)."""
    value = pair.crm_settings
    return value if isinstance(value, dict) else {}


def declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def sized(reply: HttpResponse) -> HttpResponse:
    """The reply with its Content-Length, which CommonMiddleware (skipped on this path) would
    have set: without it the server sends the body chunked."""
    reply["Content-Length"] = str(len(reply.content))
    return reply


def plain(text: str, status: int) -> HttpResponse:
    return sized(HttpResponse(text, status=status, content_type="text/plain"))


def keep_invalid(pair: IntegrationPair, params: dict[str, str], body: bytes,
                 headers: dict[str, str], reason: str) -> None:  # fmt: skip
    """The refused delivery, kept for inspection: it runs nothing and dedupes with nothing.
    Secrets it quotes (an Outbound Message's sessionId) are masked like a run's."""
    text = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    InboundEvent.objects.create(
        pair=pair,
        source="webhook",
        kind=params.get("event", "")[:KIND_LENGTH],
        raw_body=redact_text(text),
        headers=headers,
        status=InboundEvent.Status.INVALID,
        error=redact_text(reason),
    )


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    wait = WEBHOOK_THROTTLE.wait_seconds(slug, token)
    if wait:
        reply = plain(f"Too many deliveries: try again in {wait} s.", 429)
        reply["Retry-After"] = str(wait)
        return reply
    pair, configs = pair_for_delivery(slug)
    if pair is None or not pair.webhook_token_matches(token):
        return plain("Not found", 404)
    headers = redact(
        {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    )
    params = dict(request.GET.items())
    limit = settings.CLARITY_WEBHOOK_MAX_BYTES
    declared = declared_length(request)
    body = request.read(limit + 1) if declared <= limit else b""
    if declared > limit or len(body) > limit:
        too_big = f"Body over {limit} bytes."
        keep_invalid(pair, params, b"", headers, f"{too_big} The body is not kept.")
        return plain(too_big, 413)
    crm = SYSTEMS[pair.crm_system]
    try:
        batch = crm.connector_class.parse_webhook(body, params)
        batch = crm.connector_class.screen_webhook(
            batch, crm_settings(pair), pair.webhook_token_hash, request.headers
        )
    except MalformedWebhook as exc:
        keep_invalid(pair, params, body, headers, str(exc))
        return plain(f"Unreadable {crm.label} webhook: {exc}", 400)
    except SenderRefused as exc:
        keep_invalid(pair, params, body, headers, str(exc))
        return plain(f"Refused {crm.label} webhook: {exc}", 403)
    take_in(pair, batch.events, "webhook", headers, configs)
    return sized(HttpResponse(batch.reply_body, content_type=batch.reply_content_type))
