"""Turns a spec's rules into the closures `runtime.run_rules` runs (see engine's docstring).

Everything that can be decided once is decided here: paths are parsed into getters,
constant parameters are checked against their bounds (`mappings.limits`) and bound (and
prepared: patterns compiled, keys folded), target checks are built from the target's
FieldInfo, and one-key rules with plain transforms get a single composed `pull` closure.

A spec compiled for a preview gets a `Budget`: its rules, steps and writes are wrapped here
to check it, so the rules the workers run carry no such check at all.
"""

import re
import reprlib
from collections.abc import Callable
from string import Formatter
from typing import Any

from connectors.base import FieldInfo
from mappings.checks import build_check
from mappings.issues import MISSING, TransformIssue
from mappings.limits import (
    MAX_GROUP_DEPTH,
    MAX_PATH,
    MAX_PLACEHOLDERS,
    MAX_RULES,
    MAX_STEPS,
    MAX_TARGET,
    MAX_TEMPLATE,
    constant_problem,
    shorten,
)
from mappings.paths import PathError, compile_getter, compile_setter
from mappings.runtime import (
    Budget,
    BudgetExceeded,
    CompiledRule,
    Issue,
    guard_read,
    guard_rule,
    guard_step,
    guard_write,
    is_blank,
    required_message,
    run_rules,
)
from mappings.transforms import ENV, FIELD, FIELDS, TARGET_LENGTH, TRANSFORMS, VALUE, Param
from mappings.transforms.params import param_problem

SIMPLE_KEY = re.compile(r"^[^.\[\]$]+$")
VALUE_SOURCES = (VALUE, TARGET_LENGTH)
FAILED: Any = object()
EMPTY = (None, "", [], {})
SHOWN = reprlib.Repr()  # a value quoted in a message, cut short
SHOWN.maxstring = SHOWN.maxother = 60
# (label, needs_context, function, record_only): function(value), or
# function(value, record, root, env) when it needs context; record_only = it reads only the
# record (no env, no `$.` paths), so the fast path may call it with (value, record, record, None).
Step = tuple[str, bool, Callable[..., Any], bool]


