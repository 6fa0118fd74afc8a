from django import forms

from connectors.forms import ConnectionForm


class ConnectionSettingsForm(ConnectionForm):
    """Streak: the API key is the HTTP Basic user; the pipeline is the one deals live in."""

    system = "streak"
    secret_fields = ("api_key",)
    address_fields = ("base_url",)

    base_url = forms.URLField(
        assume_scheme="https",
        label="API base URL",
        initial="https://api.streak.com",
        help_text="Streak's API root. The demo sandbox is http://127.0.0.1:8101.",
    )
    pipeline_key = forms.CharField(
        required=False,
        max_length=200,
        help_text="The pipeline whose boxes are deals. Blank: choose after the first test.",
    )
    requests_per_second = forms.FloatField(
        required=False,
        min_value=0.5,
        max_value=20,
        initial=10,
        label="Requests per second",
        help_text="Throttle for this connection. Streak asks to be told about more than 10; "
        "Google caps a project at 20.",
    )
    task_assignee = forms.EmailField(
        required=False,
        label="Default task assignee",
        help_text="Who gets a follow-up task on a box nobody is assigned to (a Streak "
        "user's e-mail). Blank: the task stays on the box for the whole team.",
    )
    api_key = forms.CharField(
        label="API key", help_text="From Streak: Integrations → Streak API → Create key."
    )
