"""Finding the CRM deal a Sage document came from, and telling it something, for the flows
that carry what happened in Sage back to the deal (order status, payments).

A note is added once however often the run is retried (the CRM role looks for it first).
After our write the deal's change stamp is kept on its links (`last_synced_version`), so a
poller of the CRM drops our own write instead of starting a flow from it.
"""

from django.db import IntegrityError, transaction

from flows.base import StepContext
from flows.models import ExternalLink

SALES_ORDER = "sales_order"


def deal_of_order(ctx: StepContext, order_no: str, deal_reference: str) -> str:
    """The CRM deal an order came from: its link, else the deal whose ID the order names
    (bound by a new link for next time); "" when neither knows one."""
    link = ExternalLink.objects.filter(pair=ctx.pair, entity=SALES_ORDER, sage_id=order_no).first()
    if link:
        return link.crm_id
    deal = ctx.crm.find_deal(deal_reference) if deal_reference else ""
    if deal:
        try:
            with transaction.atomic():
                ExternalLink.objects.create(
                    pair=ctx.pair, entity=SALES_ORDER, crm_id=deal, sage_id=order_no
                )
        except IntegrityError:  # the deal is bound to another order already: leave that
            pass
    return deal


def tell_deal(ctx: StepContext, deal: str, message: str) -> None:
    """A note on the deal, and its stamp after our write kept so pollers drop the echo."""
    ctx.crm.add_note(deal, message, ctx.idempotency_key("note"))
    stamp = ctx.crm.deal_version(deal)
    ExternalLink.objects.filter(pair=ctx.pair, crm_id=deal).update(last_synced_version=stamp)
