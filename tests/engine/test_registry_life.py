"""A registry entry is a concept's whole life: a throwaway schedule and a throwaway
clip mode, added through their registries alone, are validated, built, previewed,
drawn with a formula, exported (the exported script runs and reproduces the engine's
losses) and trained, with nothing else in the code base knowing their names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.config import validate
from engine.errors import ConfigError
from engine.export_script import export_script
from engine.spec.clipping import CLIP_MODES, ClipEntry
from engine.spec.formula import Formula
from engine.spec.params import LEARNING_RATE, Param
from engine.spec.schedules import SCHEDULES, RunLength, ScheduleEntry

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


class HalfGlobal:
    """Graph code of the throwaway clip mode: the global norm clipped at half the
    threshold (what ``keras`` below asks of the optimizer)."""

    @staticmethod
    def was_clipped(grads, norm, c):
        from engine.keras_parts.clipping import GlobalClipNorm

        return GlobalClipNorm.was_clipped(grads, norm, c / 2)

    @staticmethod
    def per_member(grads, sq, norm, c):
        from engine.keras_parts.clipping import GlobalClipNorm

        return GlobalClipNorm.per_member(grads, sq, norm, c / 2)


def _halving_fill(p: dict, run: RunLength) -> dict:
    if p["half_life"] is None:
        p = {**p, "half_life": max(1, run.total_updates // 3)}
    return p


HALVING = ScheduleEntry(
    "halving",
    "Halving (throwaway)",
    "keras.optimizers.schedules.ExponentialDecay",
    {"half_life": Param("int", None, lo=1, hi=10_000_000, nullable=True, help="Updates per half.")},
    call=lambda p: {
        "initial_learning_rate": LEARNING_RATE,
        "decay_steps": p["half_life"],
        "decay_rate": 0.5,
    },
    fill=_halving_fill,
    formula=lambda p, lr: Formula(
        r"\eta_t = \eta_0\, 2^{-t / H}",
        [(r"\eta_0", lr, "learning_rate"), ("H", p["half_life"], "half_life")],
    ),
)
HALF_GLOBAL = ClipEntry(
    "half_global_clipnorm",
    "Clip the global norm at half the threshold (throwaway)",
    f"{__name__}:HalfGlobal",
    {"threshold": Param("float", 2.0, lo=0, lo_open=True, hi=1e6)},
    keras=lambda threshold: {"global_clipnorm": threshold / 2},
    chart="global norm",
)
RAW = {
    "task": "regression",
    "data": {"n_train": 200, "n_test": 20},
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 0.05,
    "schedule": {"name": "halving"},
    "clipping": {"half_global_clipnorm": 0.4},
}


@pytest.fixture
def throwaways():
    SCHEDULES.register(HALVING)
    CLIP_MODES.register(HALF_GLOBAL)
    try:
        yield
    finally:
        SCHEDULES.unregister("halving")
        CLIP_MODES.unregister("half_global_clipnorm")


def test_unknown_before_registration():
    with pytest.raises(ConfigError) as e:
        validate(RAW)
    assert {f for f, _ in e.value.problems} == {"schedule.name", "clipping.half_global_clipnorm"}


def test_a_throwaway_schedule_and_clip_mode_live_through_their_registries(throwaways, tmp_path):
    # validated: automatic length worked out, bad values named by field
    cfg = validate(RAW)
    updates = 5 * 3  # ceil(160 / 32) batches per epoch × 3 epochs
    assert cfg["schedule"] == {"name": "halving", "half_life": updates // 3}
    assert cfg["clipping"] == {"half_global_clipnorm": 0.4}
    with pytest.raises(ConfigError) as e:
        validate({**RAW, "schedule": {"name": "halving", "half_life": 0}})
    assert [f for f, _ in e.value.problems] == ["schedule.half_life"]
    with pytest.raises(ConfigError) as e:
        validate({**RAW, "clipping": {"half_global_clipnorm": -1}})
    assert [f for f, _ in e.value.problems] == ["clipping.half_global_clipnorm"]

    # built: the optimizer clips the way the entry says, the schedule halves
    from engine.keras_parts import build

    opt = build.build_optimizer(cfg)
    assert opt.global_clipnorm == pytest.approx(0.2)

    # previewed and drawn: the rate halves every half_life updates; the explorer's formula
    from engine.schedule_preview import preview
    from ui import schedule_explorer as sx

    shown = preview(cfg)
    want = [0.05 * 0.5 ** (s / 5) for s in range(updates)]
    np.testing.assert_allclose(shown["lr"], want, rtol=1e-6)
    assert sx.formula(cfg["schedule"], cfg["learning_rate"]).where[1] == ("H", 5, "half_life")
    assert "decay_rate=0.5" in sx.keras_code(cfg)

    # trained: the applied rate is the preview's, clipping flagged at half the threshold
    from engine.training.train import train

    result = train(cfg)
    assert result["status"] == "completed", result.get("error")
    steps = result["steps"]
    np.testing.assert_allclose(steps["lr"], shown["lr"], rtol=1e-6)
    flagged = [bool(c) for c in steps["clipped"]]
    assert flagged == [g > 0.2 for g in steps["grad_norm"]]
    assert any(flagged)

    # exported: the script runs standalone and reproduces the engine's losses
    script = export_script(cfg)
    assert "global_clipnorm=0.2" in script and "decay_rate=0.5" in script
    path = tmp_path / "script.py"
    path.write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [PYTHON, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("EPOCH_LOSSES="))
    losses = json.loads(line.split("=", 1)[1])
    assert losses == pytest.approx(result["history"]["loss"], rel=1e-4)
