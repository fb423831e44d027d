"""The executor package's layering: no module imports one that imports it back, the
lifecycle guards live once in ``BaseExecutor``, and a record forwarded as
``(kind, payload)`` lands in the sink method it left (Ray's actor buffer, the local
worker's store writer and ``MultiSink`` all forward that way)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.executor.base import BaseExecutor
from engine.records import ForwardingSink, MemorySink, MultiSink, replay

ROOT = Path(__file__).resolve().parents[2]


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """``module -> engine modules it imports`` (lazy, in-function imports too)."""
    files = {}
    for path in (root / "engine").rglob("*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        files[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names}
                deps.update(subs)
                if not subs <= files.keys():  # names from the module, not submodules
                    deps.add(node.module)
        graph[name] = {d for d in deps if d in files and d != name}
    return {m: {d for d in deps if d.startswith(package)} for m, deps in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle once, as the path that closes it."""
    found, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for dep in sorted(graph.get(node, ())):
            visit(dep, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


@pytest.mark.parametrize("package", ["engine.executor", "engine.training"])
def test_no_import_cycles(package):
    graph = {m: d for m, d in import_graph(ROOT, package).items() if m.startswith(package)}
    assert package + ".worker" in graph or package + ".train" in graph  # the walk found it
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


class _Backend(BaseExecutor):
    """A backend with no workers: what the base decides, counted."""

    backend = "fake"

    def __init__(self, store_path):
        super().__init__(store_path)
        self.calls: list[str] = []

    def _start(self):
        self.calls.append("start")

    def _after_start(self):
        self.calls.append("after_start")

    def _signal_stop(self, timeout):
        self.calls.append(f"signal_stop {timeout}")

    def _stop(self, timeout):
        self.calls.append(f"stop {timeout}")

    def _worker_rows(self, running):
        return [{"pid": 1, "alive": True, "run_id": running.get("w")}]


def test_the_lifecycle_guards_are_the_base_executors(tmp_path):
    ex = _Backend(tmp_path / "runs.db")
    assert ex.start() is ex and ex.start() is ex  # a second start is the first
    assert ex.calls == ["start", "after_start"]
    ex.stop(timeout=3)
    ex.stop()  # stopping twice is one stop
    assert ex.calls == ["start", "after_start", "signal_stop 3", "stop 3"]
    ex.start()  # a stopped executor is never started again
    assert ex.calls == ["start", "after_start", "signal_stop 3", "stop 3"]
    never = _Backend(tmp_path / "other.db")
    never.stop()  # before start: nothing to stop, and it stays stopped
    assert never.calls == []
    with pytest.raises(RuntimeError, match="stopped"):
        never.start()


def test_status_rows_come_from_the_backend_and_the_counts_from_the_store(tmp_path):
    ex = _Backend(tmp_path / "runs.db")
    ex.submit([{"task": "regression", "epochs": 1}])
    assert ex.status() == {
        "backend": "fake",
        "workers": [{"pid": 1, "alive": True, "run_id": None}],
        "busy": 0,
        "idle": 1,
        "queued": 1,
    }


def test_a_forwarded_record_lands_where_it_left():
    target, forwarded = MemorySink(), []
    sink = ForwardingSink(lambda kind, payload: forwarded.append((kind, payload)))
    sink.on_start({"n_train": 4})
    sink.on_updates({"update": [1], "loss": [0.5]})
    sink.on_epoch({"epoch": 1, "values": {"loss": 0.5}})
    sink.on_finish({"status": "completed"})
    assert [k for k, _ in forwarded] == ["start", "updates", "epoch", "finish"]
    for kind, payload in forwarded:  # across a process boundary and back
        replay(target, kind, payload)
    assert target.info == {"n_train": 4} and target.updates == {"update": [1], "loss": [0.5]}
    assert target.epochs == [{"epoch": 1, "values": {"loss": 0.5}}]
    assert target.result == {"status": "completed"}
    a, b = MemorySink(), MemorySink()
    MultiSink(a, None, b).on_finish({"status": "failed"})
    assert a.result == b.result == {"status": "failed"}
