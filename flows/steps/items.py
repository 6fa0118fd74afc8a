"""Matching the deal's lines to what Sage knows.

Sage 100: each product code goes through the pair's lookup table “Product code → Sage 100
item” (when it has one; a code not in it is tried as it is) and must be an item in CI_Item.
An unknown item is handled by the flow's `unknown_item_policy`: `flag` (default) stops the
run saying how to fix it, `skip_line` leaves the line out (the CRM note says so), `create` is
refused for Sage 100, whose bridge cannot create items. Item codes found in Sage are
remembered by this process for KNOWN_ITEM_SECONDS (found ones only: a code not found is
looked up live every time, so an item created in Sage passes at the next retry); an order
Sage refuses over an item makes the process forget them all.

Sage Accounting: each line needs a ledger account. The deal's GL Account Code goes through
the lookup table “GL account → Sage ledger account”; a code it lacks is filled in from
Sage's chart of accounts when exactly one ledger account has that nominal code. Without a
code (or with one Sage does not have), the line takes the sales ledger account of its
product in Sage (the product category's account).
"""

import time
from typing import Any

from connectors.errors import ValidationError
from connectors.models import Connection
from flows.base import StepContext
from flows.steps import MAP_DEAL
from mappings.defaults.base import GL_TO_LEDGER, PRODUCT_TO_SAGE100_ITEM
from mappings.lookups import load_table
from mappings.models import LookupEntry, LookupTable

KNOWN_ITEM_SECONDS = 300.0
# (connection id, its creation time, code in capitals) -> (expires at, Sage's ItemCode)
KNOWN_ITEMS: dict[tuple[Any, ...], tuple[float, str]] = {}


def match_items(ctx: StepContext) -> dict[str, Any]:
    table = load_table(ctx.pair, PRODUCT_TO_SAGE100_ITEM)
    policy = ctx.option("unknown_item_policy")
    lines, skipped = [], []
    for index, line in enumerate(ctx.outputs[MAP_DEAL]["document"]["lines"], start=1):
        sku = str(line.get("sku") or "")
        code = (table.folded.get(sku.strip().casefold()) if table else None) or sku
        item_code = sage100_item(ctx, code)
        if item_code:
            lines.append(line | {"sku": item_code})
        elif policy == "skip_line":
            skipped.append(sku)
        else:
            raise unknown_item(sku, index, policy)
    if not lines:
        raise ValidationError(
            f"No line of this deal sells an item Sage 100 has (skipped {', '.join(skipped)}): "
            f"add them to the lookup table “{PRODUCT_TO_SAGE100_ITEM}” or create the items, "
            "then retry.",
            fields={"lines": "no known item"},
        )
    return {"lines": lines, "skipped": skipped}


def sage100_item(ctx: StepContext, code: str) -> str:
    """Sage's ItemCode for `code`, or "" when Sage 100 has no such item (asked live)."""
    key = known_item_key(ctx.pair.erp, code)
    known = KNOWN_ITEMS.get(key)
    if known and known[0] > time.monotonic():
        return known[1]
    found = ctx.erp.search("item", limit=1, ItemCode=code)
    if not found:
        return ""
    KNOWN_ITEMS[key] = (time.monotonic() + KNOWN_ITEM_SECONDS, found[0]["ItemCode"])
    return found[0]["ItemCode"]


def known_item_key(connection: Connection, code: str) -> tuple[Any, ...]:
    return (connection.pk, str(connection.created_at), code.strip().upper())


def forget_items(connection: Connection) -> None:
    """Look every item of this connection up live again (one was refused by Sage)."""
    scope = known_item_key(connection, "")[:2]
    for key in [key for key in KNOWN_ITEMS if key[:2] == scope]:
        KNOWN_ITEMS.pop(key, None)


def unknown_item(sku: str, index: int, policy: str) -> ValidationError:
    if policy == "create":
        message = (
            f"Item {sku} is not in Sage 100, and the bridge cannot create items: create it in "
            f"Sage 100 or add it to the lookup table “{PRODUCT_TO_SAGE100_ITEM}”, then retry"
        )
    else:
        message = (
            f"Item {sku} is not in Sage 100: add it to the product lookup table or create the "
            "item, then retry"
        )
    return ValidationError(message, fields={f"lines[{index}].sku": sku})


def ledger_accounts(ctx: StepContext) -> dict[str, Any]:
    table, _ = LookupTable.objects.get_or_create(
        pair=ctx.pair, name=GL_TO_LEDGER, defaults={"on_miss": LookupTable.OnMiss.ERROR}
    )
    known = dict(table.entries.values_list("key", "value"))
    lines = []
    for index, line in enumerate(ctx.outputs[MAP_DEAL]["document"]["lines"], start=1):
        code = str(line.get("gl_account") or "").strip()
        if code and code not in known:
            ledger = ledger_by_nominal_code(ctx, code)
            if ledger:
                LookupEntry.objects.get_or_create(table=table, key=code, defaults={"value": ledger})
                known[code] = ledger
        if code in known:
            lines.append(line | {"gl_account": code})
            continue
        ledger = product_ledger(ctx, str(line.get("sku") or ""))
        if not ledger:
            raise ValidationError(
                f"Line {index} ({line.get('sku')}) has no Sage ledger account: GL account "
                f"“{code}” is not in Sage and the product is not either. Add a row for it to "
                f"the lookup table “{GL_TO_LEDGER}” or set GL Account Code, then retry.",
                fields={f"lines[{index}].gl_account": code},
            )
        lines.append(line | {"gl_account": "", "ledger_account_id": ledger})
    return {"lines": lines}


def ledger_by_nominal_code(ctx: StepContext, code: str) -> str:
    found = ctx.erp.search("ledger_accounts", nominal_code=code)
    return found[0]["id"] if len(found) == 1 else ""


def product_ledger(ctx: StepContext, sku: str) -> str:
    if not sku:
        return ""
    found = ctx.erp.search("products", item_code=sku)
    return ((found[0].get("sales_ledger_account") or {}).get("id") or "") if found else ""
