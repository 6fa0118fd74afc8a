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
# A pair whose ERP takes both orders and invoices makes one of them (the pair's choice).
DEMO_FLOWS_OFF = {"streak-sage50-desktop": ("deal_won_to_sales_order",)}


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
        for slug, name, crm, erp in DEMO_PAIRS:
            if IntegrationPair.objects.filter(slug=slug).exists():
                continue
            # The token is never printed: `run_sandboxes --connect-demo` registers a fresh
            # URL with the sandbox CRMs, and the pair page's buttons issue new ones.
            pair = IntegrationPair(slug=slug, name=name, crm=connections[crm], erp=connections[erp])
            pair.rotate_webhook_token()
            pair.full_clean()
            pair.save()
            flows = set(DEMO_FLOWS) - set(DEMO_FLOWS_OFF.get(slug, ()))
            FlowConfig.objects.filter(pair=pair, flow__in=flows).update(enabled=True)
        for currency, rate in DEMO_RATES.items():
            CurrencyRate.objects.get_or_create(
                pair=None, from_currency=currency, to_currency="USD", as_of=RATES_AS_OF,
                defaults={"rate": rate},
            )  # fmt: skip
        self.stdout.write(
            f"Demo users: {', '.join(DEMO_USERS)} with password {password!r} "
            "(set CLARITY_DEMO_PASSWORD to change it for new users)."
        )
