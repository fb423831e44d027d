"""Every page, headless through ``app.py``: renders, keeps its widgets, does its job."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from ui_helpers import (
    PAGES,
    ROOT,
    TEACHING_PAGES,
    all_text,
    chart_titles,
    open_app,
    open_tab,
    run_until,
)

from engine.config import validate
from engine.spec.precision import CPU_WARNING
from engine.spec.tasks import JIT_NOTE, TASKS
from engine.store import RunStore

TITLES = {
    "pages/setup.py": "Set up runs",
    "pages/compare.py": "Watch & compare",
    "pages/run.py": "Run detail",
    "pages/study.py": "Study",
}
EMPTY = {"pages/study.py": "No studies yet"}


def _keys(at) -> set[str]:
    out = set()
    for kind in (
        "button",
        "selectbox",
        "multiselect",
        "number_input",
        "toggle",
        "text_input",
        "text_area",
        "radio",
        "slider",
        "button_group",
        "download_button",
    ):
        for e in getattr(at, kind):
            if e.key:
                out.add(e.key)
    return out


# ----------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_an_empty_store(store_path, page):
    at = open_app(page)
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == [TITLES[page]]
    if page != "pages/setup.py":
        assert EMPTY.get(page, "No runs yet") in all_text(at)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_runs_in_every_state(filled, page):
    at = open_app(page)
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == [TITLES[page]]


def test_sidebar_names_the_store_device_and_pool(filled, store_path):
    at = open_app()
    side = "\n".join(str(e.value) for e in [*at.sidebar.markdown, *at.sidebar.caption])
    texts = [c.value for c in at.sidebar.text]  # as written, in a fixed-width font
    assert str(store_path.resolve()) in texts
    assert "CPU only" in side and "GPU automatically" in side
    assert "no pool in this server" in side
    assert "last finished run trained on: **CPU**" in side
    metrics = {m.label: m.value for m in at.sidebar.metric}
    assert metrics == {"running": "1", "queued": "1"}


def test_navigation_lists_each_page_once():
    src = (ROOT / "app.py").read_text()
    assert src.count("st.navigation(") == 1
    for page in (*PAGES, *TEACHING_PAGES):
        assert src.count(f'"{page}"') == 1, page
    at = open_app()
    # AppTest does not expose the menu; the page list the app registered is the check.
    from app import PAGES as registered

    assert [p for p, *_ in registered] == [*PAGES, *TEACHING_PAGES]
    assert not at.exception


def _fresh_interpreter(script: str) -> dict:
    """Run ``script`` in a new Python (nothing imported yet, as on a cold server) and
    return the JSON it printed after ``RESULT``."""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    line = next((s for s in proc.stdout.splitlines() if s.startswith("RESULT")), None)
    assert line, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(line[len("RESULT") :])


def test_pages_render_without_importing_tensorflow(tmp_path):
    """A fresh interpreter (other tests may have loaded TF): render every page with and
    without runs, then the setup page with its schedule preview. The form and Launch
    come at once with a "preparing" box; the exact preview fills in from the TensorFlow
    service, and this process never imports TensorFlow or Keras."""
    script = textwrap.dedent(
        f"""
        import json, os, sys, time
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests" / "ui")!r}]
        os.environ["HPLAB_STORE"] = {str(tmp_path / "s.db")!r}
        os.environ["HPLAB_WORKERS"] = "0"
        from ui_helpers import all_text, open_app, run_until, PAGES, TEACHING_PAGES
        from ui_fake_runs import fill
        out = {{}}
        for page in PAGES:
            at = open_app(page)
            assert not at.exception, page
        fill(os.environ["HPLAB_STORE"])
        for page in PAGES:
            at = open_app(page)
            assert not at.exception, page
        out["tf_after_pages"] = "tensorflow" in sys.modules
        # With its preview off and the range test not run, the setup page asks nothing
        # of the TensorFlow service: no process was started for it.
        import multiprocessing
        out["children_before"] = [c.name for c in multiprocessing.active_children()]
        t0 = time.perf_counter()
        at = open_app(preview=True)
        out["first_render_seconds"] = time.perf_counter() - t0
        out["preparing"] = "Preparing the preview" in all_text(at)
        out["launch_enabled"] = not at.button(key="setup_launch").disabled
        out["charts_at_first"] = len(at.get("plotly_chart"))
        run_until(at, lambda a: len(a.get("plotly_chart")) >= 1, what="the preview")
        out["preview_seconds"] = time.perf_counter() - t0
        for page in TEACHING_PAGES:
            at = open_app(page)
            assert not at.exception, page
        tops = ("tensorflow", "keras")
        out["modules"] = sorted(m for m in sys.modules if m.split(".")[0] in tops)
        print("RESULT" + json.dumps(out))
        """
    )
    out = _fresh_interpreter(script)
    assert out["tf_after_pages"] is False and out["children_before"] == []
    assert out["preparing"] and out["launch_enabled"] and out["charts_at_first"] == 0
    assert out["modules"] == []
    print(
        f"setup page first render {out['first_render_seconds']:.1f} s; exact preview drawn "
        f"{out['preview_seconds']:.1f} s after the first load (TensorFlow starting beside it)"
    )


def test_cold_first_run_draws_launch_without_pandas(tmp_path):
    """A fresh interpreter, as a cold server is: the first run of Set up runs draws the
    form and a live Launch without importing pandas (the runs' table says it is being
    prepared); once the server's warm-up is in, the page draws the table."""
    script = textwrap.dedent(
        f"""
        import json, os, sys, threading
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests" / "ui")!r}]
        os.environ["HPLAB_STORE"] = {str(tmp_path / "s.db")!r}
        os.environ["HPLAB_WORKERS"] = "0"
        from ui import resources
        # The warm-up after the run is started by hand below, so that what the first
        # run itself imported can be read.
        resources._warming = threading.Thread(target=lambda: None)
        from ui_helpers import all_text, open_app, run_until
        out = {{"pandas_before": "pandas" in sys.modules}}
        at = open_app()
        out["pandas_after_first_run"] = "pandas" in sys.modules
        out["launch_enabled"] = not at.button(key="setup_launch").disabled
        out["tables_at_first"] = len(at.dataframe)
        out["preparing"] = "Preparing the table of the 1 planned run" in all_text(at)
        resources._warm_up()
        at = run_until(at, lambda a: len(a.dataframe) >= 1, what="the runs' table")
        out["columns"] = [list(d.value.columns) for d in at.dataframe]
        out["preparing_after"] = "Preparing the table" in all_text(at)
        print("RESULT" + json.dumps(out))
        """
    )
    out = _fresh_interpreter(script)
    assert out["pandas_before"] is False and out["pandas_after_first_run"] is False
    assert out["launch_enabled"] and out["tables_at_first"] == 0 and out["preparing"]
    assert any("Expected time" in cols for cols in out["columns"])
    assert not out["preparing_after"]


