"""The exported script against the engine itself.

The script's whole promise is "this is the run you saw in HP Lab", so the main
tests train each config twice, once in the engine and once by running the exported
script in a fresh interpreter, and compare the epoch losses. The scripts start in
parallel when the module's first test asks for them, while the engine trains
in-process.
"""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.config import validate
from engine.errors import ConfigError
from engine.export_script import ALLOWED_IMPORTS, _lit, export_script, schedule_expression
from engine.spec.tasks import TASKS

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
RUFF = ROOT / ".venv" / "bin" / "ruff"
SMALL = {"n_train": 200, "n_test": 20}

CASES = {
    "regression-adam": {"task": "regression", "data": SMALL, "epochs": 2},
    "binary-sgd-nesterov": {
        "task": "binary-10",
        "data": SMALL,
        "epochs": 2,
        "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True},
        "learning_rate": 0.01,
        "metrics": ["accuracy", "auc", "f1"],
    },
    "multi-output": {"task": "multi-output", "data": SMALL, "epochs": 2},
    "accum-cosine-clipnorm": {
        "task": "regression-10",
        "data": SMALL,
        "epochs": 2,
        "grad_accum_steps": 2,
        "schedule": {"name": "cosine_decay", "warmup_steps": 1},
        "clipping": {"clipnorm": 1.0},
    },
    "mixed-bfloat16": {
        "task": "mixed-precision",
        "data": SMALL,
        "epochs": 2,
        "precision": "mixed_bfloat16",
    },
    # min_delta 100 makes every epoch after the first a non-improvement: the rate is
    # cut after epochs 2 and 3 and training stops after epoch 3 of 5, so the later
    # losses check the plateau factor and the stop, not just the first epoch.
    "plateau-early-stopping": {
        "task": "regression",
        "data": SMALL,
        "epochs": 5,
        "callbacks": {
            "reduce_lr_on_plateau": {"patience": 1, "min_delta": 100.0, "factor": 0.5},
            "early_stopping": {"patience": 2, "min_delta": 100.0},
            "checkpoint": True,
        },
    },
    # The complete-pipeline task: BatchNorm, Dropout (seeded randomness in the step),
    # AdamW with warmup-cosine, global clipnorm, loss scaling, one-hot labels, top-k.
    "multiclass-float16-onehot": {
        "task": "multiclass-10",
        "data": {"n_train": 200, "n_val": 40, "n_test": 20},
        "epochs": 2,
        "loss": {"name": "categorical_crossentropy", "from_logits": True},
    },
}

MAX_REL_DIFF: dict[str, float] = {}


def _script_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


