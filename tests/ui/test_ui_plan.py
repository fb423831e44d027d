"""Pure UI logic: the form round trip, planning a launch, advice, presets, run tables."""

from __future__ import annotations

import json

import pytest

from engine.config import defaults_for, validate
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.precision import CPU_WARNING
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import JIT_NOTE, TASKS
from ui import form, plan
from ui.presets import PRESETS
from ui.runs import (
    config_diff,
    display_names,
    filter_runs,
    flatten,
    group_label,
    hyperparameters,
    log_dims,
    param_at,
    plateau_text,
    primary_metric,
    progress,
    runs_table,
    seed_groups,
)

# ----------------------------------------------------------------------------- form


@pytest.mark.parametrize("task_id", list(TASKS))
def test_form_round_trips_every_tasks_defaults(task_id):
    state: dict = {}
    form.ensure_state(state, task_id)
    assert validate(form.config_from_state(state)) == defaults_for(task_id)


@pytest.mark.parametrize("opt", OPTIMIZERS.names())
def test_form_round_trips_every_optimizer_and_schedule(opt):
    for sched in SCHEDULES.names():
        raw = {
            "task": "regression",
            "optimizer": opt,
            "schedule": {"name": sched},
            "epochs": 3,
            "clipping": {"clipnorm": 2.0},
        }
        if sched == "piecewise_constant":
            raw["schedule"] = {"name": sched, "boundaries": [10, 20], "factors": [1, 0.5, 0.1]}
        state: dict = {}
        cfg = form.load_raw(state, raw)
        if sched == "constant":  # the form writes "no schedule" as null: same training
            cfg = {**cfg, "schedule": None}
        assert validate(form.config_from_state(state)) == cfg, (opt, sched)


def test_automatic_schedule_lengths_stay_automatic_in_the_form():
    state: dict = {}
    form.ensure_state(state, "multiclass-10")
    state[form.key("epochs")] = 3
    cfg = validate(form.config_from_state(state))
    assert cfg["schedule"]["total_steps"] == 3 * 79  # follows the new epochs, not 30 × 79


def test_unparsable_list_params_reach_the_validator_with_their_field():
    state: dict = {}
    form.load_raw(state, {"task": "regression", "schedule": "piecewise_constant"})
    state[form.key("schedule", "piecewise_constant", "boundaries")] = "10, x"
    cfg, problems = form.check(form.config_from_state(state))
    assert cfg is None and problems[0][0] == "schedule.boundaries"


# ----------------------------------------------------------------------------- planning


def _raw(**kw):
    return {**form.config_from_state(_state()), **kw}


def _state():
    s: dict = {}
    form.ensure_state(s, "regression")
    return s


def test_expand_knob_changes_only_that_knob():
    runs = plan.expand_knob(_raw(), "batch_size", [16, 64])
    cfgs, problems = plan.validate_plan(runs)
    assert not problems
    assert [c["batch_size"] for c in cfgs] == [16, 64]
    a, b = (flatten(c) for c in cfgs)
    assert {k for k in a if a[k] != b[k]} == {"batch_size"}


def test_choice_knob_keeps_the_forms_settings_for_the_current_entry():
    base = _raw(optimizer={"name": "adam", "beta_1": 0.8})
    opts = plan.choice_options("optimizer", base)
    assert opts["adam"] == {"name": "adam", "beta_1": 0.8}
    assert opts["sgd"] == {"name": "sgd"}
    assert opts["sgd · Nesterov 0.9"]["nesterov"] is True
    assert plan.default_choices("optimizer", base)[0] == "adam"


def test_loss_knob_only_offers_losses_that_fit_with_the_right_from_logits():
    opts = plan.choice_options("loss", {**_raw(), "task": "multiclass-10"})
    assert set(opts) == {"focal", "categorical_crossentropy", "sparse_categorical_crossentropy"}
    assert opts["categorical_crossentropy"]["from_logits"] is True  # logits output


