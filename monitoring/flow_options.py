"""A flow's options as a finance or ops person reads them on the pair's Flows page.

Each option of a flow template (`Flow.default_options`) gets a field that fits it: a select
for a choice, a stage picker fed by the CRM, a table for a map (who keeps each customer
field, the stage each order status moves a deal to), Sage's warehouses to tick, the anomaly
holds' switch and limits. An option
the pair's systems would ignore is not shown (closed stages, for a CRM with products).

The lists come from the pair's systems (`monitoring.pair_systems`); a system that does not
answer leaves its pickers as text boxes that say why. What an option is made of, and the
pickers the builders here share, are in `monitoring.flow_option_fields`.
"""

from collections.abc import Callable
from decimal import Decimal

from django import forms

from connectors.roles import ITEM_LIST, ITEM_RECORDS, ORDER_INVOICES, PURCHASE_ORDERS
from flows.anomaly.step import ANOMALY_CHECKS
from flows.base import Flow
from flows.models import FlowConfig
from flows.steps import invoice_after_order, purchasing
from flows.steps.tasks import EVENT_WORDS, FLOW_EVENTS
from flows.usecases.contact_sync import DEFAULT_OWNERS as CONTACT_OWNERS
from flows.usecases.contact_sync import FIELD_WORDS as CONTACT_FIELD_WORDS
from flows.usecases.customer_sync import DEFAULT_OWNERS
from flows.usecases.deal_stage_to_order_status import DONE_WORDS, SETTABLE
from flows.usecases.deal_stage_to_order_status import OPTION as STAGE_STATUSES
from flows.usecases.order_status_to_crm import STATUS_LABELS
from monitoring.flow_option_fields import (
    TICKED,
    Option,
    OptionContext,
    not_blank,
    number_option,
    pick_many,
    plain_option,
    stage_field,
    upper_first,
    whole_or_text,
    with_current,
)
from monitoring.pair_systems import PairSystems, trigger_choices

CUSTOMER_FIELD_WORDS = {
    "name": "Name", "billing_address": "Billing address", "phone": "Phone", "email": "Email",
    "credit_limit": "Credit limit", "terms": "Payment terms", "balance": "Balance",
}  # fmt: skip


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
        return None  # the CRM marks its closed deals itself (Salesforce IsClosed)
    help = "Deals in these stages get no stock summary and are not told of short stock."
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


def deal_stage(ctx: OptionContext) -> Option:
    label, systems = "Stage the deal is made at", ctx.systems
    help = f"The {systems.crm_label} stage a deal made from a {systems.erp_label} order starts in."
    field = stage_field(ctx, ctx.value, "(the first stage)", label, help)
    return Option("deal_stage", label, field)


def stage_statuses(ctx: OptionContext) -> Option:
    """Per CRM stage, what a deal moving there does to its order (nothing, by default)."""
    current, erp, listing = ctx.value or {}, ctx.systems.erp_label, ctx.systems.stages
    stages = list(listing.values) if listing.values is not None else list(current)
    choices = [("", "(leave the order as it is)")]
    choices += [(status, upper_first(DONE_WORDS[status])) for status in SETTABLE]
    rows = tuple(  # keyed by position: a stage's name may hold spaces, which ids may not
        (f"stage{index}", stage, forms.ChoiceField(
            choices=with_current(choices, current.get(stage, ""), "not possible"),
            required=False, initial=current.get(stage, "")))
        for index, stage in enumerate(stages)
    )  # fmt: skip
    help = (
        f"A deal whose {erp} sales order is open, moved to one of these stages, changes the "
        f"order; cancelling deletes it in {erp}, which is how {erp} cancels an order."
    )
    if listing.values is None:
        help += f" {listing.problem}: only the stages set before are shown."
    return Option(
        STAGE_STATUSES,
        f"Change the {erp} order when the deal moves to",
        rows=rows,
        columns=("Deal stage", f"{erp} order"),
        help=help,
        join=lambda values: {stages[int(key[5:])]: done for key, done in values.items() if done},
    )


def back_to_back(ctx: OptionContext) -> Option | None:
    erp = ctx.systems.erp_label
    if PURCHASE_ORDERS not in ctx.systems.erp_class.capabilities:
        return None  # the ERP takes no purchase orders
    label = "Order short lines from the vendor (back-to-back)"
    box = forms.BooleanField(
        required=False,
        label=label,
        initial=bool(ctx.value),
        help_text=f"After the sales order, each line asking for more than the {erp} warehouse "
        "has available is bought from the item's primary vendor: one purchase order per "
        "vendor for the shortfall, noted on the deal.",
    )
    return Option(purchasing.OPTION, label, box, store=bool)


def invoice_after(ctx: OptionContext) -> Option | None:
    erp = ctx.systems.erp_label
    if ORDER_INVOICES not in ctx.systems.erp_class.capabilities:
        return None  # the ERP does not invoice its sales orders
    label = "Invoice the sales order straight away"
    box = forms.BooleanField(
        required=False,
        label=label,
        initial=bool(ctx.value),
        help_text=f"After the sales order, {erp} invoices it (its lines, shipped in full): the "
        "invoice number goes to the deal's invoice field and a note. For services sold and "
        "billed at once.",
    )
    return Option(invoice_after_order.OPTION, label, box, store=bool)


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


def contact_owners(ctx: OptionContext) -> Option:
    systems = ctx.systems
    current = {**CONTACT_OWNERS, **(ctx.value or {})}
    choices = [("crm", systems.crm_label), ("sage", systems.erp_label)]
    rows = tuple(
        (name, words, forms.ChoiceField(choices=choices, initial=current[name]))
        for name, words in CONTACT_FIELD_WORDS.items()
    )
    return Option(
        "contact_owners",
        "Which system keeps each contact field",
        rows=rows,
        columns=("Contact field", "Kept in"),
        help="A change is copied only from the system that keeps the field; a new contact "
        "is made on the other side with every value it has.",
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
    STAGE_STATUSES: stage_statuses,
    purchasing.OPTION: back_to_back,
    invoice_after_order.OPTION: invoice_after,
    "deal_stage": deal_stage,
    "owners": owners,
    "contact_owners": contact_owners,
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


def flow_options(config: FlowConfig, flow: Flow, systems: PairSystems) -> list[Option]:
    """The options of the flow that fit the pair's systems, in the template's order."""
    shown = []
    for name, default in flow.default_options.items():
        ctx = OptionContext(systems, flow, config.options.get(name, default), default)
        option = BUILDERS[name](ctx) if name in BUILDERS else plain_option(ctx, name)
        if option is not None:
            shown.append(option)
    return shown
