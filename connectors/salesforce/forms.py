from django import forms

from connectors.forms import ConnectionForm
from connectors.outbound import validate_host_port

AUTH_FLOWS = [
    ("client_credentials", "Client credentials"),
    ("jwt_bearer", "JWT bearer (certificate)"),
    ("refresh_token", "Refresh token"),
]
WON_DEAL_CHOICES = [
    ("opportunities", "Opportunities (Closed Won)"),
    ("orders", "Orders (Activated)"),
    ("both", "Both"),
]
# Which secrets each OAuth flow needs, beyond the client id in settings.
FLOW_SECRETS = {
    "client_credentials": ("client_secret",),
    "jwt_bearer": ("private_key",),
    "refresh_token": ("client_secret", "refresh_token"),
}


class ConnectionSettingsForm(ConnectionForm):
    """Salesforce: a connected app's OAuth 2.0 credentials against a login URL."""

    system = "salesforce"
    secret_fields = ("client_secret", "private_key", "refresh_token")
    address_fields = ("login_url", "pubsub_address")  # the second gets the access token

    login_url = forms.URLField(
        assume_scheme="https",
        label="Login URL",
        initial="https://login.salesforce.com",
        help_text="Production: login.salesforce.com; sandbox org: test.salesforce.com; "
        "or your My Domain URL. The demo sandbox is https://127.0.0.1:8443.",
    )
    auth_flow = forms.ChoiceField(
        choices=AUTH_FLOWS, initial="client_credentials", label="OAuth flow"
    )
    client_id = forms.CharField(max_length=255, label="Consumer key (client id)")
    username = forms.CharField(
        required=False, max_length=255, help_text="Only for JWT bearer: the user to act as."
    )
    api_version = forms.RegexField(
        label="API version",
        regex=r"^\d{2,3}\.0$",
        initial="59.0",
        help_text="REST API version, e.g. 59.0.",
    )
    won_deal_sources = forms.ChoiceField(
        choices=WON_DEAL_CHOICES,
        initial="opportunities",
        required=False,
        label="Won deals come from",
        help_text="What starts the won-deal flows: opportunities reaching Closed Won, orders "
        "being activated, or both (an order whose opportunity is Closed Won is left to the "
        "opportunity, so one sale makes one Sage order).",
    )
    session_seconds = forms.IntegerField(
        required=False,
        label="Session lifetime (seconds)",
        initial=7200,
        min_value=600,
        max_value=86400,
        help_text="The org's session timeout (Setup → Session Settings; 2 hours by default). "
        "Tokens are renewed five minutes before it ends.",
    )
    ca_bundle = forms.CharField(
        required=False,
        max_length=500,
        label="CA bundle path",
        help_text="Only for a server with a private certificate, such as the sandbox.",
    )
    pubsub_address = forms.RegexField(
        required=False,
        max_length=255,
        regex=r"^[A-Za-z0-9.-]+:\d{1,5}$",
        label="Pub/Sub API address",
        help_text="host:port of the Pub/Sub API, to receive Change Data Capture events: "
        "api.pubsub.salesforce.com:7443 (over TLS). Empty: no subscriber, polling and Outbound "
        "Messages only. The demo sandbox is 127.0.0.1:8445 (plain text, loopback only).",
    )
    platform_event_channel = forms.RegexField(
        required=False,
        max_length=255,
        regex=r"^/event/[A-Za-z][A-Za-z0-9_]*__e$",
        label="Platform event channel",
        help_text="Optional: a platform event naming the record in Record_Id__c, e.g. "
        "/event/Sage_Order_Request__e, to ask for a Sage order from a flow or Apex.",
    )
    client_secret = forms.CharField(required=False, label="Consumer secret")
    private_key = forms.CharField(
        required=False, label="Private key (PEM)", help_text="Only for JWT bearer."
    )
    refresh_token = forms.CharField(required=False, help_text="Only for the refresh-token flow.")

    def clean_pubsub_address(self) -> str:
        address = self.cleaned_data["pubsub_address"]
        if address:
            validate_host_port(address)
        return address

    def clean(self) -> dict:
        cleaned = super().clean()
        flow = cleaned.get("auth_flow")
        for key in FLOW_SECRETS.get(flow, ()):
            if not self.secret(key):
                needed = f"{self.label(key)} is required for the {flow.replace('_', ' ')} flow."
                self.add_error(key, self.needed_again(key, needed))
        if flow == "jwt_bearer" and not cleaned.get("username"):
            self.add_error("username", "JWT bearer needs the username to act as.")
        if cleaned.get("platform_event_channel") and not cleaned.get("pubsub_address"):
            self.add_error(
                "platform_event_channel",
                "Platform events arrive through the Pub/Sub API: give its address too.",
            )
        return cleaned