class Compiler:
    def __init__(
        self,
        fields: dict[str, FieldInfo],
        system: str,
        has_schema: bool,
        budget: Budget | None = None,
    ) -> None:
        self.fields = fields
        self.system = system
        self.has_schema = has_schema
        self.budget = budget
        self.problems: list[str] = []
        self.spec_issues: list[Issue] = []

    def rules(self, specs: Any, prefix: str, depth: int = 0) -> list[CompiledRule]:
        if not isinstance(specs, list):
            self.problems.append(f"{prefix}“rules” must be a list of rule objects.")
            return []
        if len(specs) > MAX_RULES:
            self.problems.append(f"{prefix}“rules” holds at most {MAX_RULES}, not {len(specs)}.")
            return []
        compiled = []
        targets = []
        for index, spec in enumerate(specs):
            if not isinstance(spec, dict):
                self.problems.append(
                    f"{prefix}rules[{index}] is not a rule: a rule is an object with a target."
                )
                continue
            target = spec.get("target") or ""
            if not isinstance(target, str) or len(target) > MAX_TARGET:
                self.problems.append(
                    f"{prefix}rules[{index}]: the target must be a field name of at most "
                    f"{MAX_TARGET} characters."
                )
                continue
            target = target.strip()
            if not target:
                self.problems.append("A rule has no target field.")
                continue
            targets.append(target)
            try:
                compiled.append(self.rule(spec, target, prefix, depth))
            except (PathError, ValueError, TypeError) as exc:
                self.problems.append(f"{prefix}{target}: {exc}")
        compiled += self.unmapped_required(targets, prefix)
        return [guard_rule(rule, self.budget) for rule in compiled] if self.budget else compiled

    def info(self, target: str, prefix: str) -> FieldInfo | None:
        name = f"{prefix}{target}"
        info = self.fields.get(name)
        if info is None and self.has_schema:
            parent = self.fields.get(f"{prefix}{target.split('.')[0]}") if "." in target else None
            if parent is None or parent.type != "object":
                message = f"{self.system} has no field {name}."
                self.spec_issues.append(Issue("warning", name, message, "unknown"))
        return info

    def unmapped_required(self, targets: list[str], prefix: str) -> list[CompiledRule]:
        """Required fields no rule fills: every record says what is missing."""
        missing = []
        for name, info in self.fields.items():
            local = name[len(prefix) :]
            if not info.required or not name.startswith(prefix) or "." in local:
                continue
            if not any(t == local or t.startswith(local + ".") for t in targets):
                missing.append(local)

        def report(record, root, env, out, issues, where) -> None:
            for name in missing:
                message = f"{name} is required and no rule fills it: add a rule or a default."
                issues.append(Issue("error", f"{where}{name}", message, "required"))

        return [(None, "", False, None, report)] if missing else []

    def rule(self, spec: dict[str, Any], target: str, prefix: str, depth: int) -> CompiledRule:
        if self.budget:
            self.budget.tick(prefix + target)
        info = self.info(target, prefix)
        produce = self.producer(spec)
        transforms = spec.get("transforms") or []
        if not isinstance(transforms, list) or len(transforms) > MAX_STEPS:
            raise ValueError(f"“transforms” must be a list of at most {MAX_STEPS} steps")
        steps = [self.step(step, info) for step in transforms]
        default = spec.get("default")
        if problem := constant_problem("the default", default):
            raise ValueError(problem)
        required = bool(spec.get("required")) or bool(info and info.required)
        check = build_check(info, self.system) if info else None
        setter = compile_setter(target)
        group = None
        if spec.get("rules") is not None:
            if depth >= MAX_GROUP_DEPTH:
                raise ValueError(f"line groups nest at most {MAX_GROUP_DEPTH} deep")
            group = self.rules(spec["rules"], prefix=f"{prefix}{target}[].", depth=depth + 1)
            check = None  # each item is checked by its own rules
        if self.budget:
            where = prefix + target
            produce = guard_read(produce, self.budget, where)
            steps = [guard_step(step, self.budget, where) for step in steps]
            setter = guard_write(setter, self.budget, where, group is not None)

        def general(record, root, env, out, issues, where) -> None:
            value = run_steps(
                steps, produce(record, root), record, root, env, issues, where + target
            )
            if value is FAILED:
                return
            if default is not None and is_blank(value):
                value = default
            if group is not None and value is not None:
                value = map_items(group, value, root, env, issues, where + target)
            if is_blank(value):
                if required:
                    message = required_message(target)
                    issues.append(Issue("error", where + target, message, "required"))
                return
            if check is not None:
                problem = check(value)
                if problem is not None:
                    issues.append(Issue(problem[0], where + target, problem[1], problem[2]))
            try:
                setter(out, value)
            except TypeError:  # "a.b" after a rule wrote a value that is no object to "a"
                message = f"{target} cannot be written: a part of its path already holds a value."
                issues.append(Issue("error", where + target, message, "target"))

        source = spec.get("source") or ""
        fast = all(step[3] for step in steps) and group is None and default is None
        if fast and SIMPLE_KEY.match(source) and SIMPLE_KEY.match(target):
            # These transforms are pure, so the general path may run them again on a problem.
            pull = compose_pull(source, steps)
            return (pull, target, required, check, general)
        return (None, target, required, check, general)

    def producer(self, spec: dict[str, Any]) -> Callable[[Any, Any], Any]:
        kinds = [kind for kind in ("source", "constant", "template") if kind in spec]
        if len(kinds) > 1:
            raise ValueError(f"use one of source, constant or template, not {' and '.join(kinds)}")
        if spec.get("source"):
            source = spec["source"]
            if not isinstance(source, str) or len(source) > MAX_PATH:
                raise ValueError(f"the source must be a path of at most {MAX_PATH} characters")
            return compile_getter(source)
        if "constant" in spec:
            constant = spec["constant"]
            if problem := constant_problem("the constant", constant):
                raise ValueError(problem)
            if isinstance(constant, list | dict):
                return lambda record, root: type(constant)(constant)
            return lambda record, root: constant
        if spec.get("template"):
            return compile_template(spec["template"])
        return lambda record, root: None

    def step(self, spec: Any, info: FieldInfo | None) -> Step:
        if isinstance(spec, str):
            spec = {"name": spec}
        name = spec.get("name", "") if isinstance(spec, dict) else None
        if not isinstance(name, str):
            raise ValueError("a transform is a name, or an object with a name and params")
        transform = TRANSFORMS.get(name)
        if transform is None:
            raise ValueError(f"there is no transform “{name[:MAX_TARGET]}”")
        given = spec.get("params") or {}
        if not isinstance(given, dict):
            raise ValueError(f"{transform.label}: “params” must be an object")
        given = dict(given)
        for param in transform.params:
            if param.name in given and (problem := param_problem(param, given[param.name])):
                raise ValueError(f"{transform.label}: {problem}")
        constants: dict[str, Any] = {}
        for param in transform.params:
            if param.source not in VALUE_SOURCES:
                continue
            if param.required and given.get(param.name) in EMPTY:
                raise ValueError(f"{transform.label} needs its “{param.name}” parameter")
            constants[param.name] = given.get(param.name, param.default)
            if param.type in ("integer", "number") and constants[param.name] == "":
                constants[param.name] = None
            if param.source == TARGET_LENGTH and constants[param.name] is None:
                constants[param.name] = info.length if info else None
        if transform.prepare:
            try:
                constants = transform.prepare(constants)
            except ValueError as exc:
                raise ValueError(f"{transform.label}: {exc}") from None
        makers = [self.argument(p, given, constants, transform.label) for p in transform.params]
        func = transform.func
        if all(maker is None for maker in makers):
            args = [constants[param.name] for param in transform.params]
            if transform.specialise:
                return transform.label, False, transform.specialise(*args), True
            return transform.label, False, bind(func, args, transform.params), True
        values = [constants.get(param.name) for param in transform.params]
        dynamic = [(index, maker) for index, maker in enumerate(makers) if maker is not None]

        def contextual(value, record, root, env):
            args = values.copy()
            for index, maker in dynamic:
                args[index] = maker(record, root, env)
            return func(value, *args)

        record_only = reads_only_the_record(transform.params, given)
        return transform.label, True, contextual, record_only

    def argument(self, param: Param, given: dict[str, Any], constants, label: str) -> Any:
        """A per-record argument maker, or None for a constant one."""
        if param.source == ENV:
            return lambda record, root, env: env
        if param.source == FIELD:
            path = given.get(param.name)
            if isinstance(path, dict) and "constant" in path:
                constants[param.name] = path["constant"]
                return None
            if not path:
                if param.required:
                    raise ValueError(f"{label} needs a field for “{param.name}”")
                constants[param.name] = None  # no field: the transform reads None
                return None
            getter = compile_getter(path)
            return lambda record, root, env: getter(record, root)
        if param.source == FIELDS:
            getters = [compile_getter(path) for path in given.get(param.name) or []]
            return lambda record, root, env: [get(record, root) for get in getters]
        return None


