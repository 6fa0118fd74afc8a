"""Join the demo pairs to the running sandboxes, so a deal won on a sandbox page flows.

Run by `run_sandboxes --connect-demo` once the sandboxes listen: Streak posts won deals,
organization changes (for customer sync) and people's (for contact sync) to the Streak pairs'
webhook URLs (a demo registered before an event joined `PAIR_EVENTS` is registered again);
the Salesforce connection follows the sandbox's Pub/Sub API (Change Data Capture, read by
`run_subscribers`) with Outbound Messages registered to the Salesforce pair's URL but
switched off (both would start a run per win), and the Sage 50 connection gets tokens as if
an admin had pressed Connect to Sage. Each step is skipped when already done, so restarting
changes nothing.
"""

import requests

from connectors.errors import ConnectorError
from connectors.models import Connection, IntegrationPair
from connectors.services import check_connection, has_webhook_registered, register_pair_webhook
from connectors.streak.webhooks import PAIR_EVENTS
from mappings.versions import create_default_mappings
from sandbox.core.server import RunningSandbox

STREAK_PAIRS = ("streak-sage100", "streak-sage50", "streak-sage50-desktop")
SALESFORCE_PAIR = "salesforce-sage100"
SAGE50_CONNECTION = "Demo Sage 50"


def connect_demo(sandboxes: dict[str, RunningSandbox]) -> list[str]:
    """What was done, one line each; a missing demo (no seed_demo yet) is said, not raised."""
    if not IntegrationPair.objects.filter(slug__in=STREAK_PAIRS).exists():
        return ["Demo pairs not found: run `manage.py seed_demo` first."]
    lines = []
    for slug in STREAK_PAIRS:
        pair = IntegrationPair.objects.select_related("crm").get(slug=slug)
        # A pair seeded before a default mapping shipped gets it (the others are kept).
        added = create_default_mappings(pair)
        lines += [f"{pair.name}: default mapping {mapping.name} added." for mapping in added]
        try:
            if has_webhook_registered(pair, PAIR_EVENTS):
                lines.append(f"{pair.name}: Streak webhook already registered.")
                continue
            registered, _ = register_pair_webhook(pair)
        except ConnectorError as exc:
            lines.append(f"{pair.name}: could not register the Streak webhook: {exc}")
            continue
        lines += [f"{pair.name}: Streak posts {hook['event']} to the pair." for hook in registered]
    if "salesforce" in sandboxes:
        lines.append(point_outbound_messages(sandboxes["salesforce"]))
        lines.append(follow_pubsub(sandboxes["salesforce"]))
    if "sage_accounting" in sandboxes:
        lines.append(connect_sage50(sandboxes["sage_accounting"]))
    return lines


def point_outbound_messages(salesforce: RunningSandbox) -> str:
    pair = IntegrationPair.objects.get(slug=SALESFORCE_PAIR)
    current = salesforce.app.outbound.endpoint_url or ""
    if current.startswith(pair.webhook_base_url):
        return f"{pair.name}: Outbound Messages already go to the pair."
    token = pair.rotate_webhook_token()
    pair.save(update_fields=["webhook_token_hash", "webhook_token_changed_at", "updated_at"])
    requests.post(
        f"{salesforce.url}/_control/settings",
        json={"outbound_url": pair.webhook_url(token)},
        verify=str(salesforce.app.data_dir / "salesforce-cert.pem"),
        timeout=10,
    ).raise_for_status()
    return f"{pair.name}: Salesforce sends Outbound Messages on Closed Won to the pair."


def follow_pubsub(salesforce: RunningSandbox) -> str:
    """The demo connection at the sandbox's Pub/Sub address (its port may be configured), and
    Outbound Messages off: change events carry the wins."""
    connection = IntegrationPair.objects.select_related("crm").get(slug=SALESFORCE_PAIR).crm
    address = salesforce.app.pubsub_address or ""
    if connection.settings.get("pubsub_address") != address:
        connection.settings = {**connection.settings, "pubsub_address": address}
        connection.save(update_fields=["settings", "updated_at"])
    requests.post(
        f"{salesforce.url}/_control/outbound-messages",
        json={"enabled": False},
        verify=str(salesforce.app.data_dir / "salesforce-cert.pem"),
        timeout=10,
    ).raise_for_status()
    return (
        f"{connection.name}: follows Change Data Capture at {address} (`run_subscribers`); "
        "Outbound Messages are off."
    )


def connect_sage50(sage: RunningSandbox) -> str:
    """Tokens from the sandbox's control API stand in for the consent page."""
    connection = Connection.objects.get(name=SAGE50_CONNECTION)
    if connection.secrets.get("refresh_token"):
        return f"{connection.name}: already connected."
    tokens = requests.post(f"{sage.url}/_control/oauth/tokens", json={}, timeout=10).json()
    connection.set_secrets({"refresh_token": tokens["refresh_token"]})
    connection.save()
    health = check_connection(connection)
    return f"{connection.name}: {health.message}"
