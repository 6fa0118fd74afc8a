"""Forms of the lookup-table pages (the designer posts JSON, not forms)."""

from typing import Any

from django import forms
from django.db.models import Q

from connectors.models import IntegrationPair
from mappings.lookup_csv import CsvRows, read_csv
from mappings.models import LookupEntry, LookupTable

MAX_CSV_BYTES = 2_000_000


class LookupTableForm(forms.ModelForm):
    class Meta:
        model = LookupTable
        fields = ["name", "pair", "description", "on_miss", "default_value"]
        labels = {"on_miss": "When a value is not in the table", "pair": "Pair"}
        help_texts = {"default_value": "Used when the on-miss choice is “Use the default value”."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pair"].queryset = IntegrationPair.objects.all()
        self.fields["pair"].empty_label = "Global (every pair)"
        if self.instance.pk:
            del self.fields["pair"]  # moving a table would silently change other mappings

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("on_miss") == LookupTable.OnMiss.DEFAULT and not data.get("default_value"):
            self.add_error("default_value", "Give the default value this choice uses.")
        pair = data.get("pair") if "pair" in self.fields else self.instance.pair
        same = LookupTable.objects.filter(name=data.get("name"))
        same = same.filter(pair=pair) if pair else same.filter(pair__isnull=True)
        if same.exclude(pk=self.instance.pk).exists():
            where = f"pair {pair}" if pair else "the global tables"
            self.add_error("name", f"{where.capitalize()} already has a table of this name.")
        return data

    def validate_unique(self) -> None:
        """`clean` says it in words; the model's constraint message names database columns."""


class LookupEntryForm(forms.ModelForm):
    class Meta:
        model = LookupEntry
        fields = ["key", "value"]
        widgets = {
            "key": forms.TextInput(attrs={"aria-label": "Key", "placeholder": "Key"}),
            "value": forms.TextInput(attrs={"aria-label": "Value", "placeholder": "Value"}),
        }

    def __init__(self, *args: Any, table: LookupTable, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table = table

    def clean_key(self) -> str:
        key = self.cleaned_data["key"].strip()
        clash = self.table.entries.filter(Q(key__iexact=key)).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"“{key}” already has a row; edit that one.")
        return key

    def validate_unique(self) -> None:
        """`clean_key` already refuses a duplicate key, case-insensitively as lookups match."""

    def save(self, commit: bool = True) -> LookupEntry:
        self.instance.table = self.table
        return super().save(commit)


class LookupImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Two columns, key and value (a header row key,value is fine). You see what "
        "changes before anything is applied.",
    )
    replace = forms.BooleanField(
        required=False, label="Replace every row (rows not in the file are deleted)"
    )

    def clean_file(self) -> CsvRows:
        """The file's rows, its columns checked (`mappings.lookup_csv`)."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError("The file is larger than 2 MB; split it.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("Save the file as UTF-8 CSV and try again.") from None
        return read_csv(text)
