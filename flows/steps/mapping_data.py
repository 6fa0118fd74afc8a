"""What one attempt of a run reads to map its records: the pair's active mapping versions
and its lookup tables and rates, shared by its steps (the deal's read names the fields the
mappings read; mapping, item matching and the anomaly checks use the versions and tables).
They are kept per process in the configuration's generation (`StepContext.kept`)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.models import IntegrationPair
from flows.base import StepContext
from mappings.lookups import PairEnvironment
from mappings.models import Mapping, MappingVersion


@dataclass
class RunMappingData:
    """What one attempt of a run maps with: the version a replay chose, the lookup tables
    and rates."""

    chosen: MappingVersion | None = None
    chosen_read: bool = False
    environment: PairEnvironment | None = None


def run_data(ctx: StepContext) -> RunMappingData:
    """The attempt's mapping data (one context per attempt), made on first use."""
    data = ctx.per_attempt.get("mapping")
    if data is None:
        data = ctx.per_attempt["mapping"] = RunMappingData()
    return data


# The specs of the mapping versions runs used, by version (id and creation time, so that a
# test database's reused ids never match): a version never changes, and a pair's specs are
# the largest JSON a run would otherwise read and parse again each time.
_specs: dict[tuple[int, datetime], dict[str, Any]] = {}


def active_versions(ctx: StepContext) -> dict[tuple[str, str, str], MappingVersion]:
    """The pair's active version of each mapping by (direction, source, target); where two
    mappings share a key, the first by name."""
    return ctx.kept(("mapping versions", ctx.pair.pk), lambda: read_active_versions(ctx.pair))


def read_active_versions(pair: IntegrationPair) -> dict[tuple[str, str, str], MappingVersion]:
    versions: dict[tuple[str, str, str], MappingVersion] = {}
    rows = Mapping.objects.filter(pair=pair, active_version__isnull=False)
    for mapping in rows.select_related("active_version").defer("active_version__spec"):
        version = mapping.active_version
        version.spec = version_spec(version)
        version.mapping = mapping
        versions.setdefault(
            (mapping.direction, mapping.source_entity, mapping.target_entity), version
        )
    return versions


def version_spec(version: MappingVersion) -> dict[str, Any]:
    """The version's spec, read from the database once per process."""
    key = (version.pk, version.created_at)
    if key not in _specs:
        _specs[key] = MappingVersion.objects.values_list("spec", flat=True).get(pk=version.pk)
    return _specs[key]


def environment(ctx: StepContext) -> PairEnvironment:
    """The pair's lookup tables and rates for the run: each read once, when first used."""
    data = run_data(ctx)
    if data.environment is None:
        data.environment = PairEnvironment(ctx.pair, kept=ctx.kept)
    return data.environment
