import zoneinfo
from pathlib import Path

from django import forms

from connectors.forms import OdbcConnectionForm

DIALECTS = [
    ("providex", "ProvideX (Sage 100 Standard/Advanced)"),
    ("mssql", "SQL Server (Sage 100 Premium)"),
    ("sqlite", "SQLite (sandbox)"),
]


class ConnectionSettingsForm(OdbcConnectionForm):
    """Sage 100: reads over ODBC, writes through the Clarity agent (the bridge) beside Sage 100."""

    system = "sage100"
    secret_fields = ("odbc_password", "bridge_key")
    address_fields = ("odbc_connection_string", "bridge_url")  # the ODBC server, the agent

    odbc_connection_string = forms.CharField(
        max_length=1000,
        label="ODBC connection string",
        help_text="Without the password, e.g. DSN=SOTAMAS90;Company=ABC;UID=integration "
        "or, for the sandbox, DRIVER={SQLite3};Database=/path/to/sage100.db. Only the "
        "driver's documented keys are taken.",
    )
    odbc_dialect = forms.ChoiceField(choices=DIALECTS, initial="providex", label="SQL dialect")
    company_code = forms.RegexField(
        regex=r"^[A-Za-z0-9]{3}$", initial="ABC", help_text="The three-character company."
    )
    bridge_url = forms.URLField(
        assume_scheme="https",
        label="Agent URL",
        help_text="The Clarity agent on the Sage 100 server, e.g. https://sage-server:8105. "
        "Sandbox: http://127.0.0.1:8104.",
    )
    ca_bundle = forms.CharField(
        required=False,
        max_length=500,
        label="Agent CA certificate",
        help_text="Path on this server to the PEM certificate (or its CA's) the agent serves "
        "https with, when it is not signed by a public CA.",
    )
    default_warehouse = forms.CharField(max_length=3, initial="000")
    time_zone = forms.CharField(
        required=False,
        max_length=60,
        help_text="The Sage 100 server's time zone (e.g. America/Chicago), for the times "
        "Sage stamps on changes. Blank: this server's.",
    )
    odbc_password = forms.CharField(required=False, label="ODBC password")
    bridge_key = forms.CharField(
        label="Agent key", help_text="The shared key the agent was started with."
    )

    def clean_ca_bundle(self) -> str:
        path = self.cleaned_data["ca_bundle"].strip()
        if path and not Path(path).is_file():
            raise forms.ValidationError("No file at this path on the Clarity server.")
        return path

    def clean_time_zone(self) -> str:
        zone = self.cleaned_data["time_zone"].strip()
        if zone and zone not in zoneinfo.available_timezones():
            raise forms.ValidationError("Not a time zone name; use one like America/Chicago.")
        return zone
