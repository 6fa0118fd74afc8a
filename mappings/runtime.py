"""What a compiled mapping runs and returns: the compiled rule, the hot loop, and the issues
and results it produces.

A leaf shared by the compiler (which builds rules for `run_rules`) and the engine (which
drives them), so neither has to import the other to know these shapes.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

REVIEW_CODES = frozenset({"no_rate", "no_currency"})
BLANKABLE = frozenset({str, list, dict})  # empty ones count as no value; 0 does not


def is_blank(value: Any) -> bool:
    """None, "", [] or {} (checked by class: `Decimal == ""` is surprisingly slow)."""
    return value is None or (value.__class__ in BLANKABLE and not value)


@dataclass(frozen=True, slots=True)
class Issue:
    level: str  # "error" or "warning"
    field: str
    message: str
    code: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class MappingResult:
    output: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def needs_review(self) -> bool:
        """A currency could not be converted: a person must look before anything is written."""
        return any(issue.code in REVIEW_CODES for issue in self.issues)


# A compiled rule: (pull, target, required, check, general). `pull(record)` is the fast path
# for one-key rules with plain transforms; `general(record, root, env, out, issues, where)`
# handles everything, and the fast path falls back to it on any exception.
CompiledRule = tuple[Any, str, bool, Any, Callable[..., None]]


def run_rules(rules, record, root, env, out, issues, where) -> None:
    """The hot loop: inlined so a typical rule costs one call plus its transforms."""
    for pull, target, required, check, general in rules:
        if pull is None:
            general(record, root, env, out, issues, where)
            continue
        try:
            value = pull(record)
        except Exception:
            general(record, root, env, out, issues, where)
            continue
        if value is None or (value.__class__ in BLANKABLE and not value):
            if required:
                issues.append(Issue("error", where + target, required_message(target), "required"))
            continue
        if check is not None:
            problem = check(value)
            if problem is not None:
                issues.append(Issue(problem[0], where + target, problem[1], problem[2]))
        out[target] = value


def required_message(target: str) -> str:
    return f"{target} is required but empty: map a source field that has a value, or set a default."
