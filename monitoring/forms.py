"""The operations pages' forms: the run filter, a flow's settings, alert channels and rules."""

from datetime import timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from connectors.models import IntegrationPair
from connectors.outbound import validate_url
from flows.models import FlowConfig, SyncRun
from flows.registry import FLOWS, flow_choices
from monitoring.flow_options import flow_options
from monitoring.models import AlertChannel, AlertRule
from monitoring.pair_systems import PairSystems, trigger_choices

PERIODS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
# The browser's date-time picker; its value has no seconds and no zone (the site's zone).
MOMENT_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def flow_filter_choices() -> list[tuple[str, str]]:
    """Read when the form is made: the flows register once the apps are ready."""
    return [("", "All flows"), *flow_choices()]


class RunFilterForm(forms.Form):
    """What the run list can be narrowed by; every field is optional."""

    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "CRM or Sage id, customer name"}),
    )
    pair = forms.ModelChoiceField(
        IntegrationPair.objects.only("name", "slug"),
        required=False,
        to_field_name="slug",
        empty_label="All pairs",
    )
    flow = forms.ChoiceField(choices=flow_filter_choices, required=False)
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *SyncRun.Status.choices], required=False
    )
    period = forms.ChoiceField(
        choices=[
            ("", "Any time"),
            ("1h", "Last hour"),
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
        ],
        required=False,
    )
    since = forms.DateTimeField(required=False, label="From", widget=MOMENT_INPUT)
    until = forms.DateTimeField(required=False, label="To", widget=MOMENT_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "“To” is before “From”: pick a later time, or swap them.")
        return data

    def filter(self, runs: QuerySet[SyncRun]) -> QuerySet[SyncRun]:
        """The runs that match; none while the form has an error, so that no list is shown
        as if it were the one asked for."""
        if not self.is_bound:
            return runs
        if not self.is_valid():
            return runs.none()
        data = self.cleaned_data
        if data["pair"]:
            runs = runs.filter(pair=data["pair"])
        if data["flow"]:
            runs = runs.filter(flow_config__flow=data["flow"])
        if data["status"]:
            runs = runs.filter(status=data["status"])
        if data["period"]:
            runs = runs.filter(created_at__gte=timezone.now() - PERIODS[data["period"]])
        if data["since"]:
            runs = runs.filter(created_at__gte=data["since"])
        if data["until"]:  # to the end of the minute the picker shows
            end = data["until"].replace(second=0, microsecond=0) + timedelta(minutes=1)
            runs = runs.filter(created_at__lt=end)
        text = data["q"].strip()
        if text:
            matches = (
                Q(entity_key__icontains=text)
                | Q(label__icontains=text)
                | Q(document__icontains=text)
                | Q(summary__icontains=text)
                | Q(references_text__icontains=text)
            )
            if text.isdigit():
                matches |= Q(pk=int(text))
            runs = runs.annotate(references_text=Cast("references", TextField())).filter(matches)
        return runs


# ---------------------------------------------------------------- a pair's flows


class FlowConfigForm(forms.Form):
    """`enabled` and `trigger` (not for a flow started by its button), then the flow's
    options that fit the pair's systems (`monitoring.flow_options`)."""

    enabled = forms.BooleanField(required=False, label="On")
    trigger = forms.ChoiceField(label="Starts")

    def __init__(
        self, config: FlowConfig, *args: Any, systems: PairSystems | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, prefix=f"flow-{config.pk}", **kwargs)
        self.config = config
        systems = systems or PairSystems(config.pair)
        flow = FLOWS.get(config.flow)
        self.options = flow_options(config, flow, systems) if flow else []
        if flow is None or flow.trigger == FlowConfig.Trigger.MANUAL:
            del self.fields["enabled"], self.fields["trigger"]  # started from its own page
        else:
            self.fields["enabled"].initial = config.enabled
            self.fields["trigger"].choices = trigger_choices(flow, systems, config.trigger)
            self.fields["trigger"].initial = config.trigger
        for option in self.options:
            if option.input is not None:
                self.fields[f"option_{option.name}"] = option.input
            for key, _, row_input in option.rows:
                self.fields[f"option_{option.name}__{key}"] = row_input

    def clean(self) -> dict[str, Any]:
        """Of the flows that are alternatives (`Flow.choice`), one may be on at a time."""
        data = super().clean()
        flow = FLOWS.get(self.config.flow)
        if data.get("enabled") and flow and flow.choice:
            rivals = [other.name for other in FLOWS.values()
                      if other.choice == flow.choice and other.name != flow.name]  # fmt: skip
            on = FlowConfig.objects.filter(pair=self.config.pair, flow__in=rivals, enabled=True)
            if on:
                labels = ", ".join(f"“{FLOWS[c.flow].label}”" for c in on)
                raise forms.ValidationError(
                    f"Turn off {labels} first: a won deal becomes one Sage document, an order "
                    "or an invoice, so the pair runs one of these flows at a time."
                )
        return data

    def save(self) -> FlowConfig:
        """The shown options from the form; the others (not fitting these systems, or kept
        by the flow itself, such as a resolved stage key) as they were."""
        data = self.cleaned_data
        if "enabled" in self.fields:
            self.config.enabled = data["enabled"]
            self.config.trigger = data["trigger"]
        options = dict(self.config.options)
        flow = FLOWS.get(self.config.flow)
        defaults = flow.default_options if flow else {}
        for option in self.options:
            if option.input is not None:
                value = option.store(data[f"option_{option.name}"])
            else:
                rows = {key: data[f"option_{option.name}__{key}"] for key, _, _ in option.rows}
                value = option.join(rows)
            if option.name in options or value != defaults.get(option.name):
                options[option.name] = value  # a default left alone stays implicit
        self.config.options = options
        self.config.save(update_fields=["enabled", "trigger", "options", "updated_at"])
        return self.config

    def shown_options(self) -> list[dict[str, Any]]:
        """For the page: each option with its bound field and its value in words, or its
        table's rows (label, bound field, value in words)."""
        shown = []
        for option in self.options:
            name = f"option_{option.name}"
            field = self[name] if option.input is not None else None
            rows = [
                (label, self[f"{name}__{key}"], in_words(self[f"{name}__{key}"]))
                for key, label, _ in option.rows
            ]
            text = in_words(field) if field is not None else ""
            shown.append({"option": option, "field": field, "text": text, "rows": rows})
        return shown

    def trigger_text(self) -> str:
        return in_words(self["trigger"]) if "trigger" in self.fields else ""