def test_schedule_lengths_follow_each_runs_epochs():
    base = _raw(schedule={"name": "cosine_decay"})
    cfgs, _ = plan.validate_plan(plan.expand_knob(base, "epochs", [2, 4]))
    assert [c["schedule"]["decay_steps"] for c in cfgs] == [50, 100]


def test_seed_repeats_multiply_runs_with_consecutive_seeds():
    runs = plan.expand_knob(_raw(), "learning_rate", [1e-3, 1e-2], repeats=3, seed=7)
    assert [r.raw["seed"] for r in runs] == [7, 8, 9, 7, 8, 9]
    assert runs[0].name == "lr 0.001 · seed 7"
    assert group_label(runs[0].name) == "lr 0.001"


def test_validate_plan_names_the_run_and_field():
    runs = plan.expand_knob(_raw(), "batch_size", [16, 5000])
    cfgs, problems = plan.validate_plan(runs)
    assert len(cfgs) == 1
    assert problems[0][0] == "batch 5000 → batch_size"


@pytest.mark.parametrize(("text", "ok"), [("3e-4", 3e-4), ("1_000", 1000.0), (" 2 ", 2.0)])
def test_parse_value(text, ok):
    assert plan.parse_value(text, "float") == ok


@pytest.mark.parametrize(("text", "kind"), [("abc", "float"), ("nan", "float"), ("2.5", "int")])
def test_parse_value_rejects(text, kind):
    with pytest.raises(ValueError):
        plan.parse_value(text, kind)


# ----------------------------------------------------------------------------- advice


def _fields(cfg, **kw):
    return {a.field: a for a in plan.advice(validate(cfg), **kw)}


def test_mixed_float16_on_cpu_is_a_warning_but_not_on_gpu():
    cfg = {"task": "regression", "precision": "mixed_float16"}
    assert _fields(cfg)["precision"].message == CPU_WARNING
    assert "precision" not in _fields(cfg, gpu=True)


def test_learning_rate_far_outside_the_usual_range():
    assert "learning_rate" not in _fields({"task": "regression", "learning_rate": 0.02})
    high = _fields({"task": "regression", "learning_rate": 0.5})["learning_rate"]
    assert high.level == "warning" and "50×" in high.message
    low = _fields({"task": "regression", "optimizer": "sgd", "learning_rate": 1e-6})
    assert "crawl" in low["learning_rate"].message


def test_jit_nesterov_random_targets_and_long_decay_are_named():
    f = _fields(
        {
            "task": "sequence",
            "jit_compile": True,
            "optimizer": {"name": "sgd", "nesterov": True},
            "schedule": {"name": "exponential_decay", "decay_steps": 100_000},
        }
    )
    assert f["jit_compile"].message == JIT_NOTE
    assert "momentum" in f["optimizer.nesterov"].message
    assert "memorise" in f["data.learnable"].message
    assert "barely move" in f["schedule.decay_steps"].message


# ----------------------------------------------------------------------------- import


def test_parse_config_text_accepts_configs_runs_and_exports():
    cfg = {"task": "regression"}
    assert plan.parse_config_text(json.dumps(cfg)) == (cfg, [])
    assert plan.parse_config_text(json.dumps({"config": cfg, "id": "x"}))[0] == cfg
    export = {"format": "hplab-runs", "version": 1, "runs": [{"config": cfg}]}
    assert plan.parse_config_text(json.dumps(export).encode())[0] == cfg


def test_parse_config_text_refuses_big_and_broken_input():
    assert plan.parse_config_text(b"x" * 1_000_001)[1][0][0] == "file"
    assert plan.parse_config_text(b"\xff\xfe")[1][0][0] == "file"
    assert "line 1" in plan.parse_config_text("{")[1][0][1]
    assert plan.parse_config_text("42")[1][0][0] == "config"


# ----------------------------------------------------------------------------- presets


