"""Won deals for the anomaly-hold tests (integration and e2e): a customer's ordinary deals and
the ones that look unusual, made in the Streak sandbox and delivered as its webhook."""

from decimal import Decimal

from flows.models import SyncRun
from sandbox.streak import data as streak_data
from tests import won_deals as shared

TEMPLATE = "SAL-1005"  # Brightwater Labs, USD: WIDGET-117 at 70.99 and WIDGET-139 at 34.99
ORDINARY = [((9, "70.99"), (10, "34.99")), ((8, "70.99"), (12, "34.99")),
            ((10, "70.99"), (9, "34.99")), ((7, "70.99"), (11, "34.99")),
            ((9, "70.99"), (8, "34.99"))]  # fmt: skip
TYPO = "Unit price of WIDGET-117 is 7.10 USD; Sage 100 lists 70.99 USD (a tenth)."


def won_deal(streak_sandbox, deal_id: str, lines, template: str = TEMPLATE) -> dict:
    """A new won box of the template's organization selling `lines` ((code, quantity,
    price)); returns it as Streak's webhook carries it."""
    box = shared.won_clone(streak_sandbox, template, deal_id)
    stored = streak_sandbox.app.store.get("boxes", box["key"])
    amount = sum((Decimal(quantity) * Decimal(price) for _, quantity, price in lines), Decimal(0))
    stored["fields"] |= {
        streak_data.FIELD_PRODUCTS: "\n".join(f"{c} x {q} @ {p}" for c, q, p in lines),
        streak_data.FIELD_AMOUNT: f"{amount:.2f}",
    }
    streak_sandbox.app.store.put("boxes", box["key"], stored)
    return shared.raw_box(streak_sandbox, box["key"])


def brightwater(streak_sandbox, deal_id: str, widgets) -> dict:
    """A won deal of Brightwater Labs selling (quantity, price) of WIDGET-117 and WIDGET-139."""
    (quantity_117, price_117), (quantity_139, price_139) = widgets
    lines = [("WIDGET-117", quantity_117, price_117), ("WIDGET-139", quantity_139, price_139)]
    return won_deal(streak_sandbox, deal_id, lines)


def deliver(client, pair, token, box: dict) -> SyncRun:
    """Streak's webhook for `box`; the run it started, as it stands after running inline."""
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    run.refresh_from_db()
    return run


def five_ordinary_deals(client, streak_sandbox, pair, token) -> list[SyncRun]:
    """Brightwater Labs' history: five deals that reach Sage, none held."""
    runs = []
    for number, widgets in enumerate(ORDINARY, start=1):
        run = deliver(client, pair, token, brightwater(streak_sandbox, f"USUAL-{number}", widgets))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
        runs.append(run)
    return runs