# ----------------------------------------------------------------------------- set up runs


def test_setup_page_has_every_knob(store_path):
    at = open_app()
    keys = _keys(at)
    for tab in [t.label for t in at.tabs][1:]:  # only the open tab's widgets are drawn
        keys |= _keys(open_tab(at, tab))
    open_tab(at, at.tabs[0].label)
    for k in (
        "cfg-task",
        "cfg-optimizer",
        "cfg-learning_rate",
        "cfg-schedule",
        "cfg-batch_size",
        "cfg-grad_accum_steps",
        "cfg-epochs",
        "cfg-clip",
        "cfg-clip-value",
        "cfg-precision",
        "cfg-loss",
        "cfg-metrics",
        "cfg-data-n_train",
        "cfg-data-noise",
        "cfg-data-learnable",
        "cfg-model-width",
        "cfg-model-dropout",
        "cfg-model-l2",
        "cfg-validation_split",
        "cfg-seed",
        "cfg-jit_compile",
        "cfg-run_eagerly",
        "cfg-cb-early_stopping",
        "cfg-cb-reduce_lr_on_plateau",
        "cfg-cb-checkpoint",
        "cfg-optimizer-adam-beta_1",
        "setup_mode",
        "setup_repeats",
        "setup_launch",
        "setup_export_json",
        "setup_export_script",
    ):
        assert k in keys, k
    # Help text teaches: it comes from the registry and carries the allowed range.
    lr = at.number_input(key="cfg-learning_rate")
    assert "Too high" in lr.help and "Allowed" in lr.help


