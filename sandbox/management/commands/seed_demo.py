from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from clarity.roles import APPROVER, INTEGRATION_ADMIN, OPERATOR, VIEWER
from connectors.models import Connection, IntegrationPair
from flows.models import FlowConfig
from flows.registry import FLOWS, flows_for
from flows.rules_versions import save_rules
from flows.steps.tasks import APPROVAL_REJECTED, CREDIT_LIMIT_EXCEEDED
from mappings.models import CurrencyRate

DEMO_USERS = {"admin": INTEGRATION_ADMIN, "operator": OPERATOR, "approver": APPROVER,
              "viewer": VIEWER}  # fmt: skip
SANDBOX_DIR = settings.VAR_DIR / "sandbox"

# The demo connections point at the local sandboxes (manage.py run_sandboxes).
DEMO_CONNECTIONS = [
    {
        "name": "Demo Streak",
        "system": "streak",
        "settings": {
            "base_url": "http://127.0.0.1:8101",
            "pipeline_key": "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDE6c2FuZGJveA",  # Sales
        },
        "secrets": {"api_key": "sandbox-streak-key"},
    },
    {
        "name": "Demo Streak Services",
        "system": "streak",
        "settings": {
            "base_url": "http://127.0.0.1:8101",
            "pipeline_key": "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDI6c2FuZGJveA",  # Services
        },
        "secrets": {"api_key": "sandbox-streak-key"},
    },
    {
        "name": "Demo Streak Wholesale",
        "system": "streak",
        "settings": {
            "base_url": "http://127.0.0.1:8101",
            "pipeline_key": "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDM6c2FuZGJveA",  # Wholesale
        },
        "secrets": {"api_key": "sandbox-streak-key"},
    },
    {
        "name": "Demo Salesforce",
        "system": "salesforce",
        "settings": {
            "login_url": "https://127.0.0.1:8443",
            "auth_flow": "client_credentials",
            "client_id": "sandbox-client",
            "api_version": "59.0",
            "ca_bundle": str(SANDBOX_DIR / "salesforce-cert.pem"),
            # Change Data Capture from the sandbox's Pub/Sub API (`run_subscribers`).
            "pubsub_address": "127.0.0.1:8445",
            "platform_event_channel": "/event/Sage_Order_Request__e",
        },
        "secrets": {"client_secret": "sandbox-secret"},
    },
    {
        "name": "Demo Sage 100",
        "system": "sage100",
        "settings": {
            "odbc_connection_string": f"DRIVER={{SQLite3}};Database={SANDBOX_DIR / 'sage100.db'}",
            "odbc_dialect": "sqlite",
            "company_code": "ABC",
            "bridge_url": "http://127.0.0.1:8104",
            "default_warehouse": "000",
        },
        "secrets": {"bridge_key": "sandbox-bridge-key"},
    },
    {
        "name": "Demo Sage 50 desktop",
        "system": "sage50desktop",
        "settings": {
            "odbc_connection_string": (
                f"DRIVER={{SQLite3}};Database={SANDBOX_DIR / 'sage50desktop.db'}"
            ),
            "odbc_dialect": "sqlite",
            "company_name": "Cedar Ridge Supply Co.",
            "agent_url": "http://127.0.0.1:8106",
            "customer_reference_field": "CustomField5",
        },
        "secrets": {"agent_key": "sandbox-agent-key"},
    },
    {
        "name": "Demo Sage 50",
        "system": "sage50",
        "settings": {
            "api_url": "http://127.0.0.1:8102/v3.1",
            "auth_url": "http://127.0.0.1:8102/oauth/authorize",
            "token_url": "http://127.0.0.1:8102/oauth/token",
            "client_id": "sandbox-client",
        },
        "secrets": {"client_secret": "sandbox-secret"},
    },
]
# (slug, name, CRM, ERP): deals won in Streak's Sales pipeline become Sage 100 orders, in its
# Services pipeline Sage Accounting invoices, in its Wholesale pipeline Sage 50 desktop
# invoices; Salesforce opportunities become Sage 100 orders.
DEMO_PAIRS = [
    ("streak-sage100", "Streak → Sage 100", "Demo Streak", "Demo Sage 100"),
    ("streak-sage50", "Streak → Sage Accounting", "Demo Streak Services", "Demo Sage 50"),
    (
        "streak-sage50-desktop",
        "Streak → Sage 50 desktop",
        "Demo Streak Wholesale",
        "Demo Sage 50 desktop",
    ),
    ("salesforce-sage100", "Salesforce → Sage 100", "Demo Salesforce", "Demo Sage 100"),
]
# Rates to the base currency (USD), so the demo's EUR and GBP deals convert.
DEMO_RATES = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
RATES_AS_OF = date(2025, 1, 1)
# Flows switched on for the demo pairs (others stay off until an admin turns them on).
DEMO_FLOWS = ("deal_won_to_sales_order", "deal_won_to_invoice", "order_status_to_crm",
              "payments_to_crm", "inventory_to_crm", "customer_sync")  # fmt: skip
