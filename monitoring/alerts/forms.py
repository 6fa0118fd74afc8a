"""Forms for alert channels (secrets write-only) and rules."""

from typing import Any

from django import forms

from monitoring.models import AlertChannel, AlertRule


class ChannelForm(forms.ModelForm):
    """One form for every kind; the fields a kind does not use are ignored.

    Secrets (the Slack URL, the webhook's signing secret) are never put back into the page:
    leaving them empty keeps what is stored.
    """

    recipients = forms.CharField(required=False, help_text="Email: addresses separated by commas.")
    slack_url = forms.URLField(
        assume_scheme="https",
        required=False,
        label="Slack webhook URL",
        widget=forms.PasswordInput(render_value=False),
        help_text="Slack: the incoming webhook URL. Stored encrypted, never shown again.",
    )
    webhook_url = forms.URLField(
        assume_scheme="https",
        required=False,
        label="Webhook URL",
        help_text="Webhook: where alerts are POSTed.",
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
            if not (data.get("webhook_secret") or "secret" in stored):
                self.add_error("webhook_secret", "Choose a secret the receiver verifies with.")
        return data

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
