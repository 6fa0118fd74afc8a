"""`POST /hooks/<pair-slug>/<token>/`: where CRMs deliver their webhooks.

Unknown pair or wrong token → 404 with no detail. A body over the cap → 413. A body the CRM's
connector cannot read → 400 with the reason, and the delivery is kept (status `invalid`)
for inspection without running anything. Otherwise the events are stored and answered 200
(with the body the CRM expects, e.g. Salesforce's SOAP Ack).
"""

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.errors import MalformedWebhook
from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.intake import take_in
from flows.models import InboundEvent
from flows.redaction import redact

KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Streak-Webhook-Token", "SOAPAction")


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    try:  # get() drops the model's ordering, which first() would compile and sort by
        pair = IntegrationPair.objects.select_related("crm").get(slug=slug)
    except IntegrationPair.DoesNotExist:
        pair = None
    if pair is None or not pair.webhook_token_matches(token):
        return HttpResponse("Not found", status=404, content_type="text/plain")
    limit = settings.CLARITY_WEBHOOK_MAX_BYTES
    declared = int(request.headers.get("Content-Length") or 0)
    if declared > limit:
        return HttpResponse(f"Body over {limit} bytes.", status=413, content_type="text/plain")
    body = request.read(limit + 1)
    if len(body) > limit:
        return HttpResponse(f"Body over {limit} bytes.", status=413, content_type="text/plain")
    headers = redact(
        {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    )
    params = dict(request.GET.items())
    try:
        batch = connector_for(pair.crm).parse_webhook(body, params)
    except MalformedWebhook as exc:
        InboundEvent.objects.create(
            pair=pair,
            source="webhook",
            kind=params.get("event", ""),
            dedupe_key=f"invalid:{uuid.uuid4().hex}",  # unreadable deliveries never collide
            raw_body=body.decode("utf-8", errors="replace"),
            headers=headers,
            status=InboundEvent.Status.INVALID,
            error=str(exc),
        )
        return HttpResponse(
            f"Unreadable {pair.crm.system_label} webhook: {exc}", status=400,
            content_type="text/plain",
        )  # fmt: skip
    take_in(pair, batch.events, "webhook", headers)
    return HttpResponse(batch.reply_body, content_type=batch.reply_content_type)
