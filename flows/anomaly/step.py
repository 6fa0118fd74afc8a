"""The won-deal flows' anomaly checks: before anything is written to the ERP, a deal that
looks unusual waits for an approver, with the reason in plain words.

What it is checked against (`flows.anomaly.stats` does the judging):

- the customer's history: the mapped documents of the pair's earlier won-deal runs that made
  a document in the ERP, for the same CRM organization or account (`external_refs.crm` of
  the mapped customer; its name where the mapping keeps no id), this deal's own earlier runs
  left out (a re-run is no second order), the latest `HISTORY_KEPT` of the last
  `HISTORY_DAYS`;
- the ERP's price list, read through the ERP role as the price flow reads it
  (`items_to_load`), kept `PRICES_KEPT_SECONDS` per connection and settings, so a busy day
  reads it once in a while (a price changed in the ERP counts from the next read). The
  deal's product codes go through the pair's item lookup table first, as item matching does.
  An ERP that lists no prices to Clarity leaves the price check out, and says so in the
  step's output.

A held deal waits through the approval mechanism (`flows.steps.approval.hold`): the same
queue, e-mails and CRM notes as the approval threshold, the approval marked `anomaly` with
each finding kept; approved, the run goes on ("send it anyway"); rejected, the reason goes
to the CRM and the run ends `rejected`.
"""

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import CharField
from django.db.models.functions import Cast
from django.utils import timezone

from clarity.prepared import Param, PreparedQuery
from connectors.errors import Unsupported
from connectors.kept import MISSING, Kept
from connectors.roles import ITEM_LIST
from flows.anomaly import stats
from flows.base import LABEL_SEPARATOR, StepContext
from flows.models import Approval, RunStep, SyncRun
from flows.steps import MAP_DEAL, READ_DEAL
from flows.steps.approval import asked_for, hold
from flows.steps.deal import deal_name
from flows.steps.mapping import customer_key
from flows.steps.mapping_data import environment
from flows.steps.money import decimal

ANOMALY_CHECKS = "anomaly_checks"  # the step, and the option that switches it on
DEFAULT_LIMITS = stats.Limits()
DEFAULT_OPTIONS: dict[str, Any] = {
    ANOMALY_CHECKS: True,
    "anomaly_price_factor": DEFAULT_LIMITS.price_factor,
    "anomaly_history_score": DEFAULT_LIMITS.history_score,
    "anomaly_min_history": DEFAULT_LIMITS.min_history,
    "anomaly_duplicate_days": DEFAULT_LIMITS.duplicate_days,
}
WON_DEAL_FLOWS = ("deal_won_to_sales_order", "deal_won_to_invoice")
HISTORY_KEPT = 100
HISTORY_DAYS = 730
PRICES_KEPT_SECONDS = 300
# A run's mapped deal as the checks read it, by (run, finished at, base currency): a run's id
# alone may come back in a database rolled back to before it.
decoded = Kept(seconds=3600)
prices_kept = Kept(PRICES_KEPT_SECONDS)  # each ERP connection's price list, by its settings


def anomaly_checks(ctx: StepContext) -> dict[str, Any]:
    """Hold the deal when it looks unusual; the output says what was checked against."""
    if not ctx.option(ANOMALY_CHECKS):
        return {"checked": False, "why": "anomaly checks are off for this flow"}
    mapped = ctx.outputs[MAP_DEAL]
    name = deal_name(ctx.outputs[READ_DEAL].get("record") or {})
    deal = deal_of(ctx, mapped, ctx.run.entity_key, timezone.now(), name)
    history = history_of(ctx, mapped.get("customer") or {})
    prices, price_note = price_list(ctx, deal)
    base = ctx.pair.base_currency
    found = stats.findings(deal, history, prices, limits_of(ctx), base, ctx.erp.label)
    checked = {"checked": True, "history": len(history), "prices": price_note}
    if not found:
        return checked | {"held": False}
    sentences = [finding.sentence for finding in found]
    asked = asked_for(ctx, mapped["document"], " ".join(sentences))
    decided = hold(ctx, asked, Approval.Kind.ANOMALY, sentences)
    return checked | {"held": True, "findings": sentences} | decided


def limits_of(ctx: StepContext) -> stats.Limits:
    return stats.Limits(
        min_history=int(ctx.option("anomaly_min_history")),
        history_score=float(ctx.option("anomaly_history_score")),
        price_factor=float(ctx.option("anomaly_price_factor")),
        duplicate_days=int(ctx.option("anomaly_duplicate_days")),
    )


def deal_of(
    ctx: StepContext,
    mapped: dict[str, Any],
    key: str,
    won_at: datetime,
    name: str = "",
    document: str = "",
) -> stats.Deal:
    """A mapped deal (`map_deal`'s output) as the statistics read it."""
    made, customer = mapped["document"], mapped.get("customer") or {}
    return stats.Deal(
        key=key,
        name=name or str(made.get("crm_deal_id") or key),
        customer=str(customer.get("name") or made.get("customer_name") or "the customer"),
        currency=str(made.get("currency") or ctx.pair.base_currency).upper(),
        total=decimal(made.get("total")),
        total_base=decimal(made.get("total_base") or made.get("total")),
        lines=tuple(
            stats.Line(
                str(line.get("sku") or ""),
                decimal(line.get("quantity")),
                decimal(line.get("unit_price")),
            )
            for line in made.get("lines") or []
        ),
        won_at=won_at,
        rate=decimal(mapped.get("rate")) or Decimal(1),
        document=document,
    )