def test_nested_params_follow_the_chosen_entry(store_path):
    at = open_app()
    at.selectbox(key="cfg-optimizer").set_value("sgd").run()
    keys = _keys(at)
    assert {"cfg-optimizer-sgd-momentum", "cfg-optimizer-sgd-nesterov"} <= keys
    assert "cfg-optimizer-adam-beta_1" not in keys
    at.selectbox(key="cfg-schedule").set_value("cosine_decay").run()
    keys = _keys(at)
    assert {"cfg-schedule-cosine_decay-decay_steps", "cfg-schedule-cosine_decay-alpha"} <= keys
    assert at.number_input(key="cfg-schedule-cosine_decay-decay_steps").value is None  # auto
    open_tab(at, "Callbacks")
    at.toggle(key="cfg-cb-early_stopping").set_value(True).run()
    assert "cfg-cb-early_stopping-patience" in _keys(at)
    assert not at.exception


def test_switching_task_loads_the_documents_defaults(store_path):
    at = open_app()
    at.selectbox(key="cfg-task").set_value("multiclass-10").run()
    assert at.selectbox(key="cfg-optimizer").value == "adamw"
    assert at.selectbox(key="cfg-schedule").value == "warmup_cosine"
    assert at.selectbox(key="cfg-clip").value == "global_clipnorm"
    assert at.number_input(key="cfg-epochs").value == 30
    open_tab(at, "Loss & metrics")
    assert at.toggle(key="cfg-loss-sparse_categorical_crossentropy-from_logits").value is True
    # The document's mixed_float16 on this CPU: the warning says so, next to the field.
    open_tab(at, "Precision & compile")
    assert any(CPU_WARNING in w.value for w in at.warning)


def test_launching_one_run_queues_it_and_opens_the_comparison(store_path):
    at = open_app()
    at.number_input(key="cfg-epochs").set_value(3).run()
    at.button(key="setup_launch").click().run()
    assert not at.exception
    runs = RunStore(store_path).list_runs()
    assert [r["status"] for r in runs] == ["queued"]
    assert runs[0]["config"] == validate({"task": "regression", "epochs": 3})
    assert [t.value for t in at.title] == ["Watch & compare"]
    assert at.session_state["compare_ids"] == [runs[0]["id"]]
    assert (
        at.query_params["sweep"] == [runs[0]["sweep_id"]]
        or at.query_params["sweep"] == runs[0]["sweep_id"]
    )


def test_compare_one_knob_makes_one_run_per_value_all_else_equal(store_path):
    at = open_app()
    at.button_group(key="setup_mode").set_value("Compare one knob").run()
    at.selectbox(key="setup_knob").set_value("learning_rate").run()
    at.multiselect(key="setup_values_learning_rate").set_value(["0.0001", "0.01", "3e-3"]).run()
    launch = at.button(key="setup_launch")
    assert launch.label == "Launch 3 runs" and not launch.disabled
    launch.click().run()
    runs = RunStore(store_path).list_runs()
    assert sorted(r["config"]["learning_rate"] for r in runs) == [1e-4, 3e-3, 1e-2]
    assert len({r["sweep_id"] for r in runs}) == 1
    rest = {
        json.dumps({k: v for k, v in r["config"].items() if k != "learning_rate"}, sort_keys=True)
        for r in runs
    }
    assert len(rest) == 1  # same seed, same everything else
    assert all("knob:learning_rate" in r["tags"] for r in runs)


