from django import forms

from connectors.forms import ConnectionForm


class ConnectionSettingsForm(ConnectionForm):
    """Sage 50 cloud: the Sage Accounting API v3.1 with OAuth 2.0 (rotating refresh tokens)."""

    system = "sage50"
    secret_fields = ("client_secret", "refresh_token")
    address_fields = ("api_url", "token_url")  # the browser, not this server, opens auth_url

    api_url = forms.URLField(
        assume_scheme="https",
        initial="https://api.accounting.sage.com/v3.1",
        label="API URL",
        help_text="The demo sandbox is http://127.0.0.1:8102/v3.1.",
    )
    auth_url = forms.URLField(
        assume_scheme="https",
        initial="https://www.sageone.com/oauth2/auth/central",
        label="Authorisation URL",
        help_text="The demo sandbox is http://127.0.0.1:8102/oauth/authorize.",
    )
    token_url = forms.URLField(
        assume_scheme="https",
        initial="https://oauth.accounting.sage.com/token",
        label="Token URL",
        help_text="The demo sandbox is http://127.0.0.1:8102/oauth/token.",
    )
    client_id = forms.CharField(max_length=255)
    business_id = forms.CharField(
        required=False, max_length=100, help_text="Blank: the user's lead business."
    )
    scope = forms.ChoiceField(
        required=False,
        choices=[("full_access", "Full access"), ("readonly", "Read only")],
        initial="full_access",
        help_text="What Connect to Sage asks for; read only cannot post invoices.",
    )
    client_secret = forms.CharField()
    refresh_token = forms.CharField(
        required=False, help_text="Set by Reconnect (OAuth); paste one only to migrate."
    )
