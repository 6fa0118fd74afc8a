"""Moving configuration between installations (test → production) as one JSON file.

The file holds, per chosen pair, its mappings (active rules and note), lookup tables with
their rows, currency rates and flow settings, plus the global tables and rates every pair
uses. It never holds secrets or connection settings: pairs are matched by slug, and a pair
the importing installation does not have is reported, never created.

Importing first makes a plan (what would change, rule by rule and row by row) and changes
nothing; applying it saves each changed mapping as a NEW version noted "Imported from …",
so history is never overwritten, and brings tables and rates to the file's rows.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.models import IntegrationPair
from mappings.engine import MappingSpecError
from mappings.models import CurrencyRate, LookupEntry, LookupTable, Mapping
from mappings.versions import check_spec, diff_specs, save_version

FORMAT = "clarity-config/1"
MAPPING_KEYS = ("direction", "system", "source_entity", "target_entity")


class ConfigError(ValueError):
    """The file is not a configuration export this installation can read."""


@dataclass(frozen=True)
class PairSection:
    """A part of each pair's configuration that an app above this one owns (flows register
    their settings here), so the file carries it without mappings importing that app."""

    export: Callable[[IntegrationPair], list[dict[str, Any]]]
    changes: Callable[[IntegrationPair, list[dict[str, Any]]], list[str]]  # as sentences
    apply: Callable[[IntegrationPair, list[dict[str, Any]]], None]


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


@dataclass
class MappingPlan:
    pair: str
    name: str
    status: str  # new, changed, unchanged, invalid
    changes: list[dict[str, Any]] = field(default_factory=list)  # versions.diff_specs
    problems: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    def count(self, kind: str) -> int:
        return sum(1 for change in self.changes if change["change"] == kind)

    @property
    def rules_added(self) -> int:
        return self.count("added")

    @property
    def rules_removed(self) -> int:
        return self.count("removed")

    @property
    def rules_changed(self) -> int:
        return self.count("changed")


@dataclass
class TablePlan:
    pair: str | None  # None: a global table
    name: str
    status: str  # new, changed, unchanged
    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # key: (before, after)
    settings: dict[str, tuple[str, str]] = field(default_factory=dict)  # on_miss, default…
    data: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class RatePlan:
    pair: str | None
    label: str  # "1 EUR = 1.08 USD from 2025-01-01"
    status: str  # new, changed
    before: str = ""
    data: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class SectionPlan:
    pair: str
    name: str
    changes: list[str]
    data: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").capitalize()


@dataclass
class ImportPlan:
    origin: str
    pairs: list[str] = field(default_factory=list)
    unknown_pairs: list[str] = field(default_factory=list)
    mappings: list[MappingPlan] = field(default_factory=list)
    tables: list[TablePlan] = field(default_factory=list)
    rates: list[RatePlan] = field(default_factory=list)
    sections: list[SectionPlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, not blocking

    @property
    def invalid(self) -> list[MappingPlan]:
        return [plan for plan in self.mappings if plan.status == "invalid"]

    @property
    def has_changes(self) -> bool:
        return bool(
            [m for m in self.mappings if m.status in ("new", "changed")]
            or [t for t in self.tables if t.status != "unchanged"]
            or self.rates
            or [s for s in self.sections if s.changes]
        )


def load(text: str | bytes) -> dict[str, Any]:
    """The parsed file; ConfigError when it is not a configuration export."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The file is not JSON ({exc}).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError(f"The file is not a Clarity configuration export ({FORMAT}).")
    if not isinstance(document.get("pairs"), list):
        raise ConfigError("The file has no list of pairs.")
    return document


def plan_mapping(pair: IntegrationPair, data: dict[str, Any]) -> MappingPlan:
    name = str(data.get("name") or "")
    try:
        check_spec(data.get("spec") or {})
    except (MappingSpecError, AttributeError, TypeError) as exc:
        problems = exc.problems if isinstance(exc, MappingSpecError) else [str(exc)]
        return MappingPlan(pair.slug, name, "invalid", problems=problems, data=data)
    mapping = pair.mappings.filter(name=name).select_related("active_version").first()
    spec = data["spec"]
    if mapping is None:
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
    for data in rates:
        try:
            rate, as_of = Decimal(str(data["rate"])), date.fromisoformat(data["as_of"])
            source, target = str(data["from"]).upper(), str(data["to"]).upper()
        except (KeyError, InvalidOperation, ValueError, TypeError) as exc:
            raise ConfigError(f"A currency rate cannot be read: {data!r} ({exc}).") from None
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


def plan_import(document: dict[str, Any], origin: str) -> ImportPlan:
    """What importing `document` would change here; nothing is written."""
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
            plan.sections.append(SectionPlan(slug, name, section.changes(pair, data), data))
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
    """Write the plan: new versions, table rows and rates. Refused whole if any mapping in
    the file is broken, so an import never lands half."""
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
        if section_plan.changes:
            PAIR_SECTIONS[section_plan.name].apply(pairs[section_plan.pair], section_plan.data)
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
    lines += [f"Note: {note}" for note in plan.notes]
    if not plan.has_changes:
        lines.append("Nothing to change: this installation already matches the file.")
    return lines
