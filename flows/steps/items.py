"""Matching the deal's lines to what Sage knows.

Every ERP: each product code goes through the pair's lookup table of product codes to the
ERP's items (`ErpRole.item_table`, when the pair has one; a code not in it is tried as it
is) and must be an item in Sage (`ErpRole.find_item`): its code as Sage spells it replaces
the deal's, and its id goes with the line for ERPs whose documents name items by id. An
unknown item is handled by the flow's `unknown_item_policy`, the same for every ERP and
never silent: `flag` (default) stops the run saying how to fix it, `skip_line` leaves the
line out (the CRM note says so), `create` makes the item where the ERP can
(`ErpRole.creates_items`: Sage Accounting products) and is refused with the fix where it
cannot (Sage 100's bridge creates no items).

Invoices also need a ledger account on each line. The deal's GL Account Code goes through the
lookup table of GL accounts (`ErpRole.ledger_table`); a code it lacks is filled in from the
ERP's chart of accounts when exactly one ledger account has that nominal code. Without a code
(or with one Sage does not have), the line takes the sales ledger account of its product.
"""

from typing import Any

from connectors.errors import ValidationError
from connectors.models import IntegrationPair
from flows.base import StepContext
from flows.steps import ITEMS, MAP_DEAL
from flows.steps.mapping_data import environment
from flows.steps.money import decimal
from mappings.models import LookupEntry, LookupTable


def match_items(ctx: StepContext) -> dict[str, Any]:
    table = environment(ctx).lookup(ctx.erp.item_table)  # read once a run, with the mapping's
    policy = ctx.option("unknown_item_policy")
    erp = ctx.erp.label
    lines, skipped, created = [], [], []
    for index, line in enumerate(ctx.outputs[MAP_DEAL]["document"]["lines"], start=1):
        sku = str(line.get("sku") or "")
        code = (table.folded.get(sku.strip().casefold()) if table else None) or sku
        item = ctx.erp.find_item(code)
        if item is None and policy == "create" and ctx.erp.creates_items:
            item = ctx.erp.create_item(
                code, str(line.get("description") or ""), decimal(line.get("unit_price")),
                str(line.get("gl_account") or ""), ctx.idempotency_key(f"item-{code}"),
            )  # fmt: skip
            created.append(item.code)
        if item:
            lines.append(line | {"sku": item.code, "item_id": item.id})
        elif policy == "skip_line":
            skipped.append(sku)
        else:
            raise unknown_item(ctx, sku, index, policy)
    if not lines:
        raise ValidationError(
            f"No line of this deal sells an item {erp} has (skipped {', '.join(skipped)}): "
            f"add them to the lookup table “{ctx.erp.item_table}” or create the items, "
            "then retry.",
            fields={"lines": "no known item"},
        )
    return {"lines": lines, "skipped": skipped, "created": created}


def left_out(ctx: StepContext) -> str:
    """For the deal's note: the items `create` made and the lines `skip_line` left out."""
    items, erp = ctx.outputs[ITEMS], ctx.erp.label
    created, skipped = items.get("created") or [], items["skipped"]
    said = f" Created in {erp}: {', '.join(created)}." if created else ""
    return said + (f" Left out, not in {erp}: {', '.join(skipped)}." if skipped else "")


def unknown_item(ctx: StepContext, sku: str, index: int, policy: str) -> ValidationError:
    erp = ctx.erp.label
    if policy == "create":
        message = (
            f"Item {sku} is not in {erp}, and Clarity cannot create items there: create it in "
            f"{erp} or add it to the lookup table “{ctx.erp.item_table}”, then retry"
        )
    else:
        message = (
            f"Item {sku} is not in {erp}: add it to the product lookup table or create the "
            "item, then retry"
        )
    return ValidationError(message, fields={f"lines[{index}].sku": sku})


def ledger_table(pair: IntegrationPair, name: str) -> tuple[int, dict[str, str]]:
    """The pair's ledger account table (made when missing) and its rows."""
    table, _ = LookupTable.objects.get_or_create(
        pair=pair, name=name, defaults={"on_miss": LookupTable.OnMiss.ERROR}
    )
    return table.pk, dict(table.entries.values_list("key", "value"))


def ledger_accounts(ctx: StepContext) -> dict[str, Any]:
    name = ctx.erp.ledger_table
    table, rows = ctx.kept(
        ("ledger table", ctx.pair.pk, name), lambda: ledger_table(ctx.pair, name)
    )
    known = dict(rows)  # what this run learns is saved, which begins the next generation
    lines = []
    for index, line in enumerate(ctx.outputs[ITEMS]["lines"], start=1):
        code = str(line.get("gl_account") or "").strip()
        if code and code not in known:
            ledger = ctx.erp.ledger_account(code)
            if ledger:
                LookupEntry.objects.get_or_create(
                    table_id=table, key=code, defaults={"value": ledger}
                )
                known[code] = ledger
        if code in known:
            lines.append(line | {"gl_account": code})
            continue
        ledger = ctx.erp.product_ledger_account(str(line.get("sku") or ""))
        if not ledger:
            raise ValidationError(
                f"Line {index} ({line.get('sku')}) has no Sage ledger account: GL account "
                f"“{code}” is not in Sage and the product is not either. Add a row for it to "
                f"the lookup table “{name}” or set GL Account Code, then retry.",
                fields={f"lines[{index}].gl_account": code},
            )
        lines.append(line | {"gl_account": "", "ledger_account_id": ledger})
    return {"lines": lines}
