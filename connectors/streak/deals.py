"""A Streak box made for an order keyed in Sage (`CrmRole.create_deal`): in the connection's
pipeline, at the stage asked for (else the pipeline's first), with the organization linked
and the Amount, Sage Order No, Deal ID, Products and (where the pipeline has it) Expected
Close Date fields set.

Streak has no idempotency key: a box whose Sage Order No is the order's is looked for first,
so a retry after a lost reply finds the box the first try made instead of making another.
"""

from typing import Any
from urllib.parse import quote

from clarity.formats import plain_number
from connectors.base import Record
from connectors.errors import ValidationError
from connectors.streak.client import SYSTEM

ORDER_FIELD = "Sage Order No"  # the box field the order's number is written to
AMOUNT_FIELD = "Amount"
DEAL_ID_FIELD = "Deal ID"
CURRENCY_FIELD = "Currency"
PRODUCTS_FIELD = "Products"
CLOSE_DATE_FIELD = "Expected Close Date"  # set only where the pipeline has the field


def box_for_order(crm: Any, order_number: str) -> Record | None:
    """The pipeline's box that already names the order, if any."""
    found = crm.search_boxes(**{ORDER_FIELD: order_number})
    return found[0] if found else None


def create_box(crm: Any, account_key: str, values: dict[str, Any]) -> str:
    """The box for the order (found, or made and linked to the organization); its key."""
    order_number = str(values.get("order_number") or "")
    if not order_number:
        raise ValidationError(
            "A deal made from a Sage order needs the order's number.",
            system=SYSTEM,
            fields={"order_number": "required"},
        )
    if found := box_for_order(crm, order_number):
        return found["key"]
    fields = {ORDER_FIELD: order_number, AMOUNT_FIELD: str(values.get("amount") or "")}
    if values.get("currency"):
        fields[CURRENCY_FIELD] = values["currency"]
    if values.get("lines"):
        fields[PRODUCTS_FIELD] = "\n".join(products_line(line) for line in values["lines"])
    if values.get("reference"):
        fields[DEAL_ID_FIELD] = values["reference"]
    if values.get("close_date") and has_field(crm, CLOSE_DATE_FIELD):
        fields[CLOSE_DATE_FIELD] = values["close_date"]
    box = crm.create_box(
        {"name": values["name"], "stage": values.get("stage") or "", "fields": fields}
    )
    crm.client.post(
        f"/v1/boxes/{quote(box['key'], safe='')}", {"organizations": [{"key": account_key}]}
    )
    return box["key"]


def has_field(crm: Any, name: str) -> bool:
    """Whether the connection's pipeline has a field of this name (one added in Streak
    since the pipeline was last read counts)."""
    named = {field.get("name") for field in crm.pipeline().fields}
    return name in named or name in {
        field.get("name") for field in crm.pipeline(refresh=True).fields
    }


def products_line(line: dict[str, Any]) -> str:
    """One order line as the Products field writes it: "WIDGET-100 x 3 @ 45.00"."""
    return f"{line['sku']} x {plain_number(line['quantity'])} @ {line['unit_price']:.2f}"
