"""The import graph keeps the design's arrows (DESIGN.md section 3), read from the source.

- No cycle among the modules of `flows` and `mappings`: a cycle makes import order matter and
  tempts the next person to hide an import inside a function.
- No import of our own modules inside a function in `flows/` or `mappings/`, except in an
  `apps.py` `ready()` (Django wants models imported only once the apps are loaded): a hidden
  import is a cycle dodged, not fixed.
- Layers import only downwards: monitoring → flows → mappings → connectors → clarity.

Imports under `if TYPE_CHECKING:` never run, so they are left out of the cycle and function
checks; the layer check counts them too, since a type from a layer above is still a
dependency on it. Every other import counts wherever it sits (functions, classes, `try`).
`from pkg import name` is an edge to `pkg.name` when that is a module, else to `pkg`.
Importing `a.b` also runs `a/__init__.py`; that implicit edge is not counted, so a package
`__init__` may re-export its submodules as long as they do not import the package back.
Migrations are left out: Django loads them on its own, never through these imports.
"""

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("clarity", "connectors", "mappings", "flows", "monitoring")
ACYCLIC = ("flows", "mappings")
NOT_BELOW = {"mappings": ("flows", "monitoring"), "connectors": ("mappings", "flows", "monitoring")}


@dataclass(frozen=True)
class Import:
    """One imported module, where the import statement is, and what surrounds it."""

    source: str
    target: str
    path: Path
    line: int
    in_function: bool
    in_ready: bool
    type_checking: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def module_files() -> dict[str, Path]:
    """Every module of our packages by dotted name, migrations left out."""
    return {
        module_name(path): path
        for package in OURS
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.relative_to(ROOT).parts
    }


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class ImportFinder(ast.NodeVisitor):
    """Collects a module's imports, tracking the enclosing scopes and `if TYPE_CHECKING:`."""

    def __init__(self, module: str, path: Path) -> None:
        self.module = module
        self.path = path
        self.package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        self.scopes: list[tuple[str, str]] = []  # ("class" | "def", name), outermost first
        self.type_checking = False
        self.found: list[Import] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scoped(node, ("class", node.name))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.scoped(node, ("def", node.name))

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.scoped(node, ("def", node.name))

    def scoped(self, node: ast.AST, scope: tuple[str, str]) -> None:
        self.scopes.append(scope)
        self.generic_visit(node)
        self.scopes.pop()

    def visit_If(self, node: ast.If) -> None:
        if not is_type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self.type_checking = self.type_checking, True
        for child in node.body:
            self.visit(child)
        self.type_checking = outer
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self.add(submodule if submodule in module_files() else base, node)

    def add(self, target: str, node: ast.stmt) -> None:
        in_ready = (
            self.path.name == "apps.py"
            and [kind for kind, _ in self.scopes[:2]] == ["class", "def"]
            and self.scopes[1][1] == "ready"
        )
        in_function = any(kind == "def" for kind, _ in self.scopes)
        self.found.append(
            Import(
                self.module,
                target,
                self.path,
                node.lineno,
                in_function,
                in_ready,
                self.type_checking,
            )
        )


@cache
def imports() -> tuple[Import, ...]:
    found: list[Import] = []
    for module, path in module_files().items():
        finder = ImportFinder(module, path)
        finder.visit(ast.parse(path.read_text(), filename=str(path)))
        found += finder.found
    return tuple(found)


def package_of(module: str) -> str:
    return module.partition(".")[0]