def test_compare_optimizers_with_seed_repeats(store_path):
    at = open_app()
    at.button_group(key="setup_mode").set_value("Compare one knob").run()
    at.multiselect(key="setup_values_optimizer").set_value(["adam", "sgd · momentum 0.9"]).run()
    at.number_input(key="setup_repeats").set_value(2).run()
    at.button(key="setup_launch").click().run()
    runs = RunStore(store_path).list_runs()
    got = sorted(
        (
            r["config"]["optimizer"]["name"],
            r["config"]["optimizer"].get("momentum"),
            r["config"]["seed"],
        )
        for r in runs
    )
    assert got == [("adam", None, 42), ("adam", None, 43), ("sgd", 0.9, 42), ("sgd", 0.9, 43)]
    assert all("seeds" in r["tags"] for r in runs)


def test_preset_replays_the_documents_comparison(store_path):
    at = open_app()
    at.button_group(key="setup_mode").set_value("Replay a documented comparison").run()
    at.radio(key="setup_preset").set_value("clipping-modes").run()
    assert any("dotted line" in i.value for i in at.info)  # what to look for
    at.button(key="setup_launch").click().run()
    runs = RunStore(store_path).list_runs()
    assert [r["config"]["clipping"] for r in runs] == [
        {"clipvalue": 0.5},
        {"clipnorm": 1.0},
        {"global_clipnorm": 1.0},
    ]
    assert all(r["config"]["model"]["width"] == 2.0 for r in runs)
    assert at.session_state["compare_tabs"] == "Gradients"
    assert chart_titles(at)[0] == "Global gradient norm per update (before clipping)"


def test_a_bad_field_is_named_under_it_and_blocks_launch(store_path):
    at = open_app()
    open_tab(at, "Data & model")
    at.number_input(key="cfg-data-n_train").set_value(50).run()
    open_tab(at, "Optimizer & schedule")
    at.number_input(key="cfg-batch_size").set_value(64).run()
    errors = [e.value for e in at.error]
    assert any("batch_size" in e and "must be ≤ the 40 training examples" in e for e in errors)
    assert at.button(key="setup_launch").disabled
    assert RunStore(store_path).list_runs() == []


def test_from_logits_mismatch_shows_the_validators_message(store_path):
    at = open_app()
    at.selectbox(key="cfg-task").set_value("multiclass-10").run()
    open_tab(at, "Loss & metrics")
    at.toggle(key="cfg-loss-sparse_categorical_crossentropy-from_logits").set_value(False).run()
    assert any("from_logits" in e.value and "must be true" in e.value for e in at.error)
    assert at.button(key="setup_launch").disabled


def test_traps_are_warned_about(store_path):
    at = open_app()
    at.number_input(key="cfg-learning_rate").set_value(0.5).run()
    assert any("× the top of Adam's usual range" in w.value for w in at.warning)
    open_tab(at, "Precision & compile")
    at.toggle(key="cfg-jit_compile").set_value(True).run()
    assert any(JIT_NOTE in w.value for w in at.warning)
    at.selectbox(key="cfg-precision").set_value("mixed_float16").run()
    assert any(CPU_WARNING in w.value for w in at.warning)
    assert not at.button(key="setup_launch").disabled  # warnings inform, they do not block


