"""What the dashboard draws of a diagnosis that acts: the explanation's numbers and
suggested changes, **Try this fix**, the follow-up verdict, paired seed comparisons and
the clipping marks on the gradient chart (AppTest and pure functions; the clicked flow
in Chromium is ``tests/browser/test_browser_followup.py``)."""

from __future__ import annotations

import json

import pytest
from ui_fake_runs import _info
from ui_helpers import all_text, open_app

from engine.config import shape_of, validate
from engine.diagnosis import diagnose_stored
from engine.store import RunStore
from ui.charts import RunCurves, updates_figure
from ui.diagnosis_view import explanation_markdown
from ui.followup_view import follow_ups
from ui.paired_view import arms, comparison_line, comparisons
from ui.palette import RUN_COLORS

CLIPPED = validate(
    {
        "task": "regression-10",
        "optimizer": "sgd",
        "learning_rate": 0.5,
        "clipping": {"clipvalue": 0.5},
        "epochs": 12,
        "data": {"n_train": 200, "n_test": 20},
    }
)
TRAIN = [3.0, 1.6, 1.3, 1.25, 1.31, 1.19, 1.34, 1.22, 1.28, 1.21, 1.33, 1.24]
VAL = [2.0, 1.2, 0.95, 1.4, 0.86, 1.57, 0.9, 1.45, 0.88, 1.5, 0.95, 1.42]


def _write(store: RunStore, cfg: dict, train, val, *, name: str, parent: str | None = None):
    """A finished run with the given curves, every update clipped, diagnosed by the engine."""
    (rid,) = store.create_runs([cfg], names=[name], parent_id=parent)
    store.claim(rid, "w-test")
    store.record_start(rid, {**_info(cfg), "baseline_loss": 10.0})
    upe = int(shape_of(cfg).updates_per_epoch)
    for e, (t, v) in enumerate(zip(train, val, strict=True), 1):
        store.append_epoch(
            rid,
            {
                "epoch": e,
                "values": {"loss": t, "val_loss": v},
                "lr": cfg["learning_rate"],
                "epoch_time": 0.1,
                "examples_per_sec": 1000.0,
                "wall_time": 0.1 * e,
                "updates": e * upe,
            },
        )
        ups = list(range((e - 1) * upe + 1, e * upe + 1))
        store.append_updates(
            rid,
            {
                "update": ups,
                "epoch": [e] * upe,
                "loss": [t * (1 + 0.3 * ((u % 3) - 1)) for u in ups],
                "lr": [cfg["learning_rate"]] * upe,
                "grad_norm": [3.0 + (u % 7) * 0.5 for u in ups],
                "clipped": [True] * upe,
            },
        )
    store.finish(rid, {"status": "completed", "test": {}, "predictions": {}, "epochs_run": 12})
    store.set_diagnosis(rid, diagnose_stored(store, rid))
    return rid


@pytest.fixture
def plateau(store_path) -> str:
    return _write(RunStore(store_path), CLIPPED, TRAIN, VAL, name="sgd 0.5 clipped")


def test_explanation_shows_checks_clipping_and_changes(plateau, store_path):
    d = RunStore(store_path).get_run(plateau)["diagnosis"]
    assert d["label"] == "lr_too_high" and d["suggestions"]
    text = explanation_markdown(d)
    assert "Confidence: " in text and "**Why, in numbers**" in text
    assert "✓ share of updates clipped: 1 (needs > 0.5)" in text
    assert "**Clipping**" in text and "lower the learning rate instead" in text
    assert "1. More than half the updates clipped (100%)" in text
    assert "`learning_rate = 0.15`" in text
    # with the buttons drawn by render_explanation, the list is not repeated
    assert "Suggested changes" not in explanation_markdown(d, suggestions=False)


def test_try_this_fix_queues_the_child_and_opens_the_pair(plateau, store_path):
    store = RunStore(store_path)
    at = open_app("pages/compare.py", compare_ids=[plateau])
    assert not at.exception, [e.message for e in at.exception]
    buttons = [b for b in at.button if b.label == "Try this fix"]
    d = store.get_run(plateau)["diagnosis"]
    assert len(buttons) == len(d["suggestions"])
    buttons[0].click().run()
    (child,) = store.list_runs(parent_id=plateau)
    assert child["status"] == "queued" and child["config"]["learning_rate"] == 0.15
    assert child["name"] == "sgd 0.5 clipped → learning_rate 0.15"
    assert {k: v for k, v in child["config"].items() if k != "learning_rate"} == {
        k: v for k, v in CLIPPED.items() if k != "learning_rate"
    }
    assert at.query_params["runs"] == f"{plateau},{child['id']}"
    assert at.session_state["compare_ids"] == [plateau, child["id"]]
    # the table opens with both rows ticked, in row order: the browser keeps an unsorted
    # default only in part, and dropped the follow-up at its next status change
    table = next(d for d in at.dataframe if "Diagnosis" in d.value.columns)
    rows = json.loads(table.proto.selection_default)["selection"]["rows"]
    assert len(rows) == 2 and rows == sorted(rows)
    text = all_text(at)
    assert "Follow-ups" in text and "Waiting for the follow-up to finish" in text


