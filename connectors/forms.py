"""Connection forms: a base that stores settings in JSON and secrets write-only.

Each system's `forms.py` subclasses `ConnectionForm`, declares its fields and lists which of
them are secrets. Secret inputs never render a stored value: on edit they show that a
value is set, and a blank input keeps it.
"""

from typing import Any

from django import forms

from connectors.models import Connection, IntegrationPair
from connectors.registry import SYSTEMS


class ConnectionForm(forms.Form):
    system: str = ""
    secret_fields: tuple[str, ...] = ()

    name = forms.CharField(max_length=100, help_text="A name people recognise, e.g. 'Acme Streak'.")

    def __init__(self, *args: Any, instance: Connection | None = None, **kwargs: Any) -> None:
        self.instance = instance or Connection(system=self.system)
        initial = {"name": self.instance.name, **(self.instance.settings or {})}
        super().__init__(*args, initial=initial, **kwargs)
        stored = set(self.instance.secrets or {}) if self.instance.pk else set()
        for key in self.secret_fields:
            field = self.fields[key]
            field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            if key in stored:
                field.required = False
                field.is_set = True
                field.help_text = "Stored. Leave blank to keep it; type a new value to replace it."

    @property
    def settings_fields(self) -> list[str]:
        return [k for k in self.fields if k != "name" and k not in self.secret_fields]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Connection.objects.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another connection already has this name.")
        return name

    def secret(self, key: str) -> str:
        """The secret as typed in this form, or else as stored."""
        return self.cleaned_data.get(key) or (self.instance.secrets or {}).get(key, "")

    def save(self) -> Connection:
        connection = self.instance
        connection.name = self.cleaned_data["name"]
        # Keys no form field owns (e.g. API usage a connector records) are kept.
        settings = dict(connection.settings or {})
        for key in self.settings_fields:
            value = self.cleaned_data.get(key)
            if value in (None, ""):
                settings.pop(key, None)
            else:
                settings[key] = value
        connection.settings = settings
        connection.set_secrets({key: self.cleaned_data.get(key) for key in self.secret_fields})
        connection.save()
        return connection


def connection_form_class(system: str) -> type[ConnectionForm]:
    return SYSTEMS[system].form_class


class IntegrationPairForm(forms.ModelForm):
    class Meta:
        model = IntegrationPair
        fields = ["name", "crm", "erp", "base_currency", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["crm"].help_text = "Streak or Salesforce: where deals are won."
        self.fields["erp"].help_text = "Sage 100 or Sage 50: where orders and invoices go."
