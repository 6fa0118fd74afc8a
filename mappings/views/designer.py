"""The mapping list and the designer: fields on both sides, live preview, suggest, save.

The draft lives in the page (a hidden JSON field `designer.js` rewrites on every edit); the
preview and suggest endpoints take it with the sample record and change nothing, so only
Save makes a version.

The preview needs only view rights and runs whatever draft it is sent, on the web workers
that also take the webhooks: the draft and the sample are bounded in size, the draft's
parameters when it compiles, and the run by a time and output budget
(settings.CLARITY_PREVIEW_SECONDS and CLARITY_PREVIEW_MAX_BYTES). Going past any of them is
a message in the preview, never a 500 or a held worker.
"""

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import ListView

from clarity.permissions import needs
from connectors.base import FieldInfo
from connectors.models import IntegrationPair
from mappings import engine
from mappings.canonical import to_json
from mappings.engine import Budget, BudgetExceeded, MappingSpecError
from mappings.limits import parse_json
from mappings.models import LookupTable, Mapping
from mappings.suggest import suggest
from mappings.versions import save_version
from mappings.views.common import VIEW_MAPPING, ReadWriteMixin
from mappings.views.rows import blank_steps, build_rows, count_mapped, rule_row
from mappings.views.sources import (
    PreviewEnvironment,
    flatten,
    sample_only_paths,
    samples_for,
    source_fields,
    system_connection,
    target_fields,
)


class MappingListView(ReadWriteMixin, ListView):
    """Every mapping, grouped by pair: direction, source → target, active version."""

    template_name = "mappings/mapping_list.html"

    def get_queryset(self) -> QuerySet[IntegrationPair]:
        mappings = Mapping.objects.select_related("active_version__author")
        query = self.request.GET.get("q", "").strip()
        pairs = IntegrationPair.objects.select_related("crm", "erp")
        if query:
            found = Q(name__icontains=query) | Q(source_entity__icontains=query)
            found |= Q(target_entity__icontains=query)
            mappings = mappings.filter(found)
            pairs = pairs.filter(mappings__in=mappings).distinct()
        return pairs.prefetch_related(Prefetch("mappings", queryset=mappings))


def mapping_or_404(pk: int) -> Mapping:
    queryset = Mapping.objects.select_related("pair__crm", "pair__erp", "active_version")
    return get_object_or_404(queryset, pk=pk)


def active_spec(mapping: Mapping) -> dict[str, Any]:
    return mapping.active_version.spec if mapping.active_version else {"rules": []}


def lookup_table_names(mapping: Mapping) -> list[str]:
    tables = LookupTable.objects.filter(Q(pair=mapping.pair) | Q(pair__isnull=True))
    return sorted(set(tables.values_list("name", flat=True)))


