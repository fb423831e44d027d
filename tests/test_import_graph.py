"""No two modules of ``engine`` and ``ui`` import each other, directly or round a loop,
counting imports inside functions too (a lazy import hides a cycle, it does not end
it). ``from package import submodule`` is an edge to the submodule only: a package's
``__init__`` re-exporting its parts is not a cycle (issue 13)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    out = {}
    for folder in ("engine", "ui"):
        for p in (ROOT / folder).rglob("*.py"):
            parts = p.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """{module: the modules it imports}."""
    mods = _modules()
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = subs if all(s in mods for s in subs) else [node.module]
            else:
                continue
            graph[name].update(t for t in targets if t in mods and t != name)
    return graph


def test_no_import_cycles():
    try:
        TopologicalSorter(import_graph()).prepare()
    except CycleError as e:
        pytest.fail(f"import cycle: {' → '.join(e.args[1])}")


def test_the_check_sees_a_cycle():
    graph = import_graph()
    assert "engine.config" in graph["ui.form"]
    graph["engine.config"].add("ui.form")
    with pytest.raises(CycleError):
        TopologicalSorter(graph).prepare()