def history_of(ctx: StepContext, customer: dict[str, Any]) -> list[stats.Deal]:
    """The customer's earlier deals that reached the ERP, newest first, one per run (its
    latest mapping), this deal's own runs left out.

    The runs are found by their customer (`SyncRun.customer_key`, indexed); a run's mapped
    document is read and decoded only when this process has not decoded it before
    (`decoded`): a succeeded run's mapping never changes."""
    since = timezone.now() - timedelta(days=HISTORY_DAYS)
    runs = HISTORY.all(
        pair=ctx.pair.pk, customer=customer_key(customer), since=since, key=ctx.run.entity_key
    )
    keys = {run_id: (run_id, finished_at, ctx.pair.base_currency) for run_id, finished_at in runs}
    found = {key: decoded.get(key) for key in keys.values()}
    missing = [key[0] for key, deal in found.items() if deal is MISSING]
    if missing:
        for run_id, deal in decode_runs(ctx, missing).items():
            found[keys[run_id]] = deal
            decoded.put(keys[run_id], deal)
    return [deal for deal in found.values() if deal is not None]  # None: no document made


HISTORY = PreparedQuery(
    lambda: (
        SyncRun.objects.filter(
            pair_id=Param("pair"),
            customer_key=Param("customer"),
            finished_at__gte=Param("since"),
            status=SyncRun.Status.SUCCEEDED,
            flow_config__flow__in=WON_DEAL_FLOWS,
        )
        .exclude(entity_key=Param("key"))
        .exclude(document="")
        .order_by("-finished_at")
        .values_list("pk", Cast("finished_at", CharField()))[:HISTORY_KEPT]
    )
)  # a run's end as the database writes it: a cache key, with no time to parse on each row
MAPPED_DEAL = PreparedQuery(
    lambda: (
        RunStep.objects.filter(run_id=Param("run"), name=MAP_DEAL, status=RunStep.Status.SUCCEEDED)
        .order_by("-attempt")
        .values_list("run__entity_key", "output", "run__finished_at", "run__document", "run__label")
    )
)


def decode_runs(ctx: StepContext, run_ids: list[int]) -> dict[int, stats.Deal | None]:
    """Each run's latest succeeded mapping that made a document, as a deal (None: none did):
    one look a run, most runs decoding one or two (the rest are kept in `decoded`)."""
    deals: dict[int, stats.Deal | None] = dict.fromkeys(run_ids)
    for run_id in run_ids:
        for key, output, finished_at, document, label in MAPPED_DEAL.all(run=run_id):
            if (output or {}).get("document"):
                name = name_in_label(label, output)
                deals[run_id] = deal_of(ctx, output, key, finished_at, name, document)
                break
    return deals


def name_in_label(label: str, mapped: dict[str, Any]) -> str:
    """The deal's own name in a run's label (Deal ID · deal name · customer), if it has one."""
    known = {
        str(mapped["document"].get("crm_deal_id") or ""),
        str((mapped.get("customer") or {}).get("name") or ""),
    }
    return LABEL_SEPARATOR.join(part for part in label.split(LABEL_SEPARATOR) if part not in known)


def price_list(ctx: StepContext, deal: stats.Deal) -> tuple[dict[str, stats.Listed], str]:
    """What the ERP lists each of the deal's items at (by the deal's code in capitals), and
    the price check's scope in words."""
    erp, connection = ctx.erp, ctx.pair.erp
    if ITEM_LIST not in erp.capabilities:
        return {}, f"{erp.label} lists no item prices to Clarity: prices were not checked."
    where = json.dumps([str(connection.created_at), connection.settings], default=str).encode()
    key = (connection.pk, hashlib.sha256(where).hexdigest())
    items = prices_kept.get(key)
    if items is MISSING:
        try:
            items = erp.items_to_load()
        except Unsupported as refused:
            return {}, f"{erp.label} did not list its prices ({refused}): prices were not checked."
        prices_kept.put(key, items)
    by_code = {str(item.get("sku") or "").upper(): item for item in items}
    table = environment(ctx).lookup(erp.item_table)  # read once a run, with the mapping's
    base = ctx.pair.base_currency
    prices = {}
    for line in deal.lines:
        code = (table.folded.get(line.sku.strip().casefold()) if table else None) or line.sku
        item = by_code.get(code.strip().upper())
        if item and str(item.get("currency") or base).upper() == base:
            listed = listed_of(item)
            if listed:
                prices[line.sku.strip().upper()] = listed
    return prices, f"{len(prices)} of {len(deal.lines)} lines against {erp.label}'s price list"


def listed_of(item: dict[str, Any]) -> stats.Listed | None:
    """An item's standard price and price levels, or None when it has no standard price."""
    try:
        standard = Decimal(str(item.get("unit_price") or 0))
        levels = tuple(Decimal(str(p)) for p in (item.get("price_levels") or {}).values() if p)
    except InvalidOperation:
        return None
    return stats.Listed(standard, levels) if standard > 0 else None
