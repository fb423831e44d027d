"""``python -m engine`` as a user runs it: real subprocesses, real exit codes."""

import json

import pytest

from tests.proc_helpers import engine_cli


def cli(*args, stdin=None):
    return engine_cli(*args, stdin=stdin)


def write(tmp_path, obj, name="cfg.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(p)


def test_tasks_json_lists_the_catalog():
    out = cli("tasks", "--json")
    assert out.returncode == 0, out.stderr
    tasks = json.loads(out.stdout)
    assert {t["id"] for t in tasks} == {
        "regression",
        "regression-5",
        "regression-10",
        "binary-20",
        "binary-10",
        "multi-output",
        "sequence",
        "mixed-precision",
        "multiclass-10",
    }
    assert all("defaults" in t and "description" in t for t in tasks)
    assert "tensorflow" not in out.stderr.lower()


def test_run_json_reports_history_steps_and_test(tmp_path):
    cfg = {
        "task": "regression",
        "epochs": 2,
        "data": {"n_train": 100, "n_test": 20},
        "schedule": {"name": "exponential_decay", "decay_steps": 2, "decay_rate": 0.5},
    }
    out = cli("run", write(tmp_path, cfg), "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["status"] == "completed"
    assert len(r["history"]["loss"]) == 2 and len(r["history"]["val_loss"]) == 2
    assert len(r["steps"]["lr"]) == len(r["steps"]["grad_norm"]) == 6
    assert r["steps"]["lr"][0] > r["steps"]["lr"][-1]
    assert {"loss", "mae"} <= set(r["test"])


def test_run_reads_stdin_and_prints_text():
    out = cli("run", "-", stdin=json.dumps({"task": "regression-5", "epochs": 1}))
    assert out.returncode == 0, out.stderr
    assert "epoch 1:" in out.stdout and "status: completed" in out.stdout


def test_schedule_json_is_the_preview(tmp_path):
    cfg = {
        "task": "regression",
        "learning_rate": 0.01,
        "schedule": {"name": "piecewise_constant", "boundaries": [2, 4], "factors": [1, 0.5, 0.1]},
    }
    out = cli("schedule", write(tmp_path, cfg), "--steps", "6", "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["step"] == [0, 1, 2, 3, 4, 5]  # Keras steps: 0 is the first update
    assert r["lr"] == pytest.approx([0.01, 0.01, 0.01, 0.005, 0.005, 0.001])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {"task": "regression", "optimizer": {"name": "sgd", "momentum": 1.5}},
            "optimizer.momentum: must be in [0, 1), got 1.5",
        ),
        (
            {"task": "regression", "clipping": {"clipnorm": 1, "global_clipnorm": 1}},
            "clipping: give exactly one",
        ),
        ({"task": "nope"}, "task: unknown task"),
        ("{not json", "config: not valid JSON"),
    ],
)
@pytest.mark.parametrize("command", ["run", "schedule"])
def test_bad_input_exits_2_with_the_field_and_no_traceback(tmp_path, command, content, message):
    out = cli(command, write(tmp_path, content))
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_missing_file_and_bad_steps(tmp_path):
    out = cli("run", str(tmp_path / "missing.json"))
    assert out.returncode == 2 and "no such file" in out.stderr
    out = cli("schedule", write(tmp_path, {"task": "regression"}), "--steps", "0")
    assert out.returncode == 2 and "--steps" in out.stderr
