"""The mapping engine: a version's spec compiled once into closures, then applied to records.

A spec is JSON:

    {"rules": [
        {"target": "currency", "source": "fieldsByName.Currency",
         "transforms": [{"name": "upper"}], "default": "USD", "required": true},
        {"target": "status", "constant": "open"},
        {"target": "notes", "template": "Streak deal {fieldsByName.Deal ID}"},
        {"target": "lines", "source": "fieldsByName.Products",
         "transforms": [{"name": "parse_lines"}],
         "rules": [{"target": "sku", "source": "sku"},
                   {"target": "gl_account", "source": "$.fieldsByName.GL Account Code"}]}]}

A rule takes its value from a source path, a constant or a template (`{path}` placeholders:
the "expression" of a rule, without eval), runs its transforms in order, falls back to its
default when empty, and is checked against the target field (required, type, length,
choices). A rule with `rules` is a line group: its value is a list (a dict counts as a list
of one) and each item is mapped by the sub-rules, whose paths are relative to the item (`$.`
reaches the whole record); issues on lines are named like `lines[2].sku`.

Problems never raise out of `apply`: they come back as `Issue`s. A broken spec (unknown
transform, bad path, a parameter out of its bounds, a pattern RE2 cannot run) raises
`MappingSpecError` when compiled, which is design time. A spec compiled with a `Budget` (the
preview) raises `BudgetExceeded` from `compile_spec` or `apply` once it runs out of time or
output; one compiled without (the workers) is never slowed by the check.
"""

from collections.abc import Iterable
from typing import Any

from connectors.base import FieldInfo
from mappings import canonical
from mappings.compiler import Compiler
from mappings.environment import Environment, StaticEnvironment
from mappings.runtime import (
    Budget,
    BudgetedIssues,
    BudgetExceeded,
    CompiledRule,
    Issue,
    MappingResult,
    run_rules,
)

__all__ = ["Budget", "BudgetExceeded", "CompiledMapping", "Issue", "MappingResult",
           "MappingSpecError", "compile_spec", "compiled_version", "forget"]  # fmt: skip


class MappingSpecError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class CompiledMapping:
    def __init__(
        self,
        rules: list[CompiledRule],
        spec_issues: list[Issue],
        env: Environment,
        budget: Budget | None = None,
    ) -> None:
        self.rules = rules
        self.spec_issues = spec_issues  # e.g. targets the schema does not know: design time
        self.default_env = env
        self.budget = budget

    def apply(self, record: dict[str, Any], env: Environment | None = None) -> MappingResult:
        out: dict[str, Any] = {}
        issues: list[Issue] = BudgetedIssues(self.budget) if self.budget else []
        run_rules(self.rules, record, record, env or self.default_env, out, issues, "")
        return MappingResult(out, issues)


def compile_spec(
    spec: dict[str, Any],
    schema: Iterable[FieldInfo] | None = None,
    system: str = "the target",
    env: Environment | None = None,
    budget: Budget | None = None,
) -> CompiledMapping:
    """Compile a spec against the target's fields (canonical ones when the target is)."""
    if not isinstance(spec, dict):
        raise MappingSpecError(["The draft must be one JSON object with a “rules” list."])
    entity = spec.get("target_entity", "")
    if schema is None and isinstance(entity, str) and canonical.is_canonical(entity):
        schema = canonical.schema(entity)
    fields = {info.name: info for info in schema or ()}
    compiler = Compiler(fields, system, has_schema=schema is not None, budget=budget)
    rules = compiler.rules(spec.get("rules") or [], prefix="")
    if compiler.problems:
        raise MappingSpecError(compiler.problems)
    return CompiledMapping(rules, compiler.spec_issues, env or StaticEnvironment(), budget)


# ---------------------------------------------------------------- cache

_compiled: dict[tuple[int, int, int], CompiledMapping] = {}


def compiled_version(
    version: Any, schema: Iterable[FieldInfo] | None = None, system: str = "the target"
) -> CompiledMapping:
    """A saved version, compiled once per process (and per target schema). Versions never
    change, so a cached one is never stale; `forget` only frees the memory."""
    fields = tuple(schema) if schema is not None else None
    key = (version.mapping_id, version.pk, hash(fields))
    if key not in _compiled:
        spec = {"target_entity": version.mapping.target_entity, **version.spec}
        _compiled[key] = compile_spec(spec, fields, system)
    return _compiled[key]


def forget(mapping_id: int) -> None:
    """Drop a mapping's compiled versions (called when a new version is saved)."""
    for key in [key for key in _compiled if key[0] == mapping_id]:
        del _compiled[key]