# A pair whose ERP takes both orders and invoices makes one of them (the pair's choice; one
# may be on at a time): Sage 50 desktop invoices, Sage 100 takes orders (and, on the
# Salesforce pair, invoices each one: DEMO_OPTIONS).
DEMO_FLOWS_OFF = {
    "streak-sage50-desktop": ("deal_won_to_sales_order",),
    "streak-sage100": ("deal_won_to_invoice",),
    "salesforce-sage100": ("deal_won_to_invoice",),
}
# Flows a demo pair has on besides DEMO_FLOWS: people synced both ways on the pairs whose Sage
# keeps customer contacts, and a Streak deal's stage setting its Sage 100 order's status.
DEMO_FLOWS_ALSO = {
    "streak-sage100": ("contact_sync", "deal_stage_to_order_status"),
    "salesforce-sage100": ("contact_sync",),
}
# Options that show the newer features, set on a flow whose options are still its template's
# (an admin's choices are kept). The Streak Sales pair buys what an order is short of from
# the vendors; the Salesforce pair has Sage 100 invoice each order at once; the won-deal flows
# give the owner a task on a rejection or an exceeded credit limit; a won Streak deal moved
# to Closed-Lost cancels its Sage 100 order.
WON_DEAL_TASKS = {"task_events": [APPROVAL_REJECTED, CREDIT_LIMIT_EXCEEDED]}
DEMO_OPTIONS = {
    ("streak-sage100", "deal_won_to_sales_order"): {
        "back_to_back_purchase_orders": True,
        **WON_DEAL_TASKS,
    },
    ("salesforce-sage100", "deal_won_to_sales_order"): {
        "invoice_after_order": True,
        **WON_DEAL_TASKS,
    },
    ("streak-sage50", "deal_won_to_invoice"): WON_DEAL_TASKS,
    ("streak-sage50-desktop", "deal_won_to_invoice"): WON_DEAL_TASKS,
    ("streak-sage100", "deal_stage_to_order_status"): {
        "stage_statuses": {"Closed-Lost": "deleted"}
    },
}
# The rules editor's example, saved as version 1 of a flow that has no rules yet.
DEMO_RULES = {
    ("streak-sage100", "deal_won_to_sales_order"): [
        {
            "name": "Big deals",
            "match": "all",
            "conditions": [{"field": "total", "name": "", "op": "gt", "value": "25000"}],
            "action": {"kind": "hold", "text": "Over 25,000: check stock and terms first",
                       "field": "", "value": "", "flow": ""},
        }
    ],
}  # fmt: skip
DEMO_RULES_COMMENT = "Demo rules: a deal over 25,000 is held for review"


# Outside demo mode seed_demo creates nothing: its accounts' password is well known.
NOT_IN_DEMO_MODE = """\
Demo mode is off (CLARITY_DEMO is not set), so no demo users, connections or pairs were made:
their password is well known. For the demo on this machine, run `make run` (it sets
CLARITY_DEMO=1). For production, create your own admin with `manage.py createsuperuser`, give
others their accounts and roles in /admin/ (README, "Running in production")."""