class DesignerView(ReadWriteMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        mapping = mapping_or_404(pk)
        spec = active_spec(mapping)
        targets, target_error = target_fields(mapping)
        sources, source_error = source_fields(mapping)
        rows = build_rows(spec.get("rules") or [], {info.name: info for info in targets})
        mapped, total = count_mapped(rows)
        context = {
            "mapping": mapping,
            "pair": mapping.pair,
            "system": system_connection(mapping),
            "spec": spec,
            "rows": rows,
            "mapped_count": mapped,
            "target_count": total,
            "sources": sources,
            "source_error": source_error,
            "target_error": target_error,
            "transforms": blank_steps(),
            "tables": lookup_table_names(mapping),
            "can_edit": SaveView.permission.allows(request.user),
            "blank_row": rule_row("", None, None),
        }
        return render(request, "mappings/designer.html", context)


class SamplesView(ReadWriteMixin, View):
    """A few source records from the live system (fetched after the page shows)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        mapping = mapping_or_404(pk)
        samples = samples_for(mapping)
        sources, _ = source_fields(mapping)
        known = {source.path for source in sources}
        extra = sample_only_paths(samples.records, known, system_connection(mapping))
        context = {
            "mapping": mapping,
            "samples": samples,
            "labels": samples.labels(),
            "extra_fields": [(path, type_name(value)) for path, value in extra],
        }
        return render(request, "mappings/_samples.html", context)


def type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list"}
    return names.get(type(value), "object" if isinstance(value, dict) else "any")


def preview_budget() -> Budget:
    """A fresh budget for one preview, from the settings (designer and API alike)."""
    return Budget(settings.CLARITY_PREVIEW_SECONDS, settings.CLARITY_PREVIEW_MAX_BYTES)


def posted_limit() -> int:
    """The most a preview request may carry: a sample and a draft of the output budget each,
    and the form or JSON around them."""
    return 2 * settings.CLARITY_PREVIEW_MAX_BYTES + 16 * 1024


POSTED_NAMES = {"spec": "draft", "record": "sample record"}


def kilobytes(size: int) -> str:
    return f"{size // 1024} KB"


def read_posted(request: HttpRequest, name: str, default: Any) -> tuple[Any, str]:
    """A JSON form field of bounded size and depth, and what is wrong with it (or "")."""
    text = request.POST.get(name, "").strip()
    if not text:
        return default, ""
    if len(text) > settings.CLARITY_PREVIEW_MAX_BYTES:
        limit = kilobytes(settings.CLARITY_PREVIEW_MAX_BYTES)
        what = POSTED_NAMES.get(name, name)
        return default, f"The {what} is larger than {limit}: use a smaller one."
    try:
        return parse_json(text), ""
    except ValueError as exc:
        return default, str(exc)


class PreviewView(ReadWriteMixin, View):
    """The draft spec applied to the sample record: output and issues, nothing saved.

    Reading only, so viewers may preview the saved mapping against other samples too."""

    permission = needs(VIEW_MAPPING)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        mapping = mapping_or_404(pk)
        context: dict[str, Any] = {"mapping": mapping}
        if int(request.META.get("CONTENT_LENGTH") or 0) > posted_limit():
            limit = kilobytes(settings.CLARITY_PREVIEW_MAX_BYTES)
            context["record_error"] = (
                f"The sample record and the draft are larger than {limit} each: paste a "
                "smaller sample (one record, without attachments)."
            )  # the body is left unread
            return render(request, "mappings/_preview.html", context)
        spec, spec_error = read_posted(request, "spec", active_spec(mapping))
        record, record_error = read_posted(request, "record", None)
        context["record_error"] = record_error
        if spec_error:
            context["spec_problems"] = [spec_error]
        elif not isinstance(record, dict):
            context["no_record"] = not record_error
            if record is not None:
                context["record_error"] = "The sample must be one JSON object ({…})."
        else:
            context |= preview(mapping, spec, record)
        return render(request, "mappings/_preview.html", context)


def preview(mapping: Mapping, spec: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The draft run on the record under the preview's budget: the page's context."""
    if not isinstance(spec, dict):
        return {"spec_problems": ["The draft must be one JSON object with a “rules” list."]}
    targets, _ = target_fields(mapping)
    system = system_connection(mapping).system_label
    full = {"target_entity": mapping.target_entity, "rules": spec.get("rules") or []}
    budget = preview_budget()
    try:
        compiled = engine.compile_spec(full, targets or None, system, budget=budget)
        result = compiled.apply(record, PreviewEnvironment(mapping.pair))
        output = to_json(result.output)
        shown_output = json.dumps(output, indent=2, ensure_ascii=False)
        if len(shown_output) > budget.max_bytes:
            budget.overflow("the end")
    except MappingSpecError as exc:
        return {"spec_problems": exc.problems}
    except BudgetExceeded as exc:
        return {"stopped": str(exc)}
    issues = [*compiled.spec_issues, *result.issues]
    values = {path: value for path, value in flatten(output)}
    values |= {key: value for key, value in output.items()}
    return {
        "output": shown_output,
        "issues": issues,
        "error_count": sum(issue.level == "error" for issue in issues),
        "warning_count": sum(issue.level == "warning" for issue in issues),
        "needs_review": result.needs_review,
        "row_data": {
            "values": {key: shown(value) for key, value in values.items()},
            "issues": [issue.to_dict() for issue in issues],
        },
    }


def shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


class SuggestView(ReadWriteMixin, View):
    """Proposed rules for unmapped targets; each comes with its row, ready to drop in."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        mapping = mapping_or_404(pk)
        if int(request.META.get("CONTENT_LENGTH") or 0) > posted_limit():
            return HttpResponse(status=413)
        spec, spec_error = read_posted(request, "spec", active_spec(mapping))
        record, _ = read_posted(request, "record", None)
        if not isinstance(spec, dict):
            spec, spec_error = {}, spec_error or "The draft must be one JSON object."
        targets, _ = target_fields(mapping)
        sources, _ = source_fields(mapping)
        source_infos = [
            FieldInfo(s.path, s.label, s.type, s.length, s.required, s.custom) for s in sources
        ]
        context: dict[str, Any] = {"mapping": mapping, "spec_error": spec_error}
        if not spec_error:
            entities = {
                "source_entity": mapping.source_entity,
                "target_entity": mapping.target_entity,
            }
            suggestions = suggest(
                source_infos, targets, record if isinstance(record, dict) else None, spec | entities
            )
            by_name = {info.name: info for info in targets}
            context["suggestions"] = [
                (found, rule_row(found.target, by_name.get(found.target), found.rule))
                for found in suggestions
            ]
            context["transforms"] = blank_steps()
            context["tables"] = lookup_table_names(mapping)
            context["can_edit"] = True
        return render(request, "mappings/_suggestions.html", context)


class SaveView(ReadWriteMixin, View):
    """The draft becomes the next version (with the admin's note) and the active one."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        mapping = mapping_or_404(pk)
        spec, spec_error = read_posted(request, "spec", None)
        if spec_error or not isinstance(spec, dict):
            messages.error(request, spec_error or "Nothing to save: the draft was empty.")
            return redirect("mapping-designer", pk=mapping.pk)
        if spec == active_spec(mapping):
            messages.info(request, "Nothing changed since the active version; no version made.")
            return redirect("mapping-designer", pk=mapping.pk)
        note = request.POST.get("note", "").strip()
        try:
            version = save_version(mapping, spec, request.user, note=note)
        except MappingSpecError as exc:
            messages.error(request, "Not saved: " + "; ".join(exc.problems))
            return redirect("mapping-designer", pk=mapping.pk)
        messages.success(request, f"Saved version {version.number}: it is now the active one.")
        return redirect("mapping-designer", pk=mapping.pk)
