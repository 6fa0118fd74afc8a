"""Moving configuration between installations (test → production) as one JSON file.

The file holds, per chosen pair, its mappings (active rules and note), lookup tables with
their rows, currency rates and flow settings, plus the global tables and rates every pair
uses. It never holds secrets or connection settings: pairs are matched by slug, and a pair
the importing installation does not have is reported, never created.

Importing first makes a plan (what would change, rule by rule and row by row) and changes
nothing; applying it saves each changed mapping as a NEW version noted "Imported from …",
so history is never overwritten, and brings tables and rates to the file's rows.

The file is checked strictly first (`mappings.config_checks`: known keys, types, sizes), and
its specs compile under the designer's bounds. A pair section the importing user may not
write (flow settings, without the right to change a pair's flows) is skipped, and the plan
page says so; the command line runs as the machine's operator and skips nothing.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors import configuration
from connectors.models import IntegrationPair
from mappings.config_checks import ConfigError, check_document, read_document
from mappings.config_plans import ImportPlan, MappingPlan, RatePlan, SectionPlan, TablePlan
from mappings.engine import MappingSpecError
from mappings.models import CurrencyRate, LookupEntry, LookupTable, Mapping
from mappings.versions import check_spec, diff_specs, save_version

__all__ = ["ConfigError", "ImportPlan", "PairSection", "SectionRefused", "apply_plan",
           "dumps", "export_config", "load", "origin_of", "pairs_by_slug", "plan_import",
           "register_pair_section", "summary"]  # fmt: skip

FORMAT = "clarity-config/1"
MAPPING_KEYS = ("direction", "system", "source_entity", "target_entity")


class SectionRefused(Exception):
    """The importing user may not write this section: it is skipped, and the message (in
    words, for the plan page) says why."""


@dataclass(frozen=True)
class PairSection:
    """A part of each pair's configuration that an app above this one owns (flows register
    their settings here), so the file carries it without mappings importing that app.

    `changes(pair, items, user)` checks the items (ConfigError when malformed), raises
    SectionRefused when `user` may not write them, else says what would change, in
    sentences; `apply(pair, items, user)` writes them. `user` None is the operator at the
    command line."""

    export: Callable[[IntegrationPair], list[dict[str, Any]]]
    changes: Callable[[IntegrationPair, list[dict[str, Any]], Any], list[str]]
    apply: Callable[[IntegrationPair, list[dict[str, Any]], Any], None]


PAIR_SECTIONS: dict[str, PairSection] = {}


def register_pair_section(name: str, section: PairSection) -> None:
    PAIR_SECTIONS[name] = section


# ---------------------------------------------------------------- export


def export_tables(tables: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": table.name,
            "description": table.description,
            "on_miss": table.on_miss,
            "default_value": table.default_value,
            "entries": dict(table.entries.order_by("key").values_list("key", "value")),
        }
        for table in tables.order_by("name").prefetch_related("entries")
    ]


def export_rates(rates: Any) -> list[dict[str, str]]:
    return [
        {"from": rate.from_currency, "to": rate.to_currency, "rate": format(rate.rate, "f"),
         "as_of": rate.as_of.isoformat()}
        for rate in rates.order_by("from_currency", "to_currency", "as_of")
    ]  # fmt: skip


def export_pair(pair: IntegrationPair) -> dict[str, Any]:
    mappings = pair.mappings.select_related("active_version").order_by("name")
    return {
        "slug": pair.slug,
        "name": pair.name,
        "crm": pair.crm.system,
        "erp": pair.erp.system,
        "base_currency": pair.base_currency,
        "mappings": [
            {
                "name": mapping.name,
                **{key: getattr(mapping, key) for key in MAPPING_KEYS},
                "version": mapping.active_version.number if mapping.active_version else None,
                "note": mapping.active_version.note if mapping.active_version else "",
                "spec": mapping.active_version.spec if mapping.active_version else {"rules": []},
            }
            for mapping in mappings
        ],
        "lookup_tables": export_tables(pair.lookup_tables.all()),
        "currency_rates": export_rates(pair.currency_rates.all()),
        **{name: section.export(pair) for name, section in PAIR_SECTIONS.items()},
    }


def export_config(pairs: list[IntegrationPair]) -> dict[str, Any]:
    """The chosen pairs' configuration and the global tables and rates, as JSON data."""
    return {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(timespec="seconds"),
        "installation": settings.CLARITY_PUBLIC_URL,
        "pairs": [export_pair(pair) for pair in pairs],
        "global": {
            "lookup_tables": export_tables(LookupTable.objects.filter(pair__isnull=True)),
            "currency_rates": export_rates(CurrencyRate.objects.filter(pair__isnull=True)),
        },
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- plan


def load(text: str | bytes) -> dict[str, Any]:
    """The parsed file, its shape checked; ConfigError when it is not a configuration export
    this installation can read, saying where and what."""
    document = read_document(text)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError(f"The file is not a Clarity configuration export ({FORMAT}).")
    check_document(document, PAIR_SECTIONS)
    return document


def plan_mapping(pair: IntegrationPair, data: dict[str, Any]) -> MappingPlan:
    name = data["name"]
    try:
        check_spec(data["spec"])
    except MappingSpecError as exc:
        return MappingPlan(pair.slug, name, "invalid", problems=exc.problems, data=data)
    mapping = pair.mappings.filter(name=name).select_related("active_version").first()
    spec = data["spec"]
    if mapping is None:
        if data["system"] not in (pair.crm.system, pair.erp.system):
            problem = (
                f"It maps {data['system']}, which this pair does not join ({pair.crm.system} "
                f"and {pair.erp.system}): create the mapping here instead."
            )
            return MappingPlan(pair.slug, name, "invalid", problems=[problem], data=data)
        return MappingPlan(pair.slug, name, "new", diff_specs({}, spec), data=data)
    current = mapping.active_version.spec if mapping.active_version else {}
    changes = diff_specs(current, spec)
    return MappingPlan(pair.slug, name, "changed" if changes else "unchanged", changes, data=data)


def plan_table(pair: IntegrationPair | None, data: dict[str, Any]) -> TablePlan:
    name = str(data.get("name") or "")
    rows = {str(key): str(value) for key, value in (data.get("entries") or {}).items()}
    table = LookupTable.objects.filter(pair=pair, name=name).first()
    slug = pair.slug if pair else None
    if table is None:
        return TablePlan(slug, name, "new", added=rows, data=data)
    current = dict(table.entries.values_list("key", "value"))
    wanted = {"on_miss": data.get("on_miss", LookupTable.OnMiss.ERROR),
              "default_value": data.get("default_value", ""),
              "description": data.get("description", "")}  # fmt: skip
    plan = TablePlan(
        slug,
        name,
        "changed",
        added={key: value for key, value in rows.items() if key not in current},
        removed={key: value for key, value in current.items() if key not in rows},
        changed={
            key: (current[key], value)
            for key, value in rows.items()
            if key in current and current[key] != value
        },
        settings={
            key: (getattr(table, key), value)
            for key, value in wanted.items()
            if getattr(table, key) != value
        },
        data=data,
    )
    if not (plan.added or plan.removed or plan.changed or plan.settings):
        plan.status = "unchanged"
    return plan


def plan_rates(pair: IntegrationPair | None, rates: list[dict[str, Any]]) -> list[RatePlan]:
    plans = []
    for data in rates:  # each checked by config_checks
        rate, as_of = Decimal(str(data["rate"])), date.fromisoformat(data["as_of"])
        source, target = data["from"].upper(), data["to"].upper()
        label = f"1 {source} = {rate} {target} from {as_of}"
        found = CurrencyRate.objects.filter(
            pair=pair, from_currency=source, to_currency=target, as_of=as_of
        ).first()
        clean = {"from": source, "to": target, "rate": rate, "as_of": as_of}
        slug = pair.slug if pair else None
        if found is None:
            plans.append(RatePlan(slug, label, "new", data=clean))
        elif found.rate != rate:
            plans.append(RatePlan(slug, label, "changed", format(found.rate, "f"), data=clean))
    return plans


def plan_import(document: dict[str, Any], origin: str, user: Any = None) -> ImportPlan:
    """What importing `document` (as `load` returns it) would change here, for `user` (None:
    the operator at the command line); nothing is written."""
    plan = ImportPlan(origin=origin)
    pairs = {pair.slug: pair for pair in IntegrationPair.objects.select_related("crm", "erp")}
    for pair_data in document["pairs"]:
        slug = str(pair_data.get("slug") or "")
        pair = pairs.get(slug)
        if pair is None:
            plan.unknown_pairs.append(slug)
            continue
        plan.pairs.append(slug)
        systems = (pair_data.get("crm"), pair_data.get("erp"))
        if systems != (pair.crm.system, pair.erp.system):
            plan.notes.append(
                f"Pair {slug} joins {pair.crm.system} and {pair.erp.system} here, "
                f"{systems[0]} and {systems[1]} in the file: check its mappings after importing."
            )
        if pair_data.get("base_currency") not in (None, pair.base_currency):
            plan.notes.append(
                f"Pair {slug} converts to {pair.base_currency} here and to "
                f"{pair_data['base_currency']} in the file; the base currency is not imported."
            )
        for name, section in PAIR_SECTIONS.items():
            data = pair_data.get(name) or []
            try:
                changes = section.changes(pair, data, user)
            except SectionRefused as exc:
                plan.sections.append(SectionPlan(slug, name, [], data, skipped=str(exc)))
            else:
                plan.sections.append(SectionPlan(slug, name, changes, data))
        plan.mappings += [plan_mapping(pair, data) for data in pair_data.get("mappings") or []]
        plan.tables += [plan_table(pair, data) for data in pair_data.get("lookup_tables") or []]
        plan.rates += plan_rates(pair, pair_data.get("currency_rates") or [])
    shared = document.get("global") or {}
    plan.tables += [plan_table(None, data) for data in shared.get("lookup_tables") or []]
    plan.rates += plan_rates(None, shared.get("currency_rates") or [])
    return plan


# ---------------------------------------------------------------- apply


def origin_of(document: dict[str, Any], filename: str) -> str:
    """ "config.json (https://test.example.com)": the file and the installation it came from."""
    installation = document.get("installation")
    return f"{filename} ({installation})" if installation else filename


def import_note(plan: ImportPlan) -> str:
    return f"Imported from {plan.origin} on {timezone.localdate().isoformat()}"[:200]


@transaction.atomic
def apply_plan(plan: ImportPlan, author=None) -> ImportPlan:
    """Write the plan: new versions, table rows and rates, and the sections not skipped.
    Refused whole if any mapping in the file is broken, so an import never lands half.
    `author` is the user the plan was made for (None: the operator)."""
    if plan.invalid:
        names = ", ".join(f"{m.pair}: {m.name}" for m in plan.invalid)
        raise ConfigError(f"Nothing was imported: these mappings cannot compile: {names}.")
    pairs = {pair.slug: pair for pair in IntegrationPair.objects.filter(slug__in=plan.pairs)}
    for table_plan in plan.tables:
        if table_plan.status != "unchanged":
            apply_table(pairs.get(table_plan.pair or ""), table_plan)
    for rate in plan.rates:
        data = rate.data
        CurrencyRate.objects.update_or_create(
            pair=pairs.get(rate.pair or ""), from_currency=data["from"], to_currency=data["to"],
            as_of=data["as_of"], defaults={"rate": data["rate"]},
        )  # fmt: skip
    for section_plan in plan.sections:
        if section_plan.changes and not section_plan.skipped:
            section = PAIR_SECTIONS[section_plan.name]
            section.apply(pairs[section_plan.pair], section_plan.data, author)
    note = import_note(plan)
    for mapping_plan in plan.mappings:
        if mapping_plan.status in ("new", "changed"):
            data = mapping_plan.data
            mapping, _ = Mapping.objects.get_or_create(
                pair=pairs[mapping_plan.pair],
                name=mapping_plan.name,
                defaults={key: data[key] for key in MAPPING_KEYS},
            )
            save_version(mapping, data["spec"], author, note=note)
    return plan


def apply_table(pair: IntegrationPair | None, plan: TablePlan) -> None:
    data = plan.data
    table, _ = LookupTable.objects.update_or_create(
        pair=pair,
        name=plan.name,
        defaults={
            "description": data.get("description", ""),
            "on_miss": data.get("on_miss", LookupTable.OnMiss.ERROR),
            "default_value": data.get("default_value", ""),
        },
    )
    table.entries.filter(key__in=list(plan.removed)).delete()
    for key, value in plan.added.items():
        LookupEntry.objects.create(table=table, key=key, value=value)
    for key, (_, value) in plan.changed.items():
        table.entries.filter(key=key).update(value=value)
    if plan.changed:
        configuration.changed()  # an UPDATE sends no signal


def pairs_by_slug(slugs: list[str]) -> list[IntegrationPair]:
    """The pairs named (all when none are); ConfigError naming any slug not found."""
    pairs = IntegrationPair.objects.select_related("crm", "erp").order_by("name")
    if not slugs:
        return list(pairs)
    found = list(pairs.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {pair.slug for pair in found})
    if missing:
        raise ConfigError(f"No pair has the slug {', '.join(missing)}.")
    return found


def summary(plan: ImportPlan) -> list[str]:
    """The plan in lines of text, for the command line."""
    lines = [f"Pairs in the file found here: {', '.join(plan.pairs) or 'none'}."]
    if plan.unknown_pairs:
        lines.append(
            f"Not found here (not created; create them first): {', '.join(plan.unknown_pairs)}."
        )
    for m in plan.mappings:
        if m.status == "invalid":
            lines.append(f"  {m.pair}: mapping “{m.name}” cannot compile: {'; '.join(m.problems)}")
        elif m.status != "unchanged":
            lines.append(
                f"  {m.pair}: mapping “{m.name}” {m.status}: {m.rules_added} rule(s) added, "
                f"{m.rules_removed} removed, {m.rules_changed} changed"
            )
    for t in plan.tables:
        if t.status != "unchanged":
            lines.append(
                f"  {t.pair or 'global'}: lookup table “{t.name}” {t.status}: "
                f"{len(t.added)} row(s) added, {len(t.removed)} removed, {len(t.changed)} changed"
            )
    lines += [f"  {r.pair or 'global'}: rate {r.label} {r.status}" for r in plan.rates]
    lines += [f"  {s.pair}: {change}" for s in plan.sections for change in s.changes]
    lines += [f"  {s.pair}: {s.title.lower()} not imported: {s.skipped}" for s in plan.skipped]
    lines += [f"Note: {note}" for note in plan.notes]
    if not plan.has_changes:
        lines.append("Nothing to change: this installation already matches the file.")
    return lines