def test_importing_a_config_fills_the_form(store_path):
    at = open_app()
    cfg = {
        "task": "binary-20",
        "optimizer": {"name": "adamw", "weight_decay": 0.01},
        "learning_rate": 0.002,
        "epochs": 7,
    }
    at.text_area(key="setup_import_text").set_value(json.dumps(cfg)).run()
    at.button(key="setup_import_paste").click().run()
    assert not at.exception
    assert at.selectbox(key="cfg-task").value == "binary-20"
    assert at.selectbox(key="cfg-optimizer").value == "adamw"
    assert at.number_input(key="cfg-optimizer-adamw-weight_decay").value == 0.01
    assert at.number_input(key="cfg-learning_rate").value == 0.002
    assert at.number_input(key="cfg-epochs").value == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON"),
        (
            '{"task": "regression", "optimizer": {"name": "sgd", "momentum": 1.5}}',
            "optimizer.momentum",
        ),
        ('{"task": "regression", "epochz": 3}', "epochz"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_a_bad_import_is_reported_by_field_and_changes_nothing(store_path, text, expected):
    at = open_app()
    at.text_area(key="setup_import_text").set_value(text).run()
    at.button(key="setup_import_paste").click().run()
    assert not at.exception
    assert any(expected in e.value for e in at.error), [e.value for e in at.error]
    assert at.selectbox(key="cfg-task").value == "regression"


# ----------------------------------------------------------------------------- compare


def test_compare_opens_on_the_launch_in_the_url(filled):
    at = open_app("pages/compare.py", compare_ids=[filled["failed"]])
    at.query_params["sweep"] = "sw-fake00001"
    at.run()
    assert at.session_state["compare_ids"] == [filled["adam"], filled["sgd"]]
    keys = _keys(at)
    assert {
        "compare_x",
        "compare_smooth",
        "compare_log",
        "compare_export_csv",
        f"compare_cancel_{filled['sgd']}",
        "compare_cancel_all",
    } <= keys
    assert f"compare_cancel_{filled['adam']}" not in keys  # finished runs have nothing to cancel
    # Only the open tab is drawn (live redraws stay cheap); parallel coordinates (WebGL,
    # seconds without a GPU) only once their section is opened.
    assert chart_titles(at) == ["Loss"]
    at.session_state["compare_pc_open"] = True
    at.run()
    assert chart_titles(at) == ["Loss", None]


def test_the_address_follows_the_selection(filled):
    """A link shows what the page shows: one whole launch by its sweep, else the runs."""
    at = open_app("pages/compare.py")
    at.query_params["sweep"] = "sw-fake00001"
    at.query_params["tab"] = "Gradients"
    at.run()
    assert at.session_state["compare_tabs"] == "Gradients"

    def address():
        return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}

    # The chart tab stays beside the selection: a copied link opens the same chart.
    assert address() == {"sweep": "sw-fake00001", "tab": "Gradients"}
    at.button(key="compare_pick_none").click().run()
    assert address() == {"tab": "Gradients"}
    at.session_state["compare_ids"] = [filled["adam"], filled["failed"]]
    at.session_state["compare_tabs"] = "Loss"
    at.run()
    assert address() == {"runs": f"{filled['adam']},{filled['failed']}"}


@pytest.mark.parametrize(
    ("tab", "titles"),
    [
        ("Metrics", ["mae"]),
        ("Learning rate", ["Learning rate applied at each update"]),
        (
            "Gradients",
            ["Global gradient norm per update (before clipping)", "Training loss per update"],
        ),
        ("Speed", ["Seconds per epoch", "Training throughput"]),
    ],
)
def test_each_chart_tab_draws_its_charts(filled, tab, titles):
    at = open_app("pages/compare.py", compare_ids=[filled["adam"], filled["sgd"]], compare_tabs=tab)
    assert not at.exception
    assert chart_titles(at)[: len(titles)] == titles


def test_cancel_one_run_and_the_whole_comparison(filled, store_path):
    store = RunStore(store_path)
    at = open_app("pages/compare.py", compare_ids=[filled["sgd"], filled["queued"]])
    at.button(key=f"compare_cancel_{filled['sgd']}").click().run()
    assert store.get_run(filled["sgd"])["cancel_requested"] is True
    assert store.get_run(filled["queued"])["status"] == "queued"
    at.button(key="compare_cancel_all").click().run()
    assert store.get_run(filled["queued"])["status"] == "cancelled"


