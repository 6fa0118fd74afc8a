"""What one attempt of a run reads to map its records: the pair's active mapping versions
and its lookup tables and rates, each read once per attempt and shared by its steps (the
deal's read names the fields the mappings read; mapping, item matching and the anomaly
checks use the versions and tables)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.base import StepContext
from mappings.lookups import PairEnvironment
from mappings.models import Mapping, MappingVersion


@dataclass
class RunMappingData:
    """What one attempt of a run reads to map its records, read once and kept for it alone:
    the pair's active mapping versions, the version a replay chose, the lookup tables and
    rates. Nothing a user can edit outlives the attempt, so an edit is used by the very next
    run (a version's spec is kept per process, `_specs`: a version never changes)."""

    versions: dict[tuple[str, str, str], MappingVersion] | None = None
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
    """The pair's active version of each mapping by (direction, source, target), read in one
    query on first use in the run; where two mappings share a key, the first by name."""
    data = run_data(ctx)
    if data.versions is None:
        data.versions = {}
        rows = Mapping.objects.filter(pair=ctx.pair, active_version__isnull=False)
        for mapping in rows.select_related("active_version").defer("active_version__spec"):
            version = mapping.active_version
            version.spec = version_spec(version)
            version.mapping = mapping
            key = (mapping.direction, mapping.source_entity, mapping.target_entity)
            data.versions.setdefault(key, version)
    return data.versions


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
        data.environment = PairEnvironment(ctx.pair)
    return data.environment
