"""A flow's options as a finance or ops person reads them on the pair's Flows page.

Each option of a flow template (`Flow.default_options`) gets a field that fits it: a select
for a choice, a stage picker fed by the CRM, a table for a map (who keeps each customer
field, the stage each order status moves a deal to), Sage's warehouses to tick, the anomaly
holds' switch and limits. An option
the pair's systems would ignore is not shown (closed stages, for a CRM with products).

The lists come from the pair's systems (`monitoring.pair_systems`); a system that does not
answer leaves its pickers as text boxes that say why.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms

from connectors.roles import ITEM_LIST, ITEM_RECORDS
from flows.anomaly.step import ANOMALY_CHECKS
from flows.base import Flow
from flows.models import FlowConfig
from flows.steps.tasks import EVENT_WORDS, FLOW_EVENTS
from flows.usecases.customer_sync import DEFAULT_OWNERS
from flows.usecases.order_status_to_crm import STATUS_LABELS
from monitoring.pair_systems import Listing, PairSystems, trigger_choices

CUSTOMER_FIELD_WORDS = {
    "name": "Name", "billing_address": "Billing address", "phone": "Phone", "email": "Email",
    "credit_limit": "Credit limit", "terms": "Payment terms", "balance": "Balance",
}  # fmt: skip
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


# ---------------------------------------------------------------- the options, by name


def trigger_stage(ctx: OptionContext) -> Option:
    won = ctx.systems.crm_class.won_stage
    label = "Stage that starts it"
    help = f"A deal moving into this stage of {ctx.systems.crm_label} starts the flow."
    blank = f"{won} (the won stage)"
    return Option("trigger_stage", label, stage_field(ctx, ctx.value, blank, label, help, won))


def approval_threshold(ctx: OptionContext) -> Option:
    currency = ctx.systems.pair.base_currency
    label = f"Approval needed above ({currency})"
    amount = forms.DecimalField(
        label=label,
        min_value=0,
        decimal_places=2,
        initial=Decimal(str(ctx.value or 0)),
        help_text=f"A deal worth more than this, in {currency}, waits for an approver "
        "before anything is written to Sage.",
    )
    return Option("approval_threshold", label, amount, store=whole_or_text)


def whole_or_text(value: Decimal) -> int | str:
    """Money kept exact in JSON: a whole amount as a number, one with cents as text."""
    return int(value) if value == value.to_integral_value() else str(value)


def unknown_item_policy(ctx: OptionContext) -> Option:
    erp = ctx.systems.erp_label
    choices = [
        ("flag", "Stop the deal and say which item (add it, then retry)"),
        ("skip_line", "Leave the line out and say so on the deal"),
    ]
    if ctx.systems.erp_class.creates_items:
        choices.append(("create", f"Create the item in {erp}"))
    label = f"An item {erp} does not know"
    choices = with_current(choices, ctx.value, f"not possible in {erp}")
    policy = forms.ChoiceField(choices=choices, label=label, initial=ctx.value)
    return Option("unknown_item_policy", label, policy)


def poll_interval(ctx: OptionContext) -> Option | None:
    if FlowConfig.Trigger.POLL not in dict(trigger_choices(ctx.flow, ctx.systems, "")):
        return None  # changes are pushed: nothing to poll
    label = "Check for changes every (seconds)"
    seconds = forms.IntegerField(
        label=label,
        min_value=10,
        initial=ctx.value,
        help_text="How often the changes are read while polling.",
    )
    return Option("poll_interval", label, seconds)


def warehouses(ctx: OptionContext) -> Option | None:
    listing = ctx.systems.warehouses
    if listing.values == {}:
        return None  # the ERP keeps no warehouses
    help = "The quantity on hand told to the CRM is their total; none ticked: every warehouse."
    unknown = f"not in {ctx.systems.erp_label} now"
    return pick_many("warehouses", "Warehouses that count", help, listing, ctx.value, unknown)


def closed_stages(ctx: OptionContext) -> Option | None:
    if ctx.systems.crm_class.item_entity:
        return None  # stock goes to the CRM's products, not to its deals
    help = "Deals in these stages are not told of short stock."
    unknown = f"not a {ctx.systems.crm_label} stage now"
    listing = ctx.systems.stages
    return pick_many("closed_stages", "Stages of closed deals", help, listing, ctx.value, unknown)


def status_stages(ctx: OptionContext) -> Option:
    current, erp = ctx.value or {}, ctx.systems.erp_label
    rows = tuple(
        (status, upper_first(words.format(erp=erp)),
         stage_field(ctx, current.get(status, ""), "(stays where it is)", words, ""))
        for status, words in STATUS_LABELS.items()
    )  # fmt: skip
    return Option(
        "status_stages",
        "Move the deal when its order is",
        rows=rows,
        columns=(f"{erp} order", "Deal stage"),
        help="A note on the deal tells each change of status; a stage chosen here also "
        "moves the deal.",
        join=not_blank,
    )


def owners(ctx: OptionContext) -> Option:
    systems = ctx.systems
    current = {**DEFAULT_OWNERS, **(ctx.value or {})}
    rows = []
    for name in DEFAULT_OWNERS:
        choices = [("crm", systems.crm_label), ("sage", systems.erp_label)]
        if name not in systems.erp_class.writable_fields:  # only ever read from Sage
            choices = [("sage", f"{systems.erp_label} (read-only there)")]
        choices = with_current(choices, current[name], "not possible")
        keeper = forms.ChoiceField(choices=choices, initial=current[name])
        rows.append((name, CUSTOMER_FIELD_WORDS.get(name, name), keeper))
    return Option(
        "owners",
        "Which system keeps each customer field",
        rows=tuple(rows),
        columns=("Customer field", "Kept in"),
        help="A change is copied only from the system that keeps the field.",
    )


def crm_fields(ctx: OptionContext) -> Option | None:
    systems = ctx.systems
    targets = systems.crm_class.account_fields
    if not targets:
        return None  # the CRM keeps Sage's values its own way
    entity, listing, current = systems.crm_class.account_entity, systems.account_fields, ctx.value
    rows = []
    for name, default in targets.items():
        value = (current or {}).get(name) or default
        if listing.values is None:
            target: forms.Field = forms.CharField(initial=value, help_text=listing.problem)
        else:
            choices = with_current(list(listing.values.items()), value, f"not on the {entity}")
            target = forms.ChoiceField(choices=choices, initial=value)
        rows.append((name, f"{CUSTOMER_FIELD_WORDS.get(name, name)} field", target))
    return Option(
        "crm_fields",
        f"{systems.crm_label} {entity} fields that hold {systems.erp_label}'s values",
        rows=tuple(rows),
        columns=(f"{systems.erp_label} value", f"{entity} field"),
        join=lambda values: {k: v for k, v in values.items() if v and v != targets[k]},
    )


def list_price_level(ctx: OptionContext) -> Option | None:
    systems = ctx.systems
    crm_keeps, erp_lists = systems.crm_class.capabilities, systems.erp_class.capabilities
    if ITEM_RECORDS not in crm_keeps or ITEM_LIST not in erp_lists:
        return None  # no items go to the CRM
    label = "List price level"
    level = forms.CharField(
        required=False,
        label=label,
        initial=ctx.value,
        help_text=f"The {systems.erp_label} customer price level whose prices become the "
        f"list prices of {systems.crm_label} products; empty: each item's standard price.",
    )
    return Option("list_price_level", label, level, store=str.strip)


def anomaly_checks(ctx: OptionContext) -> Option:
    erp = ctx.systems.erp_label
    label = "Hold deals that look unusual"
    box = forms.BooleanField(
        required=False,
        label=label,
        initial=bool(ctx.value),
        help_text=f"Before anything is written to {erp}, a deal far from the customer's own "
        f"history or from {erp}'s prices, or a repeat of a recent order, waits for an "
        "approver with the reason in words.",
    )
    return Option(ANOMALY_CHECKS, label, box, store=bool)


def anomaly_price_factor(ctx: OptionContext) -> Option | None:
    erp = ctx.systems.erp_label
    if ITEM_LIST not in ctx.systems.erp_class.capabilities:
        return None  # the ERP lists no prices to compare with
    help = (
        f"A line priced this many times above or below every {erp} price of its item "
        "(standard or price level) is held: 3 holds a price typed ten times too high or too "
        "low and lets discounts through."
    )
    return number_option(ctx, "anomaly_price_factor", "Hold a unit price off the list by (times)",
                         help, Decimal("1.1"))  # fmt: skip


def anomaly_history_score(ctx: OptionContext) -> Option:
    help = (
        "How far a deal's amount (above the customer's usual) or a line's quantity may stray "
        "from the customer's own earlier deals, in spreads of that history (a robust "
        "z-score), before the deal is held: 4.5 holds a tenfold slip and lets ordinary "
        "variation through; lower holds more."
    )
    return number_option(ctx, "anomaly_history_score", "Unusual amount or quantity: score above",
                         help, Decimal(1))  # fmt: skip


def anomaly_min_history(ctx: OptionContext) -> Option:
    help = (
        f"A customer with fewer deals that reached {ctx.systems.erp_label} is judged on prices "
        "and repeats only."
    )
    label = "Earlier deals needed to judge against history"
    return number_option(ctx, "anomaly_min_history", label, help, Decimal(1), whole=True)


def anomaly_duplicate_days(ctx: OptionContext) -> Option:
    help = (
        "A deal with the same customer, total and lines as another deal's order won this many "
        "days before is held as a second order; 0: never."
    )
    label = "Hold a repeat of an order won within (days)"
    return number_option(ctx, "anomaly_duplicate_days", label, help, Decimal(0), whole=True)


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


def task_events(ctx: OptionContext) -> Option | None:
    offered = FLOW_EVENTS.get(ctx.flow.name, ())
    if not offered:
        return None  # the flow raises no event a task follows up
    crm, value = ctx.systems.crm_label, ctx.value or []
    label = "Make a follow-up task when"
    choices = with_current([(e, EVENT_WORDS[e]) for e in offered], value, "not raised here")
    ticks = forms.MultipleChoiceField(
        choices=choices, required=False, label=label, initial=value, widget=TICKED,
        help_text=f"The deal's owner in {crm} gets a task to call the customer, with the "
        "reason and a due date; once per event, however often the run is retried.",
    )  # fmt: skip
    return Option("task_events", label, ticks, store=list)


def task_due_days(ctx: OptionContext) -> Option | None:
    if not FLOW_EVENTS.get(ctx.flow.name):
        return None
    help = "Working days (Monday to Friday) the owner has for a follow-up task; 0: today."
    label = "Follow-up task due in (working days)"
    return number_option(ctx, "task_due_days", label, help, Decimal(0), whole=True)


BUILDERS: dict[str, Callable[[OptionContext], Option | None]] = {
    "trigger_stage": trigger_stage,
    "approval_threshold": approval_threshold,
    "unknown_item_policy": unknown_item_policy,
    "poll_interval": poll_interval,
    "warehouses": warehouses,
    "closed_stages": closed_stages,
    "status_stages": status_stages,
    "owners": owners,
    "crm_fields": crm_fields,
    "list_price_level": list_price_level,
    ANOMALY_CHECKS: anomaly_checks,
    "anomaly_price_factor": anomaly_price_factor,
    "anomaly_history_score": anomaly_history_score,
    "anomaly_min_history": anomaly_min_history,
    "anomaly_duplicate_days": anomaly_duplicate_days,
    "task_events": task_events,
    "task_due_days": task_due_days,
}


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


def flow_options(config: FlowConfig, flow: Flow, systems: PairSystems) -> list[Option]:
    """The options of the flow that fit the pair's systems, in the template's order."""
    shown = []
    for name, default in flow.default_options.items():
        ctx = OptionContext(systems, flow, config.options.get(name, default), default)
        option = BUILDERS[name](ctx) if name in BUILDERS else plain_option(ctx, name)
        if option is not None:
            shown.append(option)
    return shown
