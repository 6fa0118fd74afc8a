"""Lineage: for a pair, every CRM field → canonical field → Sage field, with the transforms
on each leg, read from the active versions of the pair's IN and OUT mappings."""

from dataclasses import dataclass
from string import Formatter
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views import View

from connectors.models import IntegrationPair
from mappings.models import Mapping
from mappings.views.common import ReadWriteMixin
from mappings.views.rows import step_summary


@dataclass
class Leg:
    """One rule, flattened: line-group rules get `lines[].sku` style paths."""

    target: str
    source: str  # a path, "constant …" or "template …"
    reads: tuple[str, ...]  # the paths it reads
    steps: tuple[str, ...]
    mapping: Mapping


@dataclass
class LineageRow:
    origin: Leg | None
    canonical: str
    destination: Leg | None


def legs(mapping: Mapping) -> list[Leg]:
    spec = mapping.active_version.spec if mapping.active_version else {}
    return list(flatten_rules(spec.get("rules") or [], mapping, "", ""))


def flatten_rules(
    rules: list[dict[str, Any]], mapping: Mapping, target_prefix: str, source_prefix: str
):
    for rule in rules:
        target = f"{target_prefix}{rule.get('target')}"
        reads = rule_reads(rule, source_prefix)
        if "constant" in rule:
            source = f"constant {rule['constant']!r}"
        elif rule.get("template"):
            source = f"template “{rule['template']}”"
        else:
            source = reads[0] if reads else "—"
        steps = tuple(step_summary(step) for step in rule.get("transforms") or [])
        yield Leg(target, source, reads, steps, mapping)
        if rule.get("rules"):
            group_source = reads[0] if reads else target
            yield from flatten_rules(rule["rules"], mapping, f"{target}[].", f"{group_source}[].")


def rule_reads(rule: dict[str, Any], source_prefix: str) -> tuple[str, ...]:
    def where(path: str) -> str:
        return path[2:] if path.startswith("$.") else f"{source_prefix}{path}"

    if rule.get("source"):
        return (where(rule["source"]),)
    if rule.get("template"):
        return tuple(where(path) for _, path, _, _ in Formatter().parse(rule["template"]) if path)
    return ()


def related(canonical: str, other: str) -> bool:
    """The same field, or one holds the other (billing_address and billing_address.city)."""
    return (
        canonical == other
        or canonical.startswith((f"{other}.", f"{other}[]"))
        or other.startswith((f"{canonical}.", f"{canonical}[]"))
    )


def chain(inbound: list[Leg], outbound: list[Leg]) -> list[LineageRow]:
    """Each outbound rule joined to the inbound rules that fill what it reads (the same
    field when there is one, else the object or list holding it); inbound fields nothing
    reads come last, marked as not sent on. A line group shows through its fields."""
    rows: list[LineageRow] = []
    used: set[int] = set()
    groups = {leg.target.rsplit("[].", 1)[0] for leg in outbound if "[]." in leg.target}
    for out in outbound:
        if out.target in groups:
            continue
        for read in out.reads or ("",):
            near = [(i, leg) for i, leg in enumerate(inbound) if related(leg.target, read)]
            used.update(i for i, _ in near)
            exact = [(i, leg) for i, leg in near if leg.target == read]
            for _, leg in exact or near:
                rows.append(LineageRow(leg, leg.target, out))
            if not near:
                rows.append(LineageRow(None, read or "—", out))
    rows += [LineageRow(leg, leg.target, None) for i, leg in enumerate(inbound) if i not in used]
    return rows


def sections(pair: IntegrationPair) -> list[dict[str, Any]]:
    """One section per canonical entity and direction (CRM → ERP, then ERP → CRM)."""
    mappings = list(pair.mappings.select_related("active_version"))
    found = []
    for start, end in ((pair.crm, pair.erp), (pair.erp, pair.crm)):
        ins = [m for m in mappings if m.direction == "in" and m.system == start.system]
        outs = [m for m in mappings if m.direction == "out" and m.system == end.system]
        entities = [m.target_entity for m in ins] + [m.source_entity for m in outs]
        for entity in dict.fromkeys(entities):
            feeding = [m for m in ins if m.target_entity == entity]
            reading = [m for m in outs if m.source_entity == entity]
            inbound = [leg for m in feeding for leg in legs(m)]
            outbound = [leg for m in reading for leg in legs(m)]
            found.append(
                {
                    "start": start,
                    "end": end,
                    "entity": entity,
                    "rows": chain(inbound, outbound),
                    "mappings": feeding + reading,
                }
            )
    return found


class LineageView(ReadWriteMixin, View):
    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        pair = get_object_or_404(IntegrationPair.objects.select_related("crm", "erp"), slug=slug)
        context = {"pair": pair, "sections": sections(pair)}
        return render(request, "mappings/lineage.html", context)