@pytest.mark.parametrize("preset_id", list(PRESETS))
def test_every_preset_validates_and_says_what_to_look_for(preset_id):
    p = PRESETS[preset_id]
    cfgs, problems = plan.validate_plan(
        [plan.PlannedRun(n, c) for n, c in zip(p.names, p.configs, strict=True)]
    )
    assert not problems and len(cfgs) == len(p.names) >= 1
    assert len(p.look_for) > 60
    assert len({c["task"] for c in cfgs}) == 1
    if len(cfgs) > 1:
        assert len({c["seed"] for c in cfgs}) == 1  # a comparison, not a seed lottery
    assert all(c["precision"] != "mixed_float16" for c in cfgs)  # slow on this CPU


def test_presets_replay_the_documents_settings():
    sgd = [validate(c) for c in PRESETS["sgd-momentum-nesterov"].configs]
    assert [(c["optimizer"]["momentum"], c["optimizer"]["nesterov"]) for c in sgd] == [
        (0.0, False),
        (0.9, False),
        (0.9, True),
    ]
    assert {c["learning_rate"] for c in sgd} == {0.01}
    ada = [validate(c) for c in PRESETS["rmsprop-vs-adagrad"].configs]
    assert [(c["optimizer"]["name"], c["learning_rate"]) for c in ada] == [
        ("rmsprop", 1e-3),
        ("adagrad", 0.01),
    ]


# ----------------------------------------------------------------------------- run tables


def _run(rid, status="completed", *, cfg=None, **kw):
    cfg = cfg or validate({"task": "binary-10", "epochs": 4})
    d = {
        "id": rid,
        "name": f"run {rid}",
        "status": status,
        "config": cfg,
        "tags": [],
        "created": 1000.0,
        "started": 1000.0,
        "finished": 1010.0,
        "epochs_done": 4,
        "updates_done": 100,
        "info": {"total_updates": 100},
        "notes": "",
        "best": {"val_loss": 0.4, "loss": 0.3, "val_accuracy": 0.8},
        "best_epoch": {"val_loss": 3},
        "last": {"loss": 0.3, "val_loss": 0.5},
    }
    d.update(kw)
    return d


def test_runs_table_keeps_numbers_numeric_and_best_values():
    df = runs_table([_run("a"), _run("b", "running", finished=None)], now=1005.0)
    assert df["Best loss"].tolist() == [0.4, 0.4]
    assert df["Best loss is"].tolist() == ["val_loss", "val_loss"]
    assert df["Best metric"].tolist() == [0.8, 0.8] and df["Metric"][0] == "val_accuracy"
    assert df["Duration (s)"].tolist() == [10.0, 5.0]
    assert df["Best epoch"][0] == 3


def test_filter_runs_by_every_facet():
    adam = _run("a", tags=["x"])
    sgd = _run("b", "failed", cfg=validate({"task": "regression", "optimizer": "sgd"}))
    runs = [adam, sgd]
    assert filter_runs(runs, tasks=["regression"]) == [sgd]
    assert filter_runs(runs, statuses=["completed"]) == [adam]
    assert filter_runs(runs, optimizers=["sgd"]) == [sgd]
    assert filter_runs(runs, tags=["x"]) == [adam]
    assert filter_runs(runs, text="RUN B") == [sgd]
    assert filter_runs(runs) == runs


def test_config_diff_lists_only_what_differs():
    a = _run("a")
    b = _run("b", cfg=validate({"task": "binary-10", "epochs": 4, "learning_rate": 0.01}))
    diff = config_diff([a, b])
    assert diff.index.tolist() == ["learning_rate"]
    assert diff.loc["learning_rate"].tolist() == ["0.001", "0.01"]
    assert config_diff([a, _run("c")]).empty


def test_seed_groups_and_hyperparameters():
    base = {"task": "binary-10", "epochs": 4}
    runs = [
        _run("a", cfg=validate({**base, "seed": 1})),
        _run("b", cfg=validate({**base, "seed": 2})),
        _run("c", cfg=validate({**base, "seed": 1, "learning_rate": 0.01})),
    ]
    assert list(seed_groups(runs).values()) == [["a", "b"]]
    assert hyperparameters(runs) == ["learning_rate"]  # the seed is never an axis


