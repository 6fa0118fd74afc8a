"""Which events start a won-deal run, and the first step: re-read the deal from the CRM.

The webhook is a hint, not the truth: `read_deal` fetches the deal, its organization or
account and a contact as they are now, and only a deal still in the trigger stage goes on.

Streak webhooks name the stage by key, so `accepts` compares keys. The key of the
`trigger_stage` option is resolved lazily: the first run of a pair (or the first after the
option changed) is started for any stage change, its `read_deal` resolves the name through
the Streak connector and stores the key in the config's options (`trigger_stage_key`, with
the name it came from), and from then on other stages start no run at all. Salesforce
Outbound Messages carry `StageName` itself, so they are compared by name.

Salesforce can also be polled instead (the config's trigger "poll"): Opportunity changes by
SystemModstamp, keyed by the bare Id like Outbound Messages, the record as the payload. A
polled opportunity still in Closed Won changes again when we write the order number back,
so a polled event of a deal already bound to its order starts no run.
"""

from typing import Any

from django.db import transaction

from connectors.base import WebhookEvent
from connectors.errors import ValidationError
from connectors.salesforce.connector import soql_literal
from flows.base import StepContext
from flows.models import ExternalLink, FlowConfig
from flows.polling import Watch, watch
from flows.steps import trigger_stage
from mappings.canonical import to_json

STAGE_KEY, STAGE_KEY_FOR, PIPELINE_KEY = (
    "trigger_stage_key",
    "trigger_stage_key_for",
    "trigger_pipeline_key",
)
OPPORTUNITY_FIELDS = (
    "Id", "Name", "StageName", "CloseDate", "Amount", "CurrencyIsoCode", "ExternalID__c",
    "AccountId", "Description",
)  # fmt: skip
ACCOUNT_FIELDS = (
    "Id", "Name", "Phone", "Industry", "AccountNumber", "BillingStreet", "BillingCity",
    "BillingState", "BillingPostalCode", "BillingCountry", "ShippingStreet", "ShippingCity",
    "ShippingState", "ShippingPostalCode", "ShippingCountry",
)  # fmt: skip
POLLED_OPPORTUNITY = "salesforce.opportunity"
DEAL_DOCUMENTS = ("sales_order", "invoice")  # ExternalLink entities of the won-deal flows
LINE_FIELDS = ("ProductCode", "Name", "Quantity", "UnitPrice", "TotalPrice", "Product2.Family")
CONTACT_FIELDS = ("FirstName", "LastName", "Email", "Phone", "Title")


def accepts_won_deal(config: FlowConfig, event: WebhookEvent) -> bool:
    """From the event alone: did the deal just reach the trigger stage (as far as we know)?"""
    if event.kind == "BOX_CHANGE_STAGE":
        options = config.options
        if options.get(STAGE_KEY_FOR) != trigger_stage(config, "streak"):
            return True  # not resolved yet: the run's read_deal decides and resolves it
        return event.payload.get("stageKey") == options.get(STAGE_KEY) and event.payload.get(
            "pipelineKey"
        ) == options.get(PIPELINE_KEY)
    fields = event.payload.get("fields") or event.payload
    if fields.get("StageName") != trigger_stage(config, "salesforce"):
        return False
    return (
        event.kind != POLLED_OPPORTUNITY
        or not ExternalLink.objects.filter(
            pair=config.pair_id, entity__in=DEAL_DOCUMENTS, crm_id=event.entity_key
        ).exists()
    )


def read_deal(ctx: StepContext) -> dict[str, Any]:
    """The deal as the CRM has it now, with what the default mappings expect beside it."""
    if ctx.pair.crm.system == "streak":
        record, stage, won = read_streak_box(ctx)
    else:
        record, stage, won = read_salesforce_opportunity(ctx)
    if not won:
        trigger = trigger_stage(ctx.config, ctx.pair.crm.system)
        ctx.set_summary(f"The deal is in {stage}, not {trigger}: nothing was written.")
    return {"won": won, "stage": stage, "record": to_json(record)}


def read_streak_box(ctx: StepContext) -> tuple[dict[str, Any], str, bool]:
    box = ctx.crm.get("Box", ctx.run.entity_key)
    trigger_key = remember_stage_key(ctx, box["pipelineKey"])
    organization = first_linked(ctx, box, "organizations", "Organization")
    contact = first_linked(ctx, box, "contacts", "Contact")
    record = box | {"organization": organization, "contact": contact}
    return record, box["stageName"], box["stageKey"] == trigger_key


def first_linked(ctx: StepContext, box: dict[str, Any], listed: str, entity: str) -> dict:
    keys = [item["key"] for item in box.get(listed) or []]
    return ctx.crm.get(entity, keys[0]) if keys else {}


def remember_stage_key(ctx: StepContext, pipeline_key: str) -> str:
    """The trigger stage's key in the box's pipeline, stored for `accepts` once resolved."""
    name = trigger_stage(ctx.config, "streak")
    options = ctx.config.options
    if options.get(STAGE_KEY_FOR) == name and options.get(PIPELINE_KEY) == pipeline_key:
        return options[STAGE_KEY]
    key = ctx.crm.pipeline(pipeline_key).stage_key(name)
    if key is None:  # perhaps added or renamed since the pipeline was read
        key = ctx.crm.pipeline(pipeline_key, refresh=True).stage_key(name)
    if key is None:
        raise ValidationError(
            f"The Streak pipeline has no stage “{name}”: set the flow's trigger stage to one "
            "of its stages.",
            system="Streak",
            fields={"trigger_stage": name},
        )
    with transaction.atomic():
        config = FlowConfig.objects.select_for_update().get(pk=ctx.config.pk)
        config.options = {
            **config.options, STAGE_KEY: key, STAGE_KEY_FOR: name, PIPELINE_KEY: pipeline_key
        }  # fmt: skip
        config.save(update_fields=["options", "updated_at"])
    ctx.config.options = config.options
    return key


def read_salesforce_opportunity(ctx: StepContext) -> tuple[dict[str, Any], str, bool]:
    opportunity_id = soql_literal(ctx.run.entity_key, "id")
    columns = [*OPPORTUNITY_FIELDS, *(f"Account.{name}" for name in ACCOUNT_FIELDS)]
    lines = f"(SELECT {', '.join(LINE_FIELDS)} FROM OpportunityLineItems)"
    soql = f"SELECT {', '.join(columns)}, {lines} FROM Opportunity WHERE Id = {opportunity_id}"
    found = list(ctx.crm.query(soql))
    if not found:
        raise ValidationError(
            f"Salesforce has no opportunity {ctx.run.entity_key} (deleted since the message?).",
            system="Salesforce",
        )
    opportunity = found[0]
    contact: dict[str, Any] = {}
    if opportunity.get("AccountId"):
        account_id = soql_literal(opportunity["AccountId"], "id")
        soql = f"SELECT {', '.join(CONTACT_FIELDS)} FROM Contact WHERE AccountId = {account_id}"
        contact = next(iter(ctx.crm.query(f"{soql} LIMIT 1")), {})
    stage = opportunity["StageName"]
    won = stage == trigger_stage(ctx.config, "salesforce")
    return opportunity | {"Contact": contact}, stage, won


watch(
    "deal_won_to_sales_order",
    Watch("crm", "salesforce", "Opportunity", POLLED_OPPORTUNITY, bare_key=True),
)