@pytest.fixture(scope="module")
def script_runs(tmp_path_factory):
    """Start every case's script at once; each test then waits for its own."""
    procs = {}
    for name, cfg in CASES.items():
        workdir = tmp_path_factory.mktemp(name)  # cwd: no `engine` package to import
        path = workdir / "script.py"
        path.write_text(export_script(cfg), encoding="utf-8")
        procs[name] = subprocess.Popen(
            [PYTHON, str(path)],
            cwd=workdir,
            env=_script_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    yield procs
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.communicate()


def _parse(stdout: str, key: str):
    for line in stdout.splitlines():
        if line.startswith(key + "="):
            return json.loads(line.split("=", 1)[1])
    raise AssertionError(f"no {key}= line in the script's output:\n{stdout[-2000:]}")


@pytest.mark.parametrize("name", list(CASES))
def test_script_reproduces_engine_losses(name, script_runs):
    from engine.training.train import train

    result = train(CASES[name])
    assert result["status"] == "completed", result.get("error")
    engine_losses = result["history"]["loss"]

    out, err = script_runs[name].communicate(timeout=600)
    assert script_runs[name].returncode == 0, err[-3000:]
    first = _parse(out, "FIRST_EPOCH_LOSS")
    script_losses = _parse(out, "EPOCH_LOSSES")

    rel = [abs(a - b) / abs(b) for a, b in zip(script_losses, engine_losses, strict=False)]
    MAX_REL_DIFF[name] = max(rel)
    print(f"{name}: engine {engine_losses} script {script_losses} max rel diff {max(rel):.3g}")
    assert first == pytest.approx(engine_losses[0], rel=1e-4)
    assert len(script_losses) == len(engine_losses)
    assert script_losses == pytest.approx(engine_losses, rel=1e-4)
    if name == "plateau-early-stopping":
        assert len(engine_losses) == 3, "early stopping should end the run after epoch 3"
        assert result["plateau_cuts"] == [2, 3]
        assert "learning rate cut after epochs: [2, 3]" in out
    assert "test loss:" in out


def _imported_modules(tree: ast.AST) -> set[str]:
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add((node.module or "").split(".")[0])
    return mods


def _all_configs() -> dict[str, dict]:
    """The test cases plus every task's document defaults (LSTMs, warmup-cosine, ...)."""
    return {**CASES, **{f"default-{t}": {"task": t} for t in TASKS}}


def test_scripts_are_standalone_python():
    for name, cfg in _all_configs().items():
        text = export_script(cfg)
        tree = ast.parse(text)
        mods = _imported_modules(tree)
        assert mods <= ALLOWED_IMPORTS, (name, mods)
        assert "engine" not in mods and "tensorflow" not in mods
        assert "import engine" not in text and "import tensorflow" not in text
        # the config and how it was made come first, as comments
        head = text.split("\nimport ", 1)[0]
        assert all(line.startswith("#") or not line for line in head.splitlines())
        assert "export-script" in head
        assert f'"task": "{cfg["task"]}"' in head


def test_scripts_are_ruff_clean(tmp_path):
    if not RUFF.exists():
        pytest.skip("ruff is not installed in .venv")
    for name, cfg in _all_configs().items():
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(export_script(cfg), "utf-8")
    config = ["--config", str(ROOT / "pyproject.toml"), "--no-cache"]
    check = subprocess.run(
        [str(RUFF), "check", *config, str(tmp_path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [str(RUFF), "format", "--check", "--diff", *config, str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_script_is_generated_source_not_an_interpreted_blob():
    text = export_script(CASES["accum-cosine-clipnorm"])
    assert "json.loads" not in text and "eval(" not in text and "exec(" not in text
    assert "keras.optimizers.RMSprop(\n    learning_rate=schedule," in text
    assert "    clipnorm=1.0,\n    gradient_accumulation_steps=2,\n" in text
    assert "keras.optimizers.schedules.CosineDecay(" in text
    assert "UpdateSchedule(base_schedule, accum_steps=2)" in text
    assert "results = model.evaluate(" in text and "return_dict=True" in text
    assert "metrics_names" not in text
    # mixed_float16 wraps the optimizer for loss scaling; bfloat16 needs no scaling
    assert "LossScaleOptimizer" in export_script(CASES["multiclass-float16-onehot"])
    assert "LossScaleOptimizer" not in export_script(CASES["mixed-bfloat16"])
    # custom parts are embedded only when used
    plain = export_script(CASES["regression-adam"])
    assert "class F1Score" not in plain and "class ReduceLROnPlateau" not in plain
    assert "class F1Score" in export_script(CASES["binary-sgd-nesterov"])
    assert "class ReduceLROnPlateau" in export_script(CASES["plateau-early-stopping"])


SCHEDULES = [
    None,
    {"name": "constant"},
    {"name": "exponential_decay", "decay_steps": 7, "decay_rate": 0.5, "staircase": True},
    {"name": "cosine_decay", "alpha": 0.1},
    {"name": "cosine_decay", "warmup_steps": 4, "decay_steps": 20},
    {"name": "warmup_cosine", "warmup_steps": 3, "total_steps": 25, "alpha": 0.05},
    {"name": "warmup_cosine"},
    {"name": "piecewise_constant", "boundaries": [5, 10], "factors": [1.0, 0.5, 0.1]},
    {"name": "polynomial_decay", "power": 2.0, "cycle": True, "decay_steps": 9},
    {"name": "inverse_time_decay", "decay_steps": 3, "decay_rate": 0.7},
    {"name": "cosine_decay_restarts", "first_decay_steps": 5, "t_mul": 1.5, "m_mul": 0.8},
]


@pytest.mark.parametrize("spec", SCHEDULES, ids=lambda s: (s or {"name": "none"})["name"])
def test_schedule_expression_gives_the_engines_rates(spec):
    import keras

    from engine.keras_parts.build import build_base_schedule
    from engine.keras_parts.schedules import Constant, WarmupCosineDecay

    cfg = validate({"task": "regression", "data": SMALL, "epochs": 3, "schedule": spec})
    source = schedule_expression(cfg)
    # Our own generated source from a test config: evaluated to compare with the engine.
    names = {"keras": keras, "Constant": Constant, "WarmupCosineDecay": WarmupCosineDecay}
    exported = eval(source, {**names, "LEARNING_RATE": cfg["learning_rate"]})
    engine = build_base_schedule(cfg)
    steps = np.arange(0, 40)
    got = [float(exported(int(s))) for s in steps]
    want = [float(engine(int(s))) for s in steps]
    assert got == pytest.approx(want, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize(
    "value",
    ["x\nimport os", "a'); __import__('os').system('x'); ('", "val loss", "", math.nan, object()],
)
def test_literals_refuse_anything_that_could_carry_code(value):
    with pytest.raises(ValueError):
        _lit(value)


def test_hostile_config_strings_are_rejected_before_export():
    cfg = {
        "task": "regression",
        "callbacks": {"early_stopping": {"monitor": "val_loss\nimport os"}},
    }
    with pytest.raises(ConfigError) as e:
        export_script(cfg)
    assert "callbacks.early_stopping.monitor" in e.value.fields


def _cli(*args, stdin: str | None = None):
    return subprocess.run(
        [PYTHON, "-m", "engine", "export-script", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_prints_the_script(tmp_path):
    cfg = CASES["regression-adam"]
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    r = _cli(str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == export_script(cfg)
    assert "Traceback" not in r.stderr


def test_cli_writes_the_script_to_a_file(tmp_path):
    cfg = CASES["multi-output"]
    out = tmp_path / "run.py"
    r = _cli("-", "-o", str(out), stdin=json.dumps(cfg))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert out.read_text(encoding="utf-8") == export_script(cfg)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            json.dumps({"task": "binary-10", "optimizer": {"name": "sgd", "momentum": 2}}),
            "momentum",
        ),
        (json.dumps({"task": "regression", "epochs": 0}), "epochs"),
        (json.dumps({"task": "nope"}), "task"),
        ("{not json", "not valid JSON"),
    ],
)
def test_cli_bad_config_exits_2_with_the_field(tmp_path, text, field):
    path = tmp_path / "cfg.json"
    path.write_text(text)
    r = _cli(str(path))
    assert r.returncode == 2
    assert field in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""


def test_cli_unwritable_output_exits_2(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(CASES["regression-adam"]))
    r = _cli(str(path), "-o", str(tmp_path / "missing-dir" / "run.py"))
    assert r.returncode == 2
    assert "--output" in r.stderr and "Traceback" not in r.stderr


def test_export_does_not_import_tensorflow():
    code = (
        "import sys; from engine.export_script import export_script; "
        "export_script({'task': 'multiclass-10'}); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    r = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
