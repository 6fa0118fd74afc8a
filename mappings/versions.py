"""Saving, comparing, restoring, exporting and importing mapping versions, and saving a new
pair's shipped defaults (`mappings.defaults`) as its first versions.

Every change is a new `MappingVersion`; nothing is edited in place, so "what ran on
Tuesday" always has an answer and a restore is just another save.
"""

from typing import Any

from django.db import transaction

from connectors.models import IntegrationPair
from mappings import engine
from mappings.defaults import DEFAULT_LOOKUP_TABLES, defaults_for
from mappings.models import LookupEntry, LookupTable, Mapping, MappingVersion

EXPORT_FORMAT = "clarity-mapping/1"
RULE_PARTS = ("source", "constant", "template", "transforms", "default", "required", "rules")


def check_spec(spec: dict[str, Any]) -> None:
    """Refuse a spec the engine cannot compile (MappingSpecError says why)."""
    engine.compile_spec({"rules": spec.get("rules") or []})


@transaction.atomic
def save_version(
    mapping: Mapping, spec: dict[str, Any], author=None, note: str = ""
) -> MappingVersion:
    """The next version with this spec, made the active one."""
    check_spec(spec)
    locked = Mapping.objects.select_for_update().get(pk=mapping.pk)
    last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = MappingVersion.objects.create(
        mapping=locked, number=last + 1, spec=spec, author=author, note=note[:200]
    )
    locked.active_version = version
    locked.save(update_fields=["active_version", "updated_at"])
    mapping.active_version = version
    engine.forget(mapping.pk)
    return version


def restore_version(mapping: Mapping, number: int, author=None) -> MappingVersion:
    """A new version copying version `number`; history keeps everything in between."""
    old = mapping.versions.get(number=number)
    return save_version(mapping, old.spec, author, note=f"Restored version {number}")


def rules_by_target(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(rule.get("target")): rule for rule in spec.get("rules") or []}


def diff_specs(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level changes, in target order: what a history page and the API show.

    Each change: {"target", "change": added | removed | changed, "before", "after",
    "parts": {part: {"before", "after"}}} where parts are the rule's source, constant,
    template, transforms, default, required and (line groups) rules."""
    old, new = rules_by_target(before), rules_by_target(after)
    changes = []
    for target in [*old, *(t for t in new if t not in old)]:
        if target not in new:
            changes.append(
                {"target": target, "change": "removed", "before": old[target], "after": None}
            )
        elif target not in old:
            changes.append(
                {"target": target, "change": "added", "before": None, "after": new[target]}
            )
        elif old[target] != new[target]:
            parts = {
                part: {"before": old[target].get(part), "after": new[target].get(part)}
                for part in RULE_PARTS
                if old[target].get(part) != new[target].get(part)
            }
            changes.append(
                {
                    "target": target,
                    "change": "changed",
                    "before": old[target],
                    "after": new[target],
                    "parts": parts,
                }
            )
    return changes


def diff_versions(mapping: Mapping, first: int, second: int) -> dict[str, Any]:
    versions = {v.number: v for v in mapping.versions.filter(number__in=[first, second])}
    return {
        "mapping": mapping.pk,
        "from": first,
        "to": second,
        "changes": diff_specs(versions[first].spec, versions[second].spec),
    }


# ---------------------------------------------------------------- export / import


def lookup_tables_used(spec: dict[str, Any]) -> set[str]:
    names = set()
    for rule in spec.get("rules") or []:
        for step in rule.get("transforms") or []:
            if isinstance(step, dict) and step.get("name") == "lookup":
                names.add((step.get("params") or {}).get("table", ""))
        names |= lookup_tables_used({"rules": rule.get("rules") or []})
    return names - {""}


def export_table(table: LookupTable) -> dict[str, Any]:
    return {
        "name": table.name,
        "description": table.description,
        "on_miss": table.on_miss,
        "default_value": table.default_value,
        "entries": dict(table.entries.values_list("key", "value")),
    }


def export_mapping(mapping: Mapping) -> dict[str, Any]:
    """The active version and the lookup tables it uses, as one JSON-able document."""
    spec = mapping.active_version.spec if mapping.active_version else {"rules": []}
    tables = LookupTable.objects.filter(pair=mapping.pair, name__in=lookup_tables_used(spec))
    return {
        "format": EXPORT_FORMAT,
        "name": mapping.name,
        "direction": mapping.direction,
        "system": mapping.system,
        "source_entity": mapping.source_entity,
        "target_entity": mapping.target_entity,
        "version": mapping.active_version.number if mapping.active_version else None,
        "spec": spec,
        "lookup_tables": [export_table(table) for table in tables],
    }


@transaction.atomic
def import_mapping(pair: IntegrationPair, data: dict[str, Any], author=None) -> Mapping:
    """Create the mapping, or add a version to the pair's mapping of that name; lookup
    tables are created or their rows updated. Nothing changes when the spec is broken."""
    if data.get("format") != EXPORT_FORMAT:
        raise ValueError(f"Not a mapping export (expected format {EXPORT_FORMAT}).")
    check_spec(data["spec"])
    mapping, _ = Mapping.objects.get_or_create(
        pair=pair,
        name=data["name"],
        defaults={
            key: data[key] for key in ("direction", "system", "source_entity", "target_entity")
        },
    )
    for table_data in data.get("lookup_tables") or []:
        import_table(pair, table_data)
    current = mapping.active_version.spec if mapping.active_version else None
    if current != data["spec"]:
        note = f"Imported (version {data.get('version')} elsewhere)"
        save_version(mapping, data["spec"], author, note=note)
    return mapping


def import_table(pair: IntegrationPair | None, data: dict[str, Any]) -> LookupTable:
    table, _ = LookupTable.objects.update_or_create(
        pair=pair,
        name=data["name"],
        defaults={
            "description": data.get("description", ""),
            "on_miss": data.get("on_miss", LookupTable.OnMiss.ERROR),
            "default_value": data.get("default_value", ""),
        },
    )
    for key, value in (data.get("entries") or {}).items():
        LookupEntry.objects.update_or_create(table=table, key=key, defaults={"value": value})
    return table


# ---------------------------------------------------------------- a new pair's defaults


def create_default_mappings(pair: IntegrationPair, author=None) -> list[Mapping]:
    """The pair's default lookup tables and mappings (version 1 each); ones that already
    exist by name are left as they are, so calling it twice is harmless."""
    for table in DEFAULT_LOOKUP_TABLES.get(pair.erp.system, []):
        if not LookupTable.objects.filter(pair=pair, name=table["name"]).exists():
            import_table(pair, table)
    created = []
    for default in defaults_for(pair.crm.system, pair.erp.system):
        mapping, made = Mapping.objects.get_or_create(
            pair=pair,
            name=default.name,
            defaults={
                "direction": default.direction,
                "system": default.system,
                "source_entity": default.source_entity,
                "target_entity": default.target_entity,
            },
        )
        if made:
            save_version(mapping, default.spec, author, note="Shipped default")
            created.append(mapping)
    return created


def give_new_pair_default_mappings(
    sender: type, instance: IntegrationPair, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """`post_save` of a pair (connected in `MappingsConfig.ready`): a new pair works before
    anyone edits a mapping. Not while fixtures load (`raw`)."""
    if created and not raw:
        create_default_mappings(instance)
