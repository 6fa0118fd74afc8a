"""The audit log page: who changed which configuration, credential, mapping, approval, run.

Rows are django-auditlog `LogEntry`s. Models register with auditlog in their apps (secrets
excluded); actions that change no tracked field, such as a retry, are written with
`clarity.audit.record_action`. Credentials show only that they changed, never a value.
"""

from datetime import date
from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.views.generic import ListView

from clarity.permissions import RuleRequiredMixin, needs
from clarity.roles import PRODUCT_APPS

# Fields whose values never appear on the page, only that they changed.
CREDENTIAL_FIELDS = {"secrets", "secrets_changed_at", "webhook_token_hash",
                     "webhook_token_changed_at"}  # fmt: skip
ACTION_LABELS = {
    LogEntry.Action.CREATE: "Created",
    LogEntry.Action.UPDATE: "Changed",
    LogEntry.Action.DELETE: "Deleted",
    LogEntry.Action.ACCESS: "Viewed",
}


def describe_changes(entry: LogEntry) -> list[dict[str, str]]:
    """(field, old, new) rows for display, credentials reduced to “changed”."""
    rows = []
    for field, change in (entry.changes_dict or {}).items():
        if field in CREDENTIAL_FIELDS:
            label = "Webhook token" if field.startswith("webhook_token") else "Credentials"
            rows.append({"field": label, "credential": "changed (value never shown)"})
        elif isinstance(change, list | tuple) and len(change) == 2:
            rows.append({"field": field, "old": str(change[0]), "new": str(change[1])})
        else:
            rows.append({"field": field, "new": str(change)})
    return rows


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
