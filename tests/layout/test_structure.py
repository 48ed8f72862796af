"""The layout states the architecture: no import cycle between gradsight's modules, detectors
free of framework code, modules of a readable size."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "gradsight"
MAX_LINES = 400  # ~300 is the aim; nothing may grow past this without a reason


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every gradsight module ``path`` imports, at module level or inside a function."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("gradsight")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("gradsight"):
                out.add(target)
                out |= {f"{target}.{a.name}" for a in node.names}
    return out


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = {d for d in _imports(path) if d in modules and d != name}
        graph[name] = deps
    return graph


def test_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_core_and_reports_import_no_adapter_or_run_layer() -> None:
    graph = _graph()
    for name, deps in graph.items():
        if name.startswith(("gradsight.core", "gradsight.reports", "gradsight.detectors")):
            bad = {d for d in deps if d.startswith(("gradsight.adapters", "gradsight.run",
                                                    "gradsight.cli", "gradsight.fix"))}
            assert not bad, f"{name} imports {sorted(bad)}"


FRAMEWORK_API = re.compile(r"\b(torch|keras|tensorflow|tf)\s*\.|\bimport\s+(torch|keras|tensorflow)\b|"
                           r"\bnn\.[A-Z]|\bfrom\s+(torch|keras|tensorflow)\b")


def test_detectors_mention_no_framework_api() -> None:
    for path in sorted((PACKAGE / "detectors").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not FRAMEWORK_API.search(line), f"{path.name}:{number}: {line.strip()}"


def test_modules_stay_readable() -> None:
    long = {p.relative_to(PACKAGE).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long