def reads_only_the_record(params: tuple[Param, ...], given: dict[str, Any]) -> bool:
    """No env and no `$.` (root) paths: safe to call with the record as its own root."""
    paths: list[Any] = []
    for param in params:
        if param.source == ENV:
            return False
        if param.source in (FIELD, FIELDS):
            value = given.get(param.name)
            paths += value if isinstance(value, list) else [value]
    return not any(isinstance(path, str) and path.startswith("$.") for path in paths)


def bind(func: Callable[..., Any], args: list[Any], params: tuple[Param, ...]) -> Callable:
    """A one-argument closure with positional arguments (the cheapest call there is); the
    function's own defaults are not passed again."""
    args = list(args)
    while args and args[-1] == params[len(args) - 1].default:
        args.pop()
    if not args:
        return func
    if len(args) == 1:
        (a,) = args
        return lambda value: func(value, a)
    if len(args) == 2:
        a, b = args
        return lambda value: func(value, a, b)
    return lambda value: func(value, *args)


def compose_pull(key: str, steps: list[Step]) -> Callable[[Any], Any]:
    """record → value: the read and up to three transforms in one expression (a loop when
    a step reads other fields of the record)."""
    if any(needs_context for _, needs_context, _, _ in steps):
        plan = [(needs_context, function) for _, needs_context, function, _ in steps]

        def pull_with_record(record: Any) -> Any:
            value = record.get(key)
            for needs_context, function in plan:
                value = function(value, record, record, None) if needs_context else function(value)
            return value

        return pull_with_record
    functions = [function for _, _, function, _ in steps]
    if not functions:
        return lambda record: record.get(key)
    if len(functions) == 1:
        (f1,) = functions
        return lambda record: f1(record.get(key))
    if len(functions) == 2:
        f1, f2 = functions
        return lambda record: f2(f1(record.get(key)))
    if len(functions) == 3:
        f1, f2, f3 = functions
        return lambda record: f3(f2(f1(record.get(key))))

    def pull(record: Any) -> Any:
        value = record.get(key)
        for function in functions:
            value = function(value)
        return value

    return pull


def run_steps(steps: list[Step], value, record, root, env, issues, where) -> Any:
    """Step by step, turning each problem into an issue; a warning carries its value on.
    Each step runs once: a lookup that adds a row must not run again."""
    for label, needs_context, function, _ in steps:
        try:
            value = function(value, record, root, env) if needs_context else function(value)
        except TransformIssue as exc:
            issues.append(Issue(exc.level, where, f"{label}: {exc.message}", exc.code))
            if exc.level == "error" or exc.value is MISSING:
                return FAILED
            value = exc.value
        except BudgetExceeded:
            raise
        except Exception as exc:
            message = f"{label} could not handle {SHOWN.repr(value)}: {shorten(str(exc), 120)}."
            issues.append(Issue("error", where, message, "transform"))
            return FAILED
    return value


def map_items(group, value, root, env, issues, where) -> list[dict[str, Any]]:
    items = value if isinstance(value, list | tuple) else [value]
    mapped = []
    for index, item in enumerate(items):
        out: dict[str, Any] = {}
        run_rules(group, item, root, env, out, issues, f"{where}[{index}].")
        mapped.append(out)
    return mapped


def compile_template(template: Any) -> Callable[[Any, Any], str]:
    """ "Order {number} for {customer.name}": text and paths, joined per record."""
    if not isinstance(template, str) or len(template) > MAX_TEMPLATE:
        raise ValueError(f"the template must be text of at most {MAX_TEMPLATE} characters")
    parts: list[str | Callable[[Any, Any], Any]] = []
    for text, path, _, _ in Formatter().parse(template):
        if text:
            parts.append(text)
        if path:
            parts.append(compile_getter(path))
    if sum(not isinstance(part, str) for part in parts) > MAX_PLACEHOLDERS:
        raise ValueError(f"the template has more than {MAX_PLACEHOLDERS} {{fields}}")

    def render(record: Any, root: Any) -> str:
        pieces = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
            else:
                found = part(record, root)
                pieces.append("" if found is None else str(found))
        return "".join(pieces)

    return render