class Command(BaseCommand):
    help = (
        "In demo mode (CLARITY_DEMO=1, as `make run` sets): create the demo users, the sandbox "
        "connections and four pairs with their flows on; safe to run again. "
        "`run_sandboxes --connect-demo` then registers their webhooks."
    )

    def handle(self, **options) -> None:
        if not settings.CLARITY_DEMO:
            self.stdout.write(NOT_IN_DEMO_MODE)
            return
        self.seed()

    @transaction.atomic
    def seed(self) -> None:
        password = settings.CLARITY_DEMO_PASSWORD
        for username, role in DEMO_USERS.items():
            user, created = get_user_model().objects.get_or_create(
                username=username, defaults={"is_staff": role == INTEGRATION_ADMIN}
            )
            if created:
                user.set_password(password)
                user.save()
            user.groups.set([Group.objects.get(name=role)])
        connections = {}
        for spec in DEMO_CONNECTIONS:
            connection, created = Connection.objects.get_or_create(
                name=spec["name"], defaults={"system": spec["system"], "settings": spec["settings"]}
            )
            if created:
                connection.set_secrets(spec["secrets"])
                connection.save()
            elif spec["settings"].keys() - connection.settings.keys():
                # A demo made by an older seed: add the settings it lacks, change none.
                connection.settings = {**spec["settings"], **connection.settings}
                connection.save(update_fields=["settings", "updated_at"])
            connections[spec["name"]] = connection
        changes = []
        for slug, name, crm, erp in DEMO_PAIRS:
            pair = IntegrationPair.objects.filter(slug=slug).first()
            if pair is None:
                # The token is never printed: `run_sandboxes --connect-demo` registers a fresh
                # URL with the sandbox CRMs, and the pair page's buttons issue new ones.
                pair = IntegrationPair(slug=slug, name=name, crm=connections[crm],
                                       erp=connections[erp])  # fmt: skip
                pair.rotate_webhook_token()
                pair.full_clean()
                pair.save()
                flows = set(DEMO_FLOWS) - set(DEMO_FLOWS_OFF.get(slug, ()))
                flows |= set(DEMO_FLOWS_ALSO.get(slug, ()))
                FlowConfig.objects.filter(pair=pair, flow__in=flows).update(enabled=True)
            else:
                changes += offer_new_flows(pair) + one_alternative_on(pair)
            changes += demo_options(pair) + demo_rules(pair)
        for currency, rate in DEMO_RATES.items():
            CurrencyRate.objects.get_or_create(
                pair=None, from_currency=currency, to_currency="USD", as_of=RATES_AS_OF,
                defaults={"rate": rate},
            )  # fmt: skip
        for line in changes:
            self.stdout.write(line)
        self.stdout.write(
            f"Demo users: {', '.join(DEMO_USERS)} with password {password!r} "
            "(set CLARITY_DEMO_PASSWORD to change it for new users)."
        )


def offer_new_flows(pair: IntegrationPair) -> list[str]:
    """A demo pair made before a flow shipped gets it, on when the demo has it on (a flow the
    pair had already keeps its switch)."""
    lines = []
    for flow in flows_for(pair.crm.system, pair.erp.system):
        on = flow.name in DEMO_FLOWS_ALSO.get(pair.slug, ())
        _, created = FlowConfig.objects.get_or_create(
            pair=pair, flow=flow.name, defaults={"enabled": on, "trigger": flow.trigger}
        )
        if created:
            lines.append(f"{pair.name}: flow {flow.label} added, {'on' if on else 'off'}.")
    return lines


def one_alternative_on(pair: IntegrationPair) -> list[str]:
    """A demo an earlier seed left with both a won deal's order and its invoice flow on (the
    Flows page never allows it) keeps the one the demo has on and stops the other."""
    on = set(FlowConfig.objects.filter(pair=pair, enabled=True).values_list("flow", flat=True))
    on &= set(FLOWS)
    lines = []
    for name in set(DEMO_FLOWS_OFF.get(pair.slug, ())) & on:
        choice = FLOWS[name].choice
        kept = [FLOWS[o].label for o in on - {name} if choice and FLOWS[o].choice == choice]
        if kept:
            FlowConfig.objects.filter(pair=pair, flow=name).update(enabled=False)
            lines.append(f"{pair.name}: {FLOWS[name].label} switched off: {kept[0]} is on.")
    return lines


def demo_options(pair: IntegrationPair) -> list[str]:
    """The demo's options on the pair's flows whose options nobody has changed."""
    lines = []
    for config in FlowConfig.objects.filter(pair=pair):
        wanted = DEMO_OPTIONS.get((pair.slug, config.flow))
        defaults = FLOWS[config.flow].default_options if config.flow in FLOWS else {}
        if not wanted or config.options not in ({}, defaults):
            continue
        config.options = {**defaults, **wanted}
        config.save(update_fields=["options", "updated_at"])
        lines.append(f"{pair.name}: {FLOWS[config.flow].label}: demo options set.")
    return lines


def demo_rules(pair: IntegrationPair) -> list[str]:
    """The demo's rule set, as the first version of a flow that has no rules."""
    lines = []
    for config in FlowConfig.objects.filter(pair=pair, rule_versions__isnull=True):
        rules = DEMO_RULES.get((pair.slug, config.flow))
        if rules:
            save_rules(config, rules, None, DEMO_RULES_COMMENT)
            lines.append(f"{pair.name}: {FLOWS[config.flow].label}: demo rules saved.")
    return lines