def strongly_connected(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Tarjan's components, iteratively (no recursion limit to worry about)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                yield sorted(component)


def shortest_cycle(graph: dict[str, set[str]], start: str) -> list[str]:
    """A shortest chain from `start` back to itself, for a readable failure message."""
    paths = {start: [start]}
    queue = [start]
    for node in queue:
        for child in sorted(graph[node]):
            if child == start:
                return [*paths[node], start]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    return []


def cycles_in(package: str) -> list[str]:
    """Each cycle touching `package` in the graph of `flows` and `mappings`, one line each:
    the chain of modules with where each import is."""
    edges = [
        found
        for found in imports()
        if not found.type_checking
        and found.source != found.target
        and package_of(found.source) in ACYCLIC
        and package_of(found.target) in ACYCLIC
        and found.target in module_files()
    ]
    graph: dict[str, set[str]] = {m: set() for m in module_files() if package_of(m) in ACYCLIC}
    where: dict[tuple[str, str], str] = {}
    for edge in edges:
        graph[edge.source].add(edge.target)
        where.setdefault((edge.source, edge.target), edge.where)
    reports = []
    for component in strongly_connected(graph):
        if len(component) < 2 or not any(package_of(m) == package for m in component):
            continue
        cycle = shortest_cycle(graph, component[0])
        steps = [f"{a} ({where[a, b]})" for a, b in pairwise(cycle)]
        others = sorted(set(component) - set(cycle))
        tail = f"; the same knot also holds {', '.join(others)}" if others else ""
        reports.append(" → ".join([*steps, cycle[-1]]) + tail)
    return reports


def listed(found: Iterable[Import]) -> list[str]:
    """One line per import statement and module, in file order (`from m import a, b` once)."""
    return list(dict.fromkeys(f"{i.where}: import {i.target}" for i in found))


@pytest.mark.parametrize("package", ACYCLIC)
def test_no_import_cycle(package: str) -> None:
    cycles = cycles_in(package)
    assert not cycles, f"import cycles in {package}:\n" + "\n".join(cycles)


@pytest.mark.parametrize("package", ACYCLIC)
def test_no_function_level_import_of_our_modules(package: str) -> None:
    hidden = listed(
        found
        for found in imports()
        if package_of(found.source) == package
        and package_of(found.target) in OURS
        and found.in_function
        and not found.in_ready
        and not found.type_checking
    )
    assert not hidden, (
        f"imports of our modules inside functions in {package}/ (move them to the top; if "
        "that makes a cycle, move the shared part to a module both can import):\n"
        + "\n".join(hidden)
    )


@pytest.mark.parametrize("layer", NOT_BELOW)
def test_layers_import_only_downwards(layer: str) -> None:
    upwards = listed(
        found
        for found in imports()
        if package_of(found.source) == layer and package_of(found.target) in NOT_BELOW[layer]
    )
    assert not upwards, f"{layer} imports a layer above it:\n" + "\n".join(upwards)


def test_the_graph_sees_the_imports_it_checks() -> None:
    """A parser that found nothing would pass every test above."""
    found = {(i.source, i.target) for i in imports()}
    assert ("mappings.versions", "mappings.models") in found
    assert ("mappings.views.designer", "mappings.engine") in found  # `from mappings import engine`


def found_in(source: str, module: str, path: str) -> set[tuple[str, bool, bool, bool]]:
    finder = ImportFinder(module, ROOT / path)
    finder.visit(ast.parse(source))
    return {(i.target, i.in_function, i.in_ready, i.type_checking) for i in finder.found}


def test_the_finder_tells_where_each_import_sits() -> None:
    source = """
from typing import TYPE_CHECKING
from mappings import engine
if TYPE_CHECKING:
    from flows import models
class Config:
    def ready(self):
        from mappings import models
def later():
    import flows.runner
"""
    assert found_in(source, "mappings.apps", "mappings/apps.py") == {
        ("typing", False, False, False),
        ("mappings.engine", False, False, False),
        ("flows.models", False, False, True),
        ("mappings.models", True, True, False),
        ("flows.runner", True, False, False),
    }
    assert ("mappings.models", True, False, False) in found_in(
        source, "mappings.x", "mappings/x.py"
    )


def test_the_finder_resolves_relative_imports() -> None:
    source = "from . import text\nfrom .base import Param\nfrom .. import engine\n"
    targets = {
        t for t, *_ in found_in(source, "mappings.transforms", "mappings/transforms/__init__.py")
    }
    assert targets == {"mappings.transforms.text", "mappings.transforms.base", "mappings.engine"}
