"""What the designer shows on each side: fields (live schema or canonical) and sample records.

Connector entities and mapping entities are not always named alike (Sage 100 mappings name
tables, its connector names entities), and the flows hand mappings richer records than a bare
read (a Streak box comes with its organization and contact): both are settled here, once,
so the pages only ask "the fields of this side" and "a few records of this side".
"""

from dataclasses import dataclass, field
from typing import Any

from connectors.base import FieldInfo, Record
from connectors.errors import ConnectorError
from connectors.models import Connection, IntegrationPair
from connectors.services import cached_schema, connector_for
from mappings import canonical, engine
from mappings.lookups import LookupData, PairEnvironment
from mappings.models import Mapping

SAMPLE_SIZE = 5
LABEL_KEYS = ("name", "Name", "CustomerName", "SalesOrderNo", "ItemCode", "customer_name", "key")
MAX_SAMPLE_PATHS = 120


@dataclass
class SourceField:
    path: str
    label: str
    type: str
    custom: bool = False
    required: bool = False
    length: int | None = None
    origin: str = ""  # for canonical fields: the CRM field the pair's IN mapping fills it from


@dataclass
class Samples:
    records: list[Record] = field(default_factory=list)
    error: str = ""
    note: str = ""

    def labels(self) -> list[str]:
        return [sample_label(record, index) for index, record in enumerate(self.records)]


class PreviewEnvironment(PairEnvironment):
    """The pair's tables and rates, read-only: a preview must never add a lookup row."""

    def lookup(self, name: str) -> LookupData | None:
        table = super().lookup(name)
        if table is not None:
            table.add_entry = None
        return table


def system_connection(mapping: Mapping) -> Connection:
    """The pair's connection to the system the mapping reads or writes."""
    pair = mapping.pair
    return {pair.erp.system: pair.erp, pair.crm.system: pair.crm}[mapping.system]


def system_entity(mapping: Mapping) -> str:
    return (
        mapping.source_entity
        if mapping.direction == Mapping.Direction.IN
        else mapping.target_entity
    )


def system_fields(connection: Connection, entity: str) -> list[FieldInfo]:
    """The entity's live fields (cached); its lines' fields as `lines[].Field`."""
    name, lines = connector_for(connection).mapping_entity(entity)
    fields, _ = cached_schema(connection, name)
    if lines:
        line_fields, _ = cached_schema(connection, lines)
        fields = [*fields, FieldInfo("lines", "Lines", "list", required=True)] + [
            FieldInfo(**{**vars(info), "name": f"lines[].{info.name}", "required": False})
            for info in line_fields
        ]
    return fields


def target_fields(mapping: Mapping) -> tuple[list[FieldInfo], str]:
    """The target's fields and, when the system could not be asked, why not."""
    if canonical.is_canonical(mapping.target_entity):
        return list(canonical.schema(mapping.target_entity)), ""
    try:
        return system_fields(system_connection(mapping), mapping.target_entity), ""
    except ConnectorError as exc:
        return [], exc.message


def source_fields(mapping: Mapping) -> tuple[list[SourceField], str]:
    """The source's fields (canonical ones with the CRM field behind each) and any error."""
    if canonical.is_canonical(mapping.source_entity):
        origins = canonical_origins(mapping.pair, mapping.source_entity)
        fields = [
            SourceField(
                path=info.name,
                label=info.label,
                type=info.type,
                required=info.required,
                origin=origins.get(info.name, ""),
            )
            for info in canonical.schema(mapping.source_entity)
            if "[]" not in info.name
        ]
        return fields, ""
    connection = system_connection(mapping)
    try:
        infos = system_fields(connection, mapping.source_entity)
    except ConnectorError as exc:
        return [], exc.message
    connector = connector_for(connection)
    return [
        SourceField(
            path=connector.field_path(info),
            label=info.label,
            type=info.type,
            custom=info.custom,
            required=info.required,
            length=info.length,
        )
        for info in infos
        if "[]" not in info.name
    ], ""


