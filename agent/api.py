"""What a product's HTTP endpoints share: the routing, `GET /v1/health`, and the checks of
a body every product makes.

A product's API (`agent.sage100.api.Sage100Api`, `agent.sage50.api.Sage50Api`) lists its
werkzeug `Rule`s and answers each endpoint in `on_<endpoint>(payload, **values)` with
(status, data); `payload` is the request's JSON object (floats as Decimal), `values` the
rule's path values plus `match` for the endpoints in `conditional_creates`. Signing,
idempotency, the body limit and turning backend errors into replies are the server's.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.routing import Map, Rule

from agent.backend import EXISTED, AgentBackend, Record

COLUMN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadRequest(Exception):
    """The body is not what the endpoint needs (400 bad_request); `field` names the value."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ProductApi:
    """One Sage product's endpoints over its backend."""

    product = ""  # "sage100", "sage50": in the health reply, so the wrong agent is noticed
    conditional_creates: frozenset[str] = frozenset()  # endpoints taking `?match=<field>`

    def __init__(self, backend: AgentBackend) -> None:
        self.backend = backend
        self.url_map = Map(
            [Rule("/v1/health", endpoint="health", methods=["GET"]), *self.rules()],
            strict_slashes=False,
        )

    def rules(self) -> list[Rule]:
        """The product's endpoints (new Rule objects: a Rule belongs to one Map)."""
        return []

    def on_health(self, payload: dict) -> tuple[int, Any]:
        return 200, {"health": {**self.backend.health(), "product": self.product}}


def check_match(values: dict, match: str) -> None:
    """`match` must name a field the body gives a value for."""
    if not match:
        return
    if not COLUMN_NAME.match(match) or values.get(match) in (None, ""):
        raise BadRequest(
            f'"match" must name a column the body gives a value for, not {match!r}.', "match"
        )


def created(name: str, record: Record) -> tuple[int, Any]:
    """201 with the record written, or 200 with the one a conditional create found."""
    existed = bool(record.pop(EXISTED, False))
    return (200 if existed else 201), {name: record, "existed": existed}


def lines_of(payload: dict) -> tuple[dict, list[dict]]:
    """A document body split into its header and its `lines` (a list of objects)."""
    header = dict(payload)
    lines = header.pop("lines", None)
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise BadRequest('"lines" must be a list of objects.', "lines")
    return header, lines


def plain_values(values: dict, where: str = "") -> None:
    """Every value a plain JSON value (text, number, true/false or null), none nested."""
    for name, value in values.items():
        if isinstance(value, dict | list):
            field = f"{where}{name}"
            raise BadRequest(f'"{field}" must be a plain value, not a list or object.', field)


def decimal_value(values: dict, name: str, where: str = "") -> None:
    """Turn `values[name]`, when given, into a Decimal (a JSON number or numeric text)."""
    value = values.get(name)
    if value is None:
        return
    field = f"{where}{name}"
    try:
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise InvalidOperation
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadRequest(f'"{field}" must be a number, not {value!r}.', field) from None
    if not number.is_finite():
        raise BadRequest(f'"{field}" must be a number, not {value!r}.', field)
    values[name] = number


def iso_date_value(values: dict, name: str, where: str = "") -> None:
    """`values[name]`, when given, must be a date as ISO text (YYYY-MM-DD)."""
    value = values.get(name)
    if value is not None and not is_iso_date(value):
        field = f"{where}{name}"
        raise BadRequest(f'"{field}" must be a date as YYYY-MM-DD, not {value!r}.', field)


def is_iso_date(value: Any) -> bool:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
