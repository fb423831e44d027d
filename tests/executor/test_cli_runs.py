"""``python -m engine sweep | runs | cancel | export | worker`` in real subprocesses."""

from __future__ import annotations

import csv
import io
import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from executor_helpers import SLOW, TINY, poll

from engine.executor.worker import parse_worker_id, pid_alive
from tests.proc_helpers import engine_cli, ray_turn

REPO = Path(__file__).resolve().parents[2]
GRID = {"optimizer.name": ["sgd", "adam"], "learning_rate": [0.001, 0.01]}


def engine(*args, timeout=300):
    return engine_cli(*args, timeout=timeout)


def write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """One real 2×2 sweep on 2 workers, shared by the read-only command tests."""
    d = tmp_path_factory.mktemp("cli")
    sweep = write(d / "sweep.json", {"base": TINY, "grid": GRID})
    store = d / "runs.db"
    out = engine("sweep", sweep, "--workers", 2, "--store", store, "--json")
    return store, out


def test_sweep_json_trains_every_grid_point(swept):
    _, out = swept
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    runs = data["runs"]
    assert len(runs) == 4 and {r["status"] for r in runs} == {"completed"}
    assert {r["name"] for r in runs} == {
        f"optimizer.name={o} learning_rate={lr}" for o in ("sgd", "adam") for lr in (0.001, 0.01)
    }
    assert all(r["epochs_done"] == 3 and r["sweep_id"] == data["sweep_id"] for r in runs)
    assert "Traceback" not in out.stderr


def test_runs_json_lists_status_last_and_best(swept):
    store, sweep_out = swept
    out = engine("runs", "--store", store, "--json")
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout)["runs"]
    assert [r["id"] for r in runs] == [r["id"] for r in json.loads(sweep_out.stdout)["runs"]]
    for r in runs:
        assert r["status"] == "completed"
        assert set(r["last"]) >= {"loss", "val_loss", "mae", "val_mae"}
        assert r["best_epoch"]["val_loss"] in (1, 2, 3)
        assert r["best"]["val_loss"] <= r["last"]["val_loss"]
    text = engine("runs", "--store", store)
    assert text.returncode == 0 and all(r["id"] in text.stdout for r in runs)


def test_export_csv_has_every_runs_series_in_long_format(swept, tmp_path):
    store, sweep_out = swept
    runs = json.loads(sweep_out.stdout)["runs"]
    ids = [r["id"] for r in runs[:2]]
    target = tmp_path / "out.csv"
    out = engine("export", *ids, "--format", "csv", "--store", store, "-o", target)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert list(rows[0])[:6] == ["run_id", "run_name", "series", "x_kind", "x", "value"]
    assert {"config.task", "config.optimizer.name", "config.learning_rate"} <= set(rows[0])
    assert {r["run_id"] for r in rows} == set(ids)
    for run in runs[:2]:
        mine = [r for r in rows if r["run_id"] == run["id"]]
        assert [int(r["x"]) for r in mine if r["series"] == "val_loss"] == [1, 2, 3]
        losses = [r for r in mine if r["series"] == "loss" and r["x_kind"] == "update"]
        assert len(losses) == run["updates_done"] > 0
        assert all(math.isfinite(float(r["value"])) for r in losses)
        assert {r["run_name"] for r in mine} == {run["name"]}


def test_export_json_to_stdout(swept):
    store, sweep_out = swept
    rid = json.loads(sweep_out.stdout)["runs"][0]["id"]
    out = engine("export", rid, "--format", "json", "--store", store)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["format"] == "hplab-runs"
    [run] = data["runs"]
    assert run["id"] == rid and run["epochs"]["loss"]["epoch"] == [1, 2, 3]


def test_unknown_run_ids_exit_2_without_traceback(swept):
    store, _ = swept
    for args in (("export", "nope"), ("cancel", "nope")):
        out = engine(*args, "--store", store)
        assert out.returncode == 2
        assert "nope" in out.stderr and "Traceback" not in out.stderr


def test_bad_sweep_file_exits_2_naming_the_field_and_queues_nothing(tmp_path):
    store = tmp_path / "runs.db"
    cases = [
        ({"base": TINY, "grid": {"optimizer.nme": [0.9]}}, "grid.optimizer.nme"),
        ({"base": TINY, "grid": {"learning_rate": [0.001, 50]}}, "grid.learning_rate"),
        ({"base": {**TINY, "epochs": 0}}, "base.epochs"),
    ]
    for sweep, field in cases:
        out = engine("sweep", write(tmp_path / "s.json", sweep), "--store", store)
        assert out.returncode == 2, out.stderr
        assert field in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "broken.json").write_text("{nope")
    out = engine("sweep", tmp_path / "broken.json", "--store", store)
    assert out.returncode == 2 and "not valid JSON" in out.stderr
    assert not store.exists()  # nothing was queued, not even an empty store


