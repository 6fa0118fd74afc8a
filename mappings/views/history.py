"""A mapping's versions: who saved what and why, the diff between any two, and restore."""

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from mappings.models import MappingVersion
from mappings.versions import diff_specs, restore_version
from mappings.views.common import ReadWriteMixin
from mappings.views.designer import mapping_or_404
from mappings.views.rows import step_summary, value_summary


def shown_part(part: str, value: Any) -> str:
    """One part of a rule as a person reads it."""
    if value is None:
        return "—"
    if part == "transforms":
        return " → ".join(step_summary(step) for step in value) or "none"
    if part == "rules":
        return ", ".join(str(rule.get("target")) for rule in value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def rule_line(rule: dict[str, Any]) -> str:
    steps = " → ".join(step_summary(step) for step in rule.get("transforms") or [])
    line = value_summary(rule) + (f" → {steps}" if steps else "")
    if "default" in rule:
        line += f" (default {json.dumps(rule['default'])})"
    return line


def readable_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    changes = []
    for change in diff_specs(before, after):
        parts = [
            (part, shown_part(part, values["before"]), shown_part(part, values["after"]))
            for part, values in (change.get("parts") or {}).items()
        ]
        changes.append(
            {
                "target": change["target"],
                "change": change["change"],
                "before": rule_line(change["before"]) if change["before"] else "",
                "after": rule_line(change["after"]) if change["after"] else "",
                "parts": parts,
            }
        )
    return changes


class HistoryView(ReadWriteMixin, View):
    """Versions newest first; `?from=1&to=2` shows what changed between two of them."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        mapping = mapping_or_404(pk)
        versions = list(mapping.versions.select_related("author").order_by("-number"))
        numbers = {version.number: version for version in versions}
        context: dict[str, Any] = {"mapping": mapping, "pair": mapping.pair, "versions": versions}
        if versions:
            newest = versions[0].number
            first = int_or(request.GET.get("from"), max(newest - 1, 1))
            second = int_or(request.GET.get("to"), newest)
            if first not in numbers or second not in numbers:
                raise Http404("No such version")
            context |= {
                "first": first,
                "second": second,
                "changes": readable_changes(numbers[first].spec, numbers[second].spec),
            }
        template = "mappings/_diff.html" if request.htmx else "mappings/history.html"
        return render(request, template, context)


def int_or(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


class RestoreView(ReadWriteMixin, View):
    """A new version with an old one's rules; everything in between stays in the history."""

    def post(self, request: HttpRequest, pk: int, number: int) -> HttpResponse:
        mapping = mapping_or_404(pk)
        try:
            version = restore_version(mapping, number, request.user)
        except MappingVersion.DoesNotExist:
            raise Http404("No such version") from None
        messages.success(
            request, f"Restored version {number} as version {version.number}, now the active one."
        )
        return redirect("mapping-history", pk=mapping.pk)