def in_words(field: forms.BoundField) -> str:
    """A field's value as a reader of the page (not its editor) sees it."""
    value = field.value()
    labels = {str(key): label for key, label in getattr(field.field, "choices", ())}
    if isinstance(field.field, forms.BooleanField):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(labels.get(str(v), str(v)) for v in value) or "None"
    if value is not None and str(value) in labels:
        return str(labels[str(value)])
    return str(value) if value not in (None, "") else "—"


# ---------------------------------------------------------------- alerts


class ChannelForm(forms.ModelForm):
    """One form for every kind; the fields a kind does not use are ignored.

    Secrets (the Slack URL, the webhook's signing secret) are never put back into the page:
    leaving them empty keeps what is stored, unless the webhook URL changes (a stored secret
    signs only for the address it was given for). URLs pass the outbound guard when saved.
    """

    recipients = forms.CharField(required=False, help_text="Email: addresses separated by commas.")
    slack_url = forms.URLField(
        assume_scheme="https",
        required=False,
        label="Slack webhook URL",
        widget=forms.PasswordInput(render_value=False),
        validators=[validate_url],
        help_text="Slack: the incoming webhook URL. Stored encrypted, never shown again.",
    )
    webhook_url = forms.URLField(
        assume_scheme="https",
        required=False,
        label="Webhook URL",
        validators=[validate_url],
        help_text="Webhook: where alerts are POSTed. Changing it clears the stored signing "
        "secret: type it again.",
    )
    webhook_secret = forms.CharField(
        required=False,
        label="Signing secret",
        widget=forms.PasswordInput(render_value=False),
        help_text="Webhook: signs each body (X-Clarity-Signature: t=…,v1=HMAC-SHA256).",
    )

    class Meta:
        model = AlertChannel
        fields = ["name", "kind", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channel = self.instance
        self.fields["recipients"].initial = ", ".join(channel.settings.get("recipients", []))
        self.fields["webhook_url"].initial = channel.settings.get("url", "")
        stored = (channel.secrets or {}) if channel.pk else {}
        self.fields["slack_url"].is_set = "url" in stored
        self.fields["webhook_secret"].is_set = "secret" in stored

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        stored = (self.instance.secrets or {}) if self.instance.pk else {}
        kind = data.get("kind")
        recipients = [part.strip() for part in data.get("recipients", "").split(",")]
        data["recipient_list"] = [address for address in recipients if address]
        validate = forms.EmailField().clean
        if kind == AlertChannel.Kind.EMAIL:
            if not data["recipient_list"]:
                self.add_error("recipients", "Add at least one email address.")
            for address in data["recipient_list"]:
                try:
                    validate(address)
                except forms.ValidationError:
                    self.add_error("recipients", f"“{address}” is not an email address.")
        if kind == AlertChannel.Kind.SLACK and not (data.get("slack_url") or "url" in stored):
            self.add_error("slack_url", "Paste the incoming webhook URL Slack gave you.")
        if kind == AlertChannel.Kind.WEBHOOK:
            if not data.get("webhook_url"):
                self.add_error("webhook_url", "Say where to POST the alerts.")
            typed = bool(data.get("webhook_secret"))
            if not typed and "secret" in stored and self.url_moved(data):
                self.add_error(
                    "webhook_secret",
                    "The webhook URL changed, and the stored signing secret is never used for "
                    "a new address: type it again.",
                )
            elif not typed and "secret" not in stored:
                self.add_error("webhook_secret", "Choose a secret the receiver verifies with.")
        return data

    def url_moved(self, data: dict[str, Any]) -> bool:
        """An existing channel's webhook URL is changed in this form."""
        before = (self.instance.settings or {}).get("url", "") if self.instance.pk else ""
        return bool(before) and data.get("webhook_url") != before

    def save(self, commit: bool = True) -> AlertChannel:
        channel = super().save(commit=False)
        data = self.cleaned_data
        secrets = dict(channel.secrets or {}) if channel.pk else {}
        if channel.kind == AlertChannel.Kind.EMAIL:
            channel.settings, secrets = {"recipients": data["recipient_list"]}, {}
        elif channel.kind == AlertChannel.Kind.SLACK:
            channel.settings = {}
            secrets = {"url": data.get("slack_url") or secrets.get("url")}
        else:
            channel.settings = {"url": data["webhook_url"]}
            secrets = {"secret": data.get("webhook_secret") or secrets.get("secret")}
        channel.secrets = secrets
        if commit:
            channel.save()
        return channel


class RuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = [
            "name", "kind", "pair", "channels", "waiting_hours", "failure_percent",
            "failure_minutes", "failure_min_runs", "throttle_minutes", "enabled",
        ]  # fmt: skip
        widgets = {"channels": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pair"].empty_label = "Every pair"