def test_delete_asks_first(filled, store_path):
    store = RunStore(store_path)
    at = open_app("pages/compare.py", compare_ids=[filled["failed"]])
    at.button(key="compare_delete").click().run()
    assert store.get_run(filled["failed"])  # not yet
    assert any("for good" in w.value for w in at.warning)
    at.button(key="compare_delete_confirm").click().run()
    with pytest.raises(KeyError):
        store.get_run(filled["failed"])
    assert not at.exception


def test_diff_lists_only_differing_settings(filled):
    at = open_app("pages/compare.py", compare_ids=[filled["adam"], filled["sgd"]])
    diff = next(d.value for d in at.dataframe if d.value.index.name == "setting")
    assert "optimizer.name" in diff.index and "learning_rate" in diff.index
    assert "batch_size" not in diff.index and "task" not in diff.index


def test_seed_repeats_are_summarised(filled):
    at = open_app("pages/compare.py", compare_ids=[filled["seed1"], filled["seed2"]])
    assert any("over 2 seeds" in m.value for m in at.markdown)
    assert at.toggle(key="compare_group").value is True


def test_tagging_selected_runs(filled, store_path):
    at = open_app("pages/compare.py", compare_ids=[filled["adam"], filled["sgd"]])
    at.text_input(key="compare_new_tag").set_value("baseline").run()
    at.button(key="compare_add_tag").click().run()
    store = RunStore(store_path)
    assert "baseline" in store.get_run(filled["adam"])["tags"]
    assert "baseline" in store.get_run(filled["sgd"])["tags"]


# ----------------------------------------------------------------------------- run detail


def test_run_detail_shows_a_failed_runs_error(filled):
    at = open_app("pages/run.py", detail_run=filled["failed"])
    assert any("something broke" in e.value for e in at.error)
    assert any("Traceback" in c.value for c in at.code)


def test_run_detail_shows_results_and_exports(filled):
    """Each tab draws its own part, and only the open tab is drawn."""
    at = open_app("pages/run.py", detail_run=filled["adam"])
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test loss"] == "0.31"
    assert len(at.get("plotly_chart")) >= 4  # loss, metric, LR and gradient norm
    assert not {"detail_export_json", "detail_name"} & _keys(at)
    wanted = {
        "Predictions": (set(), 1),
        "Config & export": ({"detail_export_json", "detail_export_script"}, 0),
        "Name, tags, notes": ({"detail_name", "detail_tags", "detail_notes", "detail_delete"}, 0),
    }
    for tab, (keys, charts) in wanted.items():
        at = open_app("pages/run.py", detail_run=filled["adam"], detail_tabs=tab)
        assert not at.exception, tab
        assert keys <= _keys(at), tab
        assert len(at.get("plotly_chart")) >= charts, tab
        assert "detail_chart_loss" not in _keys(at), tab


def test_run_detail_edits_name_tags_notes(filled, store_path):
    tab = "Name, tags, notes"
    at = open_app("pages/run.py", detail_run=filled["adam"], detail_tabs=tab)
    at.text_input(key="detail_name").set_value("Adam baseline").run()
    at.button(key="detail_save_name").click().run()
    at.multiselect(key="detail_tags").set_value(["baseline", "adam"]).run()
    at.button(key="detail_save_tags").click().run()
    at.text_area(key="detail_notes").set_value("converges by epoch 3").run()
    at.button(key="detail_save_notes").click().run()
    run = RunStore(store_path).get_run(filled["adam"])
    assert (run["name"], run["tags"], run["notes"]) == (
        "Adam baseline",
        ["baseline", "adam"],
        "converges by epoch 3",
    )


def test_run_detail_delete_confirms(filled, store_path):
    at = open_app("pages/run.py", detail_run=filled["cancelled"], detail_tabs="Name, tags, notes")
    at.button(key="detail_delete").click().run()
    at.button(key="detail_delete_confirm").click().run()
    assert filled["cancelled"] not in {r["id"] for r in RunStore(store_path).list_runs()}
    assert not at.exception


