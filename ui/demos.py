"""Guided demos: the documents' lessons as launchable experiments with known answers.

A demo is a documented comparison (often one of ``ui.presets``) plus what each of
its runs should be diagnosed as. The expectations are not hopes: the real-run
suite (``tests/engine/test_diagnosis_suite.py``) trains every demo config and
checks the engine's diagnosis against them, so a teacher who launches a demo
sees the label the page promised.

Everything here is pure data and pure functions over store run dicts; the page
(``pages/demos.py``) only draws them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.spec.precision import CPU_WARNING
from ui.diagnosis_view import label_text
from ui.plan import PlannedRun, from_configs, validate_plan
from ui.presets import PRESETS

TAG_PREFIX = "demo:"


@dataclass(frozen=True)
class DemoRun:
    name: str
    config: dict
    expect: tuple[str, ...]  # acceptable diagnosis labels, the one to expect first


@dataclass(frozen=True)
class Demo:
    id: str
    title: str
    source: str
    look_for: str
    runs: tuple[DemoRun, ...]
    tab: str = "Loss"  # the compare page's chart tab where the lesson shows
    caveat: str | None = None  # a warning the page shows before launch
    # Predict, then reveal (issue 15): ``{"kind", "text", "metric", "run"}`` or a typed
    # record with those attributes (``ui.predictions.QuestionLike``); None: no question.
    question: Any = None

    @property
    def tag(self) -> str:
        return demo_tag(self.id)

    def planned(self) -> list[PlannedRun]:
        return from_configs([r.name for r in self.runs], [r.config for r in self.runs])


def demo_tag(demo_id: str) -> str:
    return f"{TAG_PREFIX}{demo_id}"


def _runs(*runs: tuple[str, dict, str | tuple[str, ...]]) -> tuple[DemoRun, ...]:
    return tuple(
        DemoRun(name, cfg, (expect,) if isinstance(expect, str) else tuple(expect))
        for name, cfg, expect in runs
    )


def _from_preset(preset_id: str, *expect: str | tuple[str, ...], caveat=None) -> Demo:
    """A demo replaying a setup-page preset: same configs and text, plus expectations."""
    p = PRESETS[preset_id]
    if len(expect) != len(p.configs):
        raise ValueError(f"{preset_id}: {len(p.configs)} runs, {len(expect)} expectations")
    runs = _runs(*zip(p.names, p.configs, expect, strict=True))
    return Demo(p.id, p.title, p.source, p.look_for, runs, p.tab, caveat)


_REG5 = {"task": "regression-5", "optimizer": "sgd", "epochs": 20}
# 300 examples with 20% of the labels randomised and a network twice as wide: it fits
# the noise within ~10 epochs, so there is an overfitting phase for the callbacks to cut.
_OVERFIT = {
    "task": "binary-20",
    "data": {"n_train": 300, "noise": 0.2},
    "model": {"width": 2.0},
    "epochs": 40,
}
# 1280 examples → 1024 after the 20% validation split: a whole number of 128-example
# batches, so 4 accumulated batches of 32 are exactly the batches of 128.
_ACCUM = {"task": "regression", "data": {"n_train": 1280}, "epochs": 10}
_PREC = {"task": "mixed-precision", "data": {"learnable": True}, "epochs": 10}

DEMOS: dict[str, Demo] = {
    d.id: d
    for d in [
        _from_preset("sgd-momentum-nesterov", "healthy", "healthy", "healthy"),
        _from_preset("adam-vs-adamw", "healthy", "healthy", "healthy"),
        _from_preset("rmsprop-vs-adagrad", "healthy", "healthy"),
        _from_preset("clipping-modes", "healthy", "healthy", "healthy"),
        _from_preset("lstm-clipping", "healthy", "healthy"),
        Demo(
            "learning-rate",
            "Learning rate: too low, about right, too high",
            "001 · How learning rate affects convergence (regression-5, plain SGD)",
            "At 1e-4 the loss crawls: almost flat for all 20 epochs. At 0.01 it falls "
            "steadily and validation follows. At 0.2 the steps overshoot, so the loss "
            "bounces from epoch to epoch, and at 1.0 the loss becomes NaN within the first "
            "epoch (see the marker on the Loss chart).",
            _runs(
                ("lr 1e-4 (too low)", {**_REG5, "learning_rate": 1e-4}, "lr_too_low"),
                ("lr 0.01 (about right)", {**_REG5, "learning_rate": 0.01}, "healthy"),
                (
                    "lr 0.2 (too high)",
                    {**_REG5, "learning_rate": 0.2},
                    ("lr_too_high", "diverged"),
                ),
                ("lr 1.0 (far too high)", {**_REG5, "learning_rate": 1.0}, "diverged"),
            ),
            question={
                "kind": "lowest",
                "text": "Which run will end with the lowest validation loss?",
            },
        ),
        Demo(
            "memorise-random-labels",
            "Memorising random labels",
            "000 · Complete Example (multiclass-10: random labels, BN + dropout, AdamW)",
            "The labels are random, as in the document, so there is nothing to learn: "
            "training accuracy still climbs from 10% to about half as the network "
            "memorises its 1,000 examples, while validation accuracy stays at chance (10%) "
            "and validation loss rises from the second epoch. Early stopping is off and the "
            "data smaller so the memorisation plays out in seconds, in float32 for speed.",
            _runs(
                (
                    "Complete example · random labels",
                    {
                        "task": "multiclass-10",
                        "data": {"n_train": 1000, "n_val": 500},
                        "precision": "float32",
                        "callbacks": {},
                        "epochs": 20,
                    },
                    "overfitting",
                ),
            ),
        ),
        Demo(
            "early-stopping",
            "Early stopping with reduce-LR-on-plateau",
            "001 · Essential callbacks (binary-20, 300 noisy examples, width ×2)",
            "Without callbacks validation loss bottoms out around epoch 10 and then climbs "
            "for 30 epochs: overfitting. With the callbacks the learning rate is halved "
            "whenever validation stalls for 2 epochs (Learning rate tab) and early "
            "stopping ends the run 5 epochs after the best one, restoring its weights.",
            _runs(
                ("No callbacks", dict(_OVERFIT), "overfitting"),
                (
                    "Early stopping + reduce LR",
                    {
                        **_OVERFIT,
                        "callbacks": {
                            "early_stopping": {"patience": 5, "restore_best_weights": True},
                            "reduce_lr_on_plateau": {"factor": 0.5, "patience": 2},
                        },
                    },
                    "healthy",
                ),
            ),
        ),
        Demo(
            "grad-accumulation",
            "Gradient accumulation vs the larger batch",
            "000 / 002 · Gradient accumulation (regression, Adam 1e-3)",
            "Four accumulated batches of 32 make one update from the same 128 examples as "
            "one batch of 128, so those two curves lie on top of each other. Both make a "
            "quarter of batch 32's updates per epoch, so at the same learning rate they "
            "fall more slowly per epoch; switch the x axis to “update” to see why.",
            _runs(
                ("batch 32", {**_ACCUM, "batch_size": 32}, "healthy"),
                (
                    "batch 32 × accumulate 4",
                    {**_ACCUM, "batch_size": 32, "grad_accum_steps": 4},
                    "healthy",
                ),
                ("batch 128", {**_ACCUM, "batch_size": 128}, "healthy"),
            ),
        ),
        Demo(
            "mixed-precision",
            "float32 vs mixed precision",
            "000 · Mixed Precision Training (Dense 128 → 64 → 1, float32 output layer)",
            "The loss curves coincide: loss scaling keeps float16 gradients from "
            "underflowing and the output layer stays float32. What differs is speed: open "
            "the Speed tab and compare epoch times. Mixed precision pays on GPUs with "
            "Tensor Cores; on a CPU it gains nothing.",
            _runs(
                ("float32", {**_PREC, "precision": "float32"}, "healthy"),
                ("mixed_float16", {**_PREC, "precision": "mixed_float16"}, "healthy"),
                ("mixed_bfloat16", {**_PREC, "precision": "mixed_bfloat16"}, "healthy"),
            ),
            tab="Speed",
            caveat=CPU_WARNING,
        ),
    ]
}


def validated(demo: Demo) -> tuple[list[dict], list[tuple[str, str]]]:
    """Canonical configs of the demo's runs, or every problem named by run and field."""
    return validate_plan(demo.planned())