def canonical_origins(pair: IntegrationPair, entity: str) -> dict[str, str]:
    """canonical field → the CRM source path that fills it (from the pair's IN mapping)."""
    mapping = (
        Mapping.objects.filter(pair=pair, direction=Mapping.Direction.IN, target_entity=entity)
        .filter(system=pair.crm.system)
        .select_related("active_version")
        .first()
    )
    if mapping is None or mapping.active_version is None:
        return {}
    origins = {}
    for rule in mapping.active_version.spec.get("rules") or []:
        origin = rule.get("source") or rule.get("template") or ""
        if origin:
            origins[str(rule.get("target"))] = origin.removeprefix("fieldsByName.")
    return origins


# ---------------------------------------------------------------- samples


def sample_label(record: Record, index: int) -> str:
    for key in LABEL_KEYS:
        if record.get(key):
            return f"{index + 1}. {record[key]}"
    return f"Record {index + 1}"


def system_samples(connection: Connection, entity: str, n: int = SAMPLE_SIZE) -> list[Record]:
    """Records shaped as the flows hand them to mappings."""
    connector = connector_for(connection)
    return connector.mapping_samples(connector.mapping_entity(entity)[0], n)


def samples_for(mapping: Mapping) -> Samples:
    """A few source records: read from the system, or for a canonical source made by the
    pair's IN mapping from the CRM's (or ERP's) own records."""
    try:
        if not canonical.is_canonical(mapping.source_entity):
            records = system_samples(system_connection(mapping), mapping.source_entity)
            return Samples(records=[json_safe(record) for record in records])
        return canonical_samples(mapping)
    except ConnectorError as exc:
        return Samples(error=getattr(exc, "message", str(exc)))


def canonical_samples(mapping: Mapping) -> Samples:
    pair = mapping.pair
    feeders = Mapping.objects.filter(
        pair=pair,
        direction=Mapping.Direction.IN,
        target_entity=mapping.source_entity,
        active_version__isnull=False,
    ).select_related("active_version")
    crm_first = {pair.crm.system: 0, pair.erp.system: 1}
    feeder = sorted(feeders, key=lambda m: crm_first[m.system])[:1]
    if not feeder:
        return Samples(error=f"No IN mapping of this pair produces a {mapping.source_entity}.")
    inbound = feeder[0]
    connection = system_connection(inbound)
    records = system_samples(connection, inbound.source_entity)
    compiled = engine.compiled_version(inbound.active_version)
    environment = PreviewEnvironment(pair)
    made = [json_safe(compiled.apply(record, environment).output) for record in records]
    note = (
        f"Made from {connection.system_label} {inbound.source_entity} records by “{inbound.name}”."
    )
    return Samples(records=made, note=note)


def json_safe(value: Any) -> Any:
    """Decimals as text, dates as ISO: what the preview posts back is plain JSON."""
    return canonical.to_json(value)


def flatten(record: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Leaf paths of a sample record (first item of lists), for sources no schema names."""
    if isinstance(record, dict) and depth < 4:
        pairs = []
        for key, value in record.items():
            pairs += flatten(value, f"{prefix}{key}.", depth + 1)
        return pairs
    if isinstance(record, list) and record and depth < 4:
        return flatten(record[0], f"{prefix[:-1]}[0].", depth + 1)
    return [(prefix[:-1], record)] if prefix else []


def sample_only_paths(
    records: list[Record], known: set[str], connection: Connection
) -> list[tuple[str, Any]]:
    """Paths in the samples that the schema does not list (a Streak box's organization…)."""
    hidden = connector_for(connection).hidden_sample_paths
    found: dict[str, Any] = {}
    for record in records:
        for path, value in flatten(record):
            if path in known or path.startswith(hidden) or ("." not in path and "[" not in path):
                continue
            found.setdefault(path, value)
    return sorted(found.items())[:MAX_SAMPLE_PATHS]
