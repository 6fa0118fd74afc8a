"""What the BOI write mixins (`boi_customers`, `boi_orders`, `boi_purchasing`) use of
`boi.BOIBackend`, declared once: the mixins cannot import boi.py, which imports them."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from agent.backend import Record


class BOIHelpers:
    """The session helpers `BOIBackend` gives its mixins (types only; see boi.py)."""

    _run: Callable[[Callable[[], Any]], Any]
    _bus: Callable[[str, str, str], AbstractContextManager[Any]]
    _check: Callable[..., int]
    _set_key: Callable[[Any, Record], int]
    _set_values: Callable[[Any, Record, Any], None]
    _get_value: Callable[[Any, str], Any]
    _reply: Callable[[Record], Record]
    _holding: Callable[..., list[tuple[str, str]]]
    _next_number: Callable[..., str]
    _new_document: Callable[[Any, str, str, str], None]
    _add_lines: Callable[[Any, list[Record]], list[Record]]
    _one_found: Callable[[list[str], str, str, Any], str | None]
