"""Connection forms: a base that stores settings in JSON and secrets write-only.

Each system's `forms.py` subclasses `ConnectionForm`, declares its fields, lists which of
them are secrets and which are addresses (where requests, and the secrets with them, go).
Secret inputs never render a stored value: on edit they show that a value is set, and a
blank input keeps it, unless an address changes in the same form: then every stored secret
(tokens obtained with them included) is dropped, and those the system needs must be typed
again, so that a secret is never sent to an address other than the one it was typed for.
Every URL field passes the outbound guard (`connectors.outbound`) when saved.
"""

from typing import Any

from django import forms
from django.utils import timezone

from connectors.models import Connection, IntegrationPair
from connectors.odbc.connection_string import UnsafeConnectionString, check_connection_string
from connectors.outbound import validate_url
from connectors.registry import SYSTEMS


def address_value(value: Any) -> str:
    """An address as compared for a change: spaces and a trailing slash do not count."""
    return str(value or "").strip().rstrip("/")


class ConnectionForm(forms.Form):
    system: str = ""
    secret_fields: tuple[str, ...] = ()
    address_fields: tuple[str, ...] = ()  # where requests (and so the secrets) are sent

    name = forms.CharField(max_length=100, help_text="A name people recognise, e.g. 'Acme Streak'.")

    def __init__(self, *args: Any, instance: Connection | None = None, **kwargs: Any) -> None:
        self.instance = instance or Connection(system=self.system)
        initial = {"name": self.instance.name, **(self.instance.settings or {})}
        super().__init__(*args, initial=initial, **kwargs)
        self.stored = set(self.instance.secrets or {}) if self.instance.pk else set()
        self.moved: list[str] = []  # the address fields this form changes (after clean)
        self.cleared: list[str] = []  # labels of stored secrets dropped and not typed again
        self.required_secrets = {key for key in self.secret_fields if self.fields[key].required}
        for key in self.secret_fields:
            field = self.fields[key]
            field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            if key in self.stored:
                field.required = False
                field.is_set = True
                field.help_text = "Stored. Leave blank to keep it; type a new value to replace it."
        for field in self.fields.values():
            if isinstance(field, forms.URLField):
                field.validators.append(validate_url)
        self.say_what_an_address_change_clears()

    def say_what_an_address_change_clears(self) -> None:
        """Beside each address and each stored secret: what changing the address does."""
        stored = [key for key in self.secret_fields if key in self.stored]
        if not (stored and self.address_fields):
            return
        secrets = and_list([self.label(key, in_sentence=True) for key in stored])
        again = "type them again" if len(stored) > 1 else "type it again"
        for key in self.address_fields:
            field = self.fields[key]
            field.help_text = f"{field.help_text} Changing it clears the stored {secrets}: {again}."
        addresses = " or ".join(self.label(key, in_sentence=True) for key in self.address_fields)
        for key in stored:
            self.fields[key].help_text += f" Changing the {addresses} clears it."

    @property
    def settings_fields(self) -> list[str]:
        return [k for k in self.fields if k != "name" and k not in self.secret_fields]

    def label(self, key: str, in_sentence: bool = False) -> str:
        """The field's label; `in_sentence`: "Agent key" as "agent key"; "API key" and
        "Pub/Sub API address" kept."""
        label = str(self.fields[key].label or key.replace("_", " ").capitalize())
        first_word = label.split(" ", 1)[0]
        if in_sentence and first_word[1:].isalpha() and first_word[1:].islower():
            return label[0].lower() + label[1:]
        return label

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Connection.objects.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another connection already has this name.")
        return name

    def clean(self) -> dict[str, Any]:
        """An address changed on edit: stored secrets are dropped, and each required one
        must be typed again in this form."""
        cleaned = super().clean()
        stored = self.instance.settings or {}
        self.moved = [
            key
            for key in self.address_fields
            if self.instance.pk
            and key in cleaned
            and address_value(cleaned[key]) != address_value(stored.get(key))
        ]
        for key in self.required_secrets & self.stored:
            if self.moved and not cleaned.get(key):
                self.add_error(key, self.needed_again(key, f"{self.label(key)} is required."))
        return cleaned

    def needed_again(self, key: str, message: str) -> str:
        """`message`, and why the stored value no longer counts when an address changed."""
        if not (self.moved and key in self.stored):
            return message
        changed = and_list([self.label(address, in_sentence=True) for address in self.moved])
        return (
            f"{message} The {changed} changed, and a stored secret is never sent to a new "
            "address: type it again."
        )

    def secret(self, key: str) -> str:
        """The secret as typed in this form, or else as stored (unless an address changed)."""
        typed = self.cleaned_data.get(key)
        return typed or ("" if self.moved else (self.instance.secrets or {}).get(key, ""))

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
        typed = {key: self.cleaned_data.get(key) for key in self.secret_fields}
        if self.moved:
            dropped = [key for key in self.secret_fields if key in self.stored and not typed[key]]
            self.cleared = [self.label(key, in_sentence=True) for key in dropped]
            connection.secrets = {key: value for key, value in typed.items() if value}
            connection.secrets_changed_at = timezone.now()
        else:
            connection.set_secrets(typed)
        connection.save()
        return connection


def and_list(words: list[str]) -> str:
    """Words joined as a sentence joins them: one; one and two; one, two and three."""
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


class OdbcConnectionForm(ConnectionForm):
    """A connection Clarity reads over ODBC (`odbc_connection_string`, `odbc_dialect`)."""

    def clean(self) -> dict:
        """The ODBC connection string says only what the dialect's driver may be told."""
        cleaned = super().clean()
        text, dialect = cleaned.get("odbc_connection_string"), cleaned.get("odbc_dialect")
        if text and dialect:
            try:
                cleaned["odbc_connection_string"] = check_connection_string(text, dialect)
            except UnsafeConnectionString as exc:
                self.add_error("odbc_connection_string", str(exc))
        return cleaned


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