def test_edit_in_setup_loads_the_runs_config(filled):
    at = open_app("pages/run.py", detail_run=filled["sgd"])
    at.button(key="detail_edit").click().run()
    assert [t.value for t in at.title] == ["Set up runs"]
    assert at.selectbox(key="cfg-optimizer").value == "sgd"
    assert at.number_input(key="cfg-learning_rate").value == 0.01


# ----------------------------------------------------------------------------- real runs


@pytest.mark.slow
def test_pages_draw_really_trained_runs(store_path):
    from ui_fake_runs import real_runs

    ids = real_runs(store_path)
    for tab in ("Loss", "Gradients"):
        at = open_app("pages/compare.py", compare_ids=ids, compare_tabs=tab, compare_pc_open=True)
        assert not at.exception
        assert len(chart_titles(at)) >= 2  # the tab's chart(s), and parallel coordinates
    at = open_app("pages/run.py", detail_run=ids[0])
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Test loss"] != "—"


def test_schedule_preview_draws_each_distinct_schedule(store_path):
    """The preview builds the real schedule objects: a cosine decays to 0, a constant
    stays put, and runs that share a schedule share one line."""
    at = open_app(preview=True)
    at.button_group(key="setup_mode").set_value("Compare one knob").run()
    at.selectbox(key="setup_knob").set_value("schedule").run()
    at.multiselect(key="setup_values_schedule").set_value(
        ["constant (no schedule)", "cosine_decay"]
    ).run()
    at.number_input(key="setup_repeats").set_value(2).run()
    run_until(at, lambda a: len(a.get("plotly_chart")) >= 1, what="the preview")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    lines = {t["name"]: t["y"] for t in spec["data"]}
    assert set(lines) == {"constant (no schedule)", "cosine_decay"}  # 4 runs, 2 schedules
    assert lines["constant (no schedule)"][0] == lines["constant (no schedule)"][-1]
    cos = lines["cosine_decay"]
    assert cos[0] == pytest.approx(1e-3, rel=1e-3) and cos[-1] < 1e-5
    assert len(cos) == 10 * 25  # 10 epochs × 25 updates, one point per update
    at.button_group(key="setup_preview_x").set_value("epoch").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["x"][-1] == pytest.approx(10.0)


@pytest.mark.parametrize("task_id", list(TASKS))
def test_every_task_renders_its_form_and_can_launch(store_path, task_id):
    at = open_app()
    at.selectbox(key="cfg-task").set_value(task_id).run()
    assert not at.exception
    assert not at.button(key="setup_launch").disabled
    assert (
        at.selectbox(key="cfg-optimizer").value == validate({"task": task_id})["optimizer"]["name"]
    )


def test_a_foreign_store_file_is_reported_not_crashed(tmp_path, monkeypatch):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a database, just text that is long enough to have a header" * 4)
    monkeypatch.setenv("HPLAB_STORE", str(bad))
    monkeypatch.setenv("HPLAB_WORKERS", "0")
    at = open_app()
    assert not at.exception
    assert any("run store cannot be used" in e.value for e in at.error)


def test_uploading_a_config_file_fills_the_form(store_path):
    at = open_app()
    cfg = {"task": "sequence", "clipping": None, "epochs": 3}
    at.file_uploader(key="setup_import_file_0").upload(
        "lstm.json", json.dumps(cfg).encode(), "application/json"
    ).run()
    assert not at.exception
    assert at.selectbox(key="cfg-task").value == "sequence"
    assert at.selectbox(key="cfg-clip").value == "none"
    assert at.number_input(key="cfg-epochs").value == 3


def test_uploading_a_bad_config_file_names_the_field(store_path):
    at = open_app()
    at.file_uploader(key="setup_import_file_0").upload(
        "bad.json", b'{"task": "binary-20", "batch_size": 0}', "application/json"
    ).run()
    assert any("batch_size" in e.value and "must be in" in e.value for e in at.error)
    assert at.selectbox(key="cfg-task").value == "regression"  # nothing half-loaded
