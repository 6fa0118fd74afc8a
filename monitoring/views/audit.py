"""The audit log page: who changed which configuration, credential, mapping, approval, run.

Rows are django-auditlog `LogEntry`s. Models register with auditlog in their apps (secrets
excluded); actions that change no tracked field, such as a retry, are written with
`clarity.audit.record_action`. Credentials show only that they changed, never a value.
"""

import json
from datetime import date
from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet
from django.utils.text import capfirst
from django.views.generic import ListView

from clarity.permissions import RuleRequiredMixin, needs
from clarity.roles import PRODUCT_APPS

# Fields whose values never appear on the page, only that they changed.
CREDENTIAL_FIELDS = {"secrets", "secrets_changed_at", "webhook_token_hash",
                     "webhook_token_changed_at"}  # fmt: skip
MISSING = object()  # a key one side of a change does not have: its default applies
ACTION_LABELS = {
    LogEntry.Action.CREATE: "Created",
    LogEntry.Action.UPDATE: "Changed",
    LogEntry.Action.DELETE: "Deleted",
    LogEntry.Action.ACCESS: "Viewed",
}


def describe_changes(entry: LogEntry) -> list[dict[str, str]]:
    """(field, old, new) rows for display, credentials reduced to “changed”. A JSON field
    of settings (a flow's options, a connection's settings) is told key by key, each key
    that changed on its own row ("Options · approval threshold: 10000 → 2500")."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    rows = []
    for field, change in (entry.changes_dict or {}).items():
        label = field_label(model, field)
        if field in CREDENTIAL_FIELDS:
            label = "Webhook token" if field.startswith("webhook_token") else "Credentials"
            rows.append({"field": label, "credential": "changed (value never shown)"})
        elif isinstance(change, list | tuple) and len(change) == 2:
            keys = key_changes(*change)
            if keys is None:  # not settings: the value as a whole
                keys = [("", str(change[0]), str(change[1]))]
            for key, old, new in keys:
                shown = f"{label} · {key}" if key else label
                rows.append({"field": shown, "name": field, "old": old, "new": new})
        else:
            rows.append({"field": label, "name": field, "new": str(change)})
    return rows


def field_label(model: type[Model] | None, field: str) -> str:
    """The field's name as its model says it ("Base currency"), else as stored."""
    try:
        found = model._meta.get_field(field) if model else None
    except FieldDoesNotExist:
        found = None
    return capfirst(str(getattr(found, "verbose_name", "") or field))


def key_changes(old: Any, new: Any) -> list[tuple[str, str, str]] | None:
    """The keys whose values differ between two JSON objects, as (key, old, new) in words
    (nested objects by "outer · inner"); None when the values are not both objects."""
    before, after = as_object(old), as_object(new)
    if before is None or after is None:
        return None
    flat_before, flat_after = flatten(before), flatten(after)
    return [
        (key, in_words(flat_before.get(key, MISSING)), in_words(flat_after.get(key, MISSING)))
        for key in sorted(flat_before.keys() | flat_after.keys())
        if flat_before.get(key, MISSING) != flat_after.get(key, MISSING)
    ]


def as_object(value: Any) -> dict[str, Any] | None:
    """A JSON object auditlog stored as text ("None" for a new record: empty)."""
    if value in (None, "None", ""):
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(value, dict) and value:
            flat |= flatten(value, f"{name} · ")
        else:
            flat[name] = value
    return flat


def in_words(value: Any) -> str:
    if value is MISSING:
        return "(default)"
    if isinstance(value, list):
        return ", ".join(map(in_words, value)) or "(none)"
    if isinstance(value, dict):
        return "(none)" if not value else json.dumps(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "(empty)" if value in (None, "") else str(value)


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class AuditLogView(RuleRequiredMixin, ListView):
    permission = needs("connectors.view_connection")
    template_name = "monitoring/audit.html"
    paginate_by = 50

    def tracked_types(self) -> QuerySet[ContentType]:
        used = LogEntry.objects.values("content_type")
        return ContentType.objects.filter(app_label__in=PRODUCT_APPS, pk__in=used).order_by(
            "app_label", "model"
        )

    def get_queryset(self) -> QuerySet[LogEntry]:
        entries = LogEntry.objects.select_related("actor", "content_type").order_by(
            "-timestamp", "-pk"
        )
        params = self.request.GET
        if params.get("user"):
            entries = entries.filter(actor__username=params["user"])
        if params.get("model"):
            entries = entries.filter(content_type_id=params["model"])
        if params.get("object"):
            entries = entries.filter(object_repr__icontains=params["object"])
        if since := parse_date(params.get("since")):
            entries = entries.filter(timestamp__date__gte=since)
        if until := parse_date(params.get("until")):
            entries = entries.filter(timestamp__date__lte=until)
        return entries

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        for entry in context["object_list"]:
            extra = entry.additional_data or {}
            entry.label = (extra.get("action") or ACTION_LABELS[entry.action]).capitalize()
            entry.detail = extra.get("detail", "")
            entry.rows = describe_changes(entry)
        query = self.request.GET.copy()
        query.pop("page", None)
        actors = LogEntry.objects.filter(actor__isnull=False).values("actor")
        context.update(
            users=get_user_model().objects.filter(pk__in=actors).order_by("username"),
            models=self.tracked_types(),
            filters=self.request.GET,
            query=query.urlencode(),
        )
        return context
