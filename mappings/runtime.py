"""What a compiled mapping runs and returns: the compiled rule, the hot loop, the issues and
results it produces, and the budget a preview runs under.

A leaf shared by the compiler (which builds rules for `run_rules`) and the engine (which
drives them), so neither has to import the other to know these shapes.
"""

import time
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


# ---------------------------------------------------------------- the preview's budget


class BudgetExceeded(Exception):
    """A preview went past its time or output budget; the message says which, in words."""


class Budget:
    """How long a preview may run and how much it may produce (settings.CLARITY_PREVIEW_*).

    A spec compiled with a budget checks the clock before each rule (so before each item of a
    line group) and after each step, and counts what it writes and says; a spec compiled
    without one, as the workers run it, pays nothing."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.deadline = time.monotonic() + seconds
        self.spent = 0

    def tick(self, where: str) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(
                f"The preview stopped after {self.seconds:g} s, at {where or 'the start'}: the "
                "draft does too much work for one record. Look for a line group over a long "
                "list or many steps on a long text, or try a smaller sample."
            )

    def checked(self, value: Any, where: str) -> Any:
        """A step's result, if there is still time and it is no larger than the budget."""
        self.tick(where)
        if value.__class__ in SIZED and len(value) > self.max_bytes:
            self.overflow(where)
        return value

    def spend(self, value: Any, where: str) -> None:
        """Count a value written to the output or said in an issue."""
        self.count(size_of(value, self.max_bytes - self.spent + 1), where)

    def count(self, size: int, where: str) -> None:
        self.spent += size
        if self.spent > self.max_bytes:
            self.overflow(where)

    def overflow(self, where: str) -> None:
        raise BudgetExceeded(
            f"The preview stopped: its output passed {self.max_bytes // 1024} KB, at "
            f"{where or 'the start'}. Map fewer or shorter values (a line group copying a long "
            "text into every line?), or try a smaller sample."
        )


SIZED = frozenset({str, bytes, list, dict, tuple})


def size_of(value: Any, limit: int) -> int:
    """About how many bytes `value` takes as JSON, counted no further than `limit`."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack += item.keys()
            stack += item.values()
        elif isinstance(item, list | tuple):
            total += 2 + len(item)
            stack += item
        else:
            total += 8
    return total


class BudgetedIssues(list):
    """The issues of a preview: each one's words count against the output budget."""

    def __init__(self, budget: Budget) -> None:
        super().__init__()
        self.budget = budget

    def append(self, issue: Issue) -> None:
        self.budget.spend(issue.message, issue.field)
        super().append(issue)


# A compiled spec is wrapped here, rule by rule, when it runs as a preview.


def guard_rule(rule: CompiledRule, budget: Budget) -> CompiledRule:
    """The clock is checked before the rule runs (so before each item of a line group), and
    it takes the general path: the fast one exists for the workers' throughput."""
    _, target, required, check, general = rule

    def run(record, root, env, out, issues, where) -> None:
        budget.tick(where + target)
        general(record, root, env, out, issues, where)

    return (None, target, required, check, run)


def guard_read(produce: Callable[[Any, Any], Any], budget: Budget, where: str) -> Callable:
    def read(record: Any, root: Any) -> Any:
        return budget.checked(produce(record, root), where)

    return read


def guard_step(step: tuple, budget: Budget, where: str) -> tuple:
    """A step (label, needs_context, function, record_only) whose result is checked."""
    label, needs_context, function, record_only = step
    if needs_context:

        def run_with_context(value: Any, record: Any, root: Any, env: Any) -> Any:
            return budget.checked(function(value, record, root, env), where)

        return label, True, run_with_context, record_only

    def run(value: Any) -> Any:
        return budget.checked(function(value), where)

    return label, False, run, record_only


def guard_write(
    setter: Callable[[dict[str, Any], Any], None], budget: Budget, where: str, is_group: bool
) -> Callable[[dict[str, Any], Any], None]:
    """Each value written counts against the output budget; a line group's list only by its
    length, since its items' values were counted as they were written."""

    def write(out: dict[str, Any], value: Any) -> None:
        if is_group:
            budget.count(2 * len(value) if isinstance(value, list) else 2, where)
        else:
            budget.spend(value, where)
        setter(out, value)

    return write