def test_the_verdict_appears_once_the_child_ends(plateau, store_path):
    store = RunStore(store_path)
    calm = validate({**CLIPPED, "learning_rate": 0.15})
    good_train = [3.0 * 0.6**i + 0.01 for i in range(12)]
    good_val = [2.0 * 0.6**i + 0.01 for i in range(12)]
    child = _write(store, calm, good_train, good_val, name="calmer", parent=plateau)
    at = open_app("pages/compare.py", compare_ids=[plateau, child])
    assert not at.exception
    runs = {r["id"]: r for r in store.list_runs()}
    ((p, c, v),) = follow_ups([runs[plateau], runs[child]], runs)
    assert (p["id"], c["id"]) == (plateau, child)
    assert v.kind in ("fixed", "better") and v.change < -0.9
    md = "\n".join(m.value for m in at.markdown)
    assert "Follow-ups" in md and v.text() in md
    assert f"best val_loss {v.parent_best:.4g} → {v.child_best:.4g}" in v.text()


def _seed_runs(store: RunStore, arm_cfg: dict, name: str, vals: dict[int, float]) -> list[str]:
    ids = []
    for seed, best in vals.items():
        cfg = validate({**arm_cfg, "seed": seed})
        (rid,) = store.create_runs([cfg], names=[f"{name} · seed {seed}"])
        store.claim(rid, "w-test")
        store.record_start(rid, _info(cfg))
        for e, v in enumerate((best * 2, best * 1.3, best), 1):
            store.append_epoch(
                rid,
                {
                    "epoch": e,
                    "values": {"loss": v * 0.9, "val_loss": v},
                    "lr": 1e-3,
                    "epoch_time": 0.1,
                    "examples_per_sec": 1.0,
                    "wall_time": e,
                    "updates": e,
                },
            )
        store.finish(rid, {"status": "completed", "test": {}, "predictions": {}})
        ids.append(rid)
    return ids


def test_paired_summary_separates_a_real_difference_from_noise(store_path):
    store = RunStore(store_path)
    base = validate({"task": "regression", "epochs": 3, "data": {"n_train": 200, "n_test": 20}})
    a = _seed_runs(store, base, "adam", {1: 1.0, 2: 1.4, 3: 0.7})
    b = _seed_runs(store, {**base, "learning_rate": 0.002}, "adam fast", {1: 0.9, 2: 1.3, 3: 0.61})
    c = _seed_runs(
        store, {**base, "learning_rate": 0.003}, "adam faster", {1: 1.1, 2: 1.2, 3: 0.75}
    )
    at = open_app("pages/compare.py", compare_ids=a + b + c)
    assert not at.exception, [e.message for e in at.exception]
    md = "\n".join(m.value for m in at.markdown)
    assert "Paired by seed" in md
    lines = [x for x in md.splitlines() if " vs " in x]
    fast = next(x for x in lines if "adam fast**" in x and "faster" not in x)
    assert ":green-badge[adam fast better]" in fast and "3 seeds" in fast
    noisy = next(x for x in lines if "adam faster**" in x and "fast**" not in x.split(" vs ")[1])
    assert ":gray-badge[not significant]" in noisy
    assert at.selectbox(key="paired_result").value == "val_loss"

    runs = {r["id"]: r for r in store.list_runs()}
    groups = arms([runs[i] for i in a + b + c])
    assert [g[0] for g in groups] == ["adam", "adam fast", "adam faster"]
    (_, _, p), *_ = comparisons(groups, "val_loss")
    assert p.n == 3 and p.mean == pytest.approx(-0.0967, abs=1e-3) and p.significant


def test_comparison_line_without_shared_seeds_and_for_higher_is_better():
    assert "fewer than two shared seeds" in comparison_line("a", "b", None, "val_loss", "best")
    from engine.paired import paired_difference

    p = paired_difference({1: 0.80, 2: 0.82, 3: 0.81}, {1: 0.85, 2: 0.86, 3: 0.87})
    line = comparison_line("sgd", "adam", p, "val_accuracy", "best")
    assert ":green-badge[adam better]" in line  # higher accuracy wins


def test_gradient_chart_marks_the_p90_and_the_clipped_share():
    n = 40
    ups = list(range(1, n + 1))
    run = RunCurves(
        run_id="a",
        name="clipped <run> 100%",
        color=RUN_COLORS[0],
        updates={
            "update": ups,
            "loss": [1.0] * n,
            "lr": [0.1] * n,
            "grad_norm": [float(u) for u in ups],
            "clipped": [u > 10 for u in ups],
        },
        clipping={"global_clipnorm": 10.0},
    )
    fig = updates_figure([run], "grad_norm")
    (p90,) = [t for t in fig.data if t.meta and t.meta.get("series") == "clip_p90"]
    assert list(p90.y) == pytest.approx([36.1, 36.1])
    assert p90.meta["share"] == 0.75 and p90.meta["aggressive"]
    assert p90.text[-1] == "75% clipped · p90 ‖g‖ 36.1 · lower the LR instead"
    assert "%%" in p90.hovertemplate.split("·")[0] and "&lt;run>" in p90.hovertemplate
    unclipped = RunCurves(**{**run.__dict__, "clipping": None})
    fig = updates_figure([unclipped], "grad_norm")
    assert not [t for t in fig.data if t.meta and t.meta.get("series") == "clip_p90"]
    json.dumps(fig.to_plotly_json(), default=str)  # serialisable as the page sends it
