from django import forms

from connectors.forms import OdbcConnectionForm
from connectors.sage50desktop.customers import DEFAULT_REFERENCE_FIELD
from connectors.sage50desktop.entities import CUSTOM_FIELDS

DIALECTS = [
    ("pervasive", "Pervasive / Actian Zen (Sage 50 US)"),
    ("sqlite", "SQLite (sandbox)"),
]


class ConnectionSettingsForm(OdbcConnectionForm):
    """Sage 50 (US desktop): reads over ODBC, writes through the Clarity agent beside
    Sage 50."""

    system = "sage50desktop"
    secret_fields = ("odbc_password", "agent_key")
    address_fields = ("odbc_connection_string", "agent_url")  # the ODBC server, the agent

    odbc_connection_string = forms.CharField(
        max_length=1000,
        label="ODBC DSN or connection string",
        help_text="Without the password, e.g. DSN=CedarRidge;UID=Peachtree (the company's "
        "DSN) or, for the sandbox, DRIVER={SQLite3};Database=/path/to/sage50desktop.db. Only "
        "the driver's documented keys are taken.",
    )
    odbc_dialect = forms.ChoiceField(choices=DIALECTS, initial="pervasive", label="SQL dialect")
    company_name = forms.CharField(
        max_length=40,
        help_text="The company as Sage 50 names it; the test checks the agent has it open.",
    )
    agent_url = forms.URLField(
        assume_scheme="https",
        label="Agent URL",
        help_text="The Clarity agent on the Sage 50 machine. Sandbox: http://127.0.0.1:8106.",
    )
    customer_reference_field = forms.ChoiceField(
        choices=[(name, f"Custom field {name[-1]}") for name in CUSTOM_FIELDS],
        initial=DEFAULT_REFERENCE_FIELD,
        label="Customer field for the CRM id",
        help_text="The customer custom field Clarity writes the CRM record's id to, so it "
        "finds the customer again. Keep it free of anything else.",
    )
    ca_bundle = forms.CharField(
        required=False,
        max_length=500,
        label="CA certificate path",
        help_text="A PEM file on this server trusting the agent's certificate, when it is "
        "self-signed or from your own CA. Blank: the usual public CAs.",
    )
    agent_key = forms.CharField(label="Agent key", help_text="The key the agent was started with.")
    odbc_password = forms.CharField(
        required=False,
        label="ODBC password",
        help_text="The data access password set in Sage 50 (Maintain > Users > Set Up "
        "Security > Crystal Reports/Data Access).",
    )