def test_identical_runs_are_not_seed_repeats():
    """One config and one seed twice is one run twice: no band, no "± 0 over 2 seeds"."""
    base = {"task": "binary-10", "epochs": 4}
    twins = [_run(i, cfg=validate({**base, "seed": 42})) for i in ("a", "b")]
    assert seed_groups(twins) == {}
    # a third run with another seed makes a group of two seeds; the repeat stays alone
    third = _run("c", cfg=validate({**base, "seed": 7}))
    assert list(seed_groups([*twins, third]).values()) == [["a", "c"]]
    # a demo's run beside a hand-made one with the same config and seed: not a group
    demo = _run("d", cfg=validate({**base, "seed": 42}), name="float32", tags=["demo:x"])
    assert seed_groups([twins[0], demo]) == {}


def test_names_are_made_unique_where_they_repeat():
    runs = [_run("aaaaaaaaaaaa1"), _run("bbbbbbbbbbbb2"), _run("c")]
    for r in runs[:2]:
        r["name"] = "regression · adam · lr 0.001"
    assert display_names(runs) == [
        "regression · adam · lr 0.001 (aaaaaaaa)",
        "regression · adam · lr 0.001 (bbbbbbbb)",
        "run c",
    ]
    assert runs_table(runs)["Run"].tolist() == display_names(runs)


def test_plateau_cuts_read_as_epochs():
    assert plateau_text([4]) == "after epoch 4 (once)"
    assert plateau_text([4, 9, 12]) == "after epochs 4, 9 and 12 (3 cuts)"


def test_rate_like_knobs_are_log_dimensions():
    base = {"task": "binary-10", "epochs": 4}
    runs = [
        _run(str(i), cfg=validate({**base, "learning_rate": lr, "batch_size": b}))
        for i, (lr, b) in enumerate([(1e-4, 16), (1e-2, 64)])
    ]
    dims = hyperparameters(runs)
    assert set(dims) == {"learning_rate", "batch_size"}
    assert log_dims(runs, dims) == ["learning_rate"]
    assert param_at(runs[0]["config"], "callbacks.reduce_lr_on_plateau.min_lr").log


def test_progress_text_fraction_and_eta():
    p = progress(
        _run("a", "running", updates_done=25, epochs_done=1, finished=None, last={"loss": 0.5}),
        now=1010.0,
    )
    assert p["fraction"] == 0.25
    assert p["eta"] == pytest.approx(30.0)  # 10 s for a quarter → 30 s to go
    assert "epoch 1/4" in p["text"] and "ETA 30 s" in p["text"]
    assert progress(_run("q", "queued", started=None), now=0)["text"].startswith("queued")
    done = progress(_run("a"), now=2000)
    assert done["fraction"] == 1.0 and "took 10 s" in done["text"]


def test_primary_metric_names_match_keras():
    assert primary_metric(validate({"task": "multiclass-10"})) == "accuracy"
    cfg = validate({"task": "multiclass-10", "metrics": [{"name": "top_k", "k": 5}]})
    assert primary_metric(cfg) == "top5_accuracy"
    assert primary_metric(validate({"task": "multi-output"})) == "price_mae"


def test_a_knob_comparison_expands_as_the_cli_sweep_of_the_same_values():
    """One expander (``engine.sweep.plan``): the dashboard's knob × seed repeats and a
    sweep file over the same values queue the same configs in the same order."""
    from engine.sweep import expand

    base = validate(_raw(schedule={"name": "cosine_decay"}))
    ui_runs = plan.expand_knob(base, "batch_size", [16, 64], repeats=2, seed=base["seed"])
    ui_cfgs, problems = plan.validate_plan(ui_runs)
    cli = expand({"base": base, "grid": {"batch_size": [16, 64]}, "repeats": 2})
    assert not problems
    assert ui_cfgs == [r["config"] for r in cli]
    assert [r.name for r in ui_runs] == [
        "batch 16 · seed 42",
        "batch 16 · seed 43",
        "batch 64 · seed 42",
        "batch 64 · seed 43",
    ]
    assert cli[0]["name"] == "batch_size=16 seed=42"
