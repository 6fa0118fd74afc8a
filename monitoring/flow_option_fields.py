"""What a flow option on the pair's Flows page is made of: `Option` (one input, or a table of
inputs joined into one value), the context a builder reads (`OptionContext`), and the generic
pickers the builders in `monitoring.flow_options` share: a CRM stage picker, boxes to tick
from a system's list, a number box, and a plain input for an option no builder knows.

A list a system could not give leaves its picker a text box that says why.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms

from flows.base import Flow
from monitoring.pair_systems import Listing, PairSystems

TICKED = forms.CheckboxSelectMultiple(attrs={"class": "choice-list"})


@dataclass
class Option:
    """One option on the page: one input, or a table of inputs (`rows`: key, label, input)
    whose values `join` makes into the option's value."""

    name: str
    label: str
    input: forms.Field | None = None
    rows: tuple[tuple[str, str, forms.Field], ...] = ()
    columns: tuple[str, str] = ("", "")
    help: str = ""
    store: Callable[[Any], Any] = lambda value: value
    join: Callable[[dict[str, Any]], Any] = dict


@dataclass(frozen=True)
class OptionContext:
    systems: PairSystems
    flow: Flow
    value: Any  # the stored value, else the template's default
    default: Any


def with_current(choices: list[tuple[str, str]], current: Any, unknown: str) -> list:
    """`choices`, plus the stored values not among them, so that saving drops none."""
    known = {value for value, _ in choices}
    values = current if isinstance(current, list) else [current]
    return choices + [(v, f"{v} ({unknown})") for v in values if v and v not in known]


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def not_blank(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}


def whole_or_text(value: Decimal) -> int | str:
    """Money kept exact in JSON: a whole amount as a number, one with cents as text."""
    return int(value) if value == value.to_integral_value() else str(value)


def stage_field(
    ctx: OptionContext, value: Any, blank: str, label: str, help: str, won: str = ""
) -> forms.Field:
    """A picker of the CRM's stages (`blank` first, standing for `won` where given), or a
    text box saying why the stages could not be read."""
    listing, crm = ctx.systems.stages, ctx.systems.crm_label
    if listing.values is None:
        help = f"{help} {listing.problem}. Type the stage's name.".strip()
        return forms.CharField(required=False, label=label, initial=value, help_text=help)
    stages = [(stage, stage) for stage in listing.values if stage != won]
    choices = with_current([("", blank), *stages], value, f"not a {crm} stage now")
    return forms.ChoiceField(
        choices=choices, required=False, label=label, initial=value, help_text=help
    )


def pick_many(
    name: str, label: str, help: str, listing: Listing, value: list[str], unknown: str
) -> Option:
    """Boxes to tick from `listing`, or a text box of values separated by commas (saying
    why) when the system did not list them."""
    if listing.values is None:
        text = forms.CharField(
            required=False,
            label=label,
            initial=", ".join(value),
            help_text=f"{help} {listing.problem}. Type them, separated by commas.",
        )
        return Option(name, label, text, store=comma_list)
    choices = with_current(list(listing.values.items()), value, unknown)
    ticks = forms.MultipleChoiceField(
        choices=choices, required=False, label=label, initial=value, help_text=help, widget=TICKED
    )
    return Option(name, label, ticks, store=list)


def number_option(
    ctx: OptionContext, name: str, label: str, help: str, least: Decimal, whole: bool = False
) -> Option:
    """A number box; left empty, the template's default."""
    field: forms.Field = (
        forms.IntegerField(min_value=int(least)) if whole
        else forms.DecimalField(min_value=least, decimal_places=1)
    )  # fmt: skip
    field.required, field.label, field.help_text, field.initial = False, label, help, ctx.value

    def store(value: Decimal | int | None) -> int | float:
        if value is None:
            return ctx.default
        return int(value) if value == int(value) else float(value)

    return Option(name, label, field, store=store)


def plain_option(ctx: OptionContext, name: str) -> Option | None:
    """An option no builder knows yet, by its default's type (a list as text separated by
    commas); a map is not shown, and kept as it is."""
    label, default = name.replace("_", " ").capitalize(), ctx.default
    if isinstance(default, dict):
        return None
    if isinstance(default, list):
        text = forms.CharField(required=False, initial=", ".join(map(str, ctx.value or [])))
        text.label = label
        return Option(name, label, text, store=comma_list)
    plain: forms.Field = forms.CharField(required=False)
    if isinstance(default, bool):
        plain = forms.BooleanField(required=False)
    elif isinstance(default, int | float):
        plain = forms.DecimalField(min_value=0)
    plain.label, plain.initial = label, ctx.value
    store = type(default) if isinstance(default, int | float) else (lambda value: value)
    return Option(name, label, plain, store=store)
