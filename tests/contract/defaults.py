"""The shipped default mappings, run by the engine as a new pair's flows run them: what a
connector reads must be what they read, what it takes what they make."""

from typing import Any

from connectors.crm_role import CrmRole
from connectors.erp_role import ErpRole
from connectors.registry import ERP, systems_on
from mappings.canonical import to_json
from mappings.defaults import DEFAULT_LOOKUP_TABLES, defaults_for
from mappings.defaults.base import IN, OUT, DefaultMapping
from mappings.engine import MappingResult, compile_spec
from mappings.environment import LookupData, StaticEnvironment

# The CRM of the pairs whose ERP mappings the ERP tests use: its customer mapping carries
# the CRM's id, the first thing an ERP searches by.
CRM_OF_ERP_TESTS = "salesforce"


def environment(erp: str) -> StaticEnvironment:
    """A new pair's lookup tables for `erp`; no exchange rates (the deals are in USD)."""
    tables = {
        table["name"]: LookupData(
            table["name"], dict(table["entries"]), table["on_miss"], table["default_value"]
        )
        for table in DEFAULT_LOOKUP_TABLES.get(erp, [])
    }
    return StaticEnvironment(lookups=tables)


def run(mapping: DefaultMapping, record: dict[str, Any], erp: str) -> MappingResult:
    """The mapping applied to the record as the flows hand it over (JSON values)."""
    compiled = compile_spec({"target_entity": mapping.target_entity, **mapping.spec})
    return compiled.apply(to_json(record), environment(erp))


def deal_mappings(crm: CrmRole) -> list[tuple[str, DefaultMapping]]:
    """(ERP, mapping) for every default mapping reading the CRM's deals, with every ERP."""
    return [
        (erp.key, mapping)
        for erp in systems_on(ERP)
        for mapping in defaults_for(crm.system, erp.key)
        if mapping.direction == IN and mapping.source_entity == crm.deal_entity
    ]


def to_erp(erp: ErpRole, canonical: str, record: dict[str, Any]) -> dict[str, Any]:
    """A canonical record as the ERP's own, through its default mapping; any error fails.
    Compiled without the ERP's schema, so nothing is cut to length: the records given fit."""
    target = erp.names(canonical).mapping
    [mapping] = [
        mapping
        for mapping in defaults_for(CRM_OF_ERP_TESTS, erp.system)
        if (mapping.direction, mapping.source_entity, mapping.target_entity)
        == (OUT, canonical, target)
    ]
    result = run(mapping, record, erp.system)
    assert not result.errors, result.errors
    return result.output