def test_detach_then_cancel_by_sweep_run_and_all(tmp_path):
    store = tmp_path / "runs.db"
    sweep = write(tmp_path / "s.json", {"base": SLOW, "repeats": 3})
    out = engine("sweep", sweep, "--detach", "--store", store, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [r["status"] for r in data["runs"]] == ["queued"] * 3  # nobody serves them yet
    first = data["runs"][0]["id"]

    out = engine("cancel", first, "--store", store, "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == {"cancelled": 1}
    out = engine("cancel", "--sweep", data["sweep_id"], "--store", store)
    assert out.returncode == 0 and "cancel requested for 2 run(s)" in out.stdout
    out = engine("cancel", "--all", "--store", store, "--json")
    assert json.loads(out.stdout) == {"cancelled": 0}
    runs = json.loads(engine("runs", "--store", store, "--json").stdout)["runs"]
    assert [r["status"] for r in runs] == ["cancelled"] * 3

    out = engine("cancel", first, "--all", "--store", store)
    assert out.returncode == 2 and "exactly one" in out.stderr


def test_detached_sweep_is_served_by_the_worker_command(tmp_path):
    store = tmp_path / "runs.db"
    sweep = write(tmp_path / "s.json", {"base": TINY, "grid": {"learning_rate": [0.001, 0.01]}})
    ids = [r["id"] for r in json.loads(engine("sweep", sweep, "--detach", "--store", store,
                                              "--json").stdout)["runs"]]  # fmt: skip
    out = engine("worker", "--store", store, "--workers", 1, "--json")
    assert out.returncode == 0, out.stderr
    served = json.loads(out.stdout)["runs"]
    assert sorted(r["id"] for r in served) == sorted(ids)
    assert {r["status"] for r in served} == {"completed"}


def test_read_commands_refuse_a_missing_store(tmp_path):
    out = engine("runs", "--store", tmp_path / "missing.db")
    assert out.returncode == 2 and "no run store" in out.stderr
    assert not (tmp_path / "missing.db").exists()


def test_address_needs_the_ray_executor(tmp_path):
    sweep = write(tmp_path / "s.json", {"base": TINY})
    out = engine("sweep", sweep, "--address", "ray://x:10001", "--store", tmp_path / "r.db")
    assert out.returncode == 2 and "--address" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.ray
def test_sweep_on_the_ray_executor(tmp_path):
    pytest.importorskip("ray")
    store = tmp_path / "runs.db"
    sweep = write(tmp_path / "s.json", {"base": TINY, "grid": {"learning_rate": [0.001, 0.01]}})
    with ray_turn():
        out = engine(
            "sweep", sweep, "--executor", "ray", "--workers", 2, "--store", store, "--json"
        )
    assert out.returncode == 0, out.stderr[-2000:]
    runs = json.loads(out.stdout)["runs"]
    assert [r["status"] for r in runs] == ["completed", "completed"]
    assert all(r["worker_id"].startswith("ray:") and r["epochs_done"] == 3 for r in runs)


def test_sigterm_stops_a_sweep_cleanly(tmp_path):
    # Ctrl-C takes the same path; SIGTERM is used here because a shell running the
    # tests in the background may have set SIGINT to "ignore" for its children.
    store = tmp_path / "runs.db"
    sweep = write(tmp_path / "s.json", {"base": SLOW, "repeats": 3})
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "sweep", sweep, "--workers", "2", "--store", store,
         "--json"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def training():
            if not store.exists():
                return None
            out = engine("runs", "--store", store, "--json")
            runs = json.loads(out.stdout)["runs"] if out.returncode == 0 else []
            return runs if sum(r["epochs_done"] > 0 for r in runs) == 2 else None

        runs = poll(training, 180, "two runs training")
        workers = [parse_worker_id(r["worker_id"]).pid for r in runs if r["worker_id"]]
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    runs = json.loads(stdout)["runs"]
    assert [r["status"] for r in runs] == ["cancelled"] * 3
    assert sorted(r["epochs_done"] > 0 for r in runs) == [False, True, True]
    assert not any(pid_alive(p) for p in workers)