# ----------------------------------------------------------------------------- results


def demo_runs(runs: Iterable[Mapping[str, Any]], demo_id: str) -> list[Mapping[str, Any]]:
    """The runs of the demo's latest launch (its newest sweep), oldest first."""
    tagged = [r for r in runs if demo_tag(demo_id) in (r.get("tags") or [])]
    if not tagged:
        return []
    latest = max(tagged, key=lambda r: r.get("created") or 0.0).get("sweep_id")
    return [r for r in tagged if r.get("sweep_id") == latest]


@dataclass(frozen=True)
class Verdict:
    name: str
    status: str
    label: str | None  # the stored diagnosis' main label; None before the first epoch
    summary: str
    expect: tuple[str, ...]

    @property
    def as_expected(self) -> bool | None:
        """True/False once judged; None while there is nothing to compare yet."""
        if self.label is None or self.label == "too_early":
            return None
        return self.label in self.expect


def verdicts(demo: Demo, runs: Sequence[Mapping[str, Any]]) -> list[Verdict]:
    """Each launched run's diagnosis next to what the demo expects of it (matched by
    run name, so a renamed run simply has no expectation)."""
    expect = {r.name: r.expect for r in demo.runs}
    out = []
    for r in runs:
        diag = r.get("diagnosis") if isinstance(r.get("diagnosis"), Mapping) else None
        out.append(
            Verdict(
                r.get("name") or r["id"],
                r["status"],
                diag.get("label") if diag else None,
                diag.get("summary", "") if diag else "",
                expect.get(r.get("name"), ()),
            )
        )
    return out


def expect_text(expect: Sequence[str]) -> str:
    """``LR too high or diverged``."""
    return " or ".join(label_text(e) for e in expect) or "—"
