"""Guided demos: the catalog is launchable as written, and the page launches, follows
and explains a demo's runs (headless, no workers: launched runs stay queued)."""

from __future__ import annotations

import pytest
from lesson_files import lessons_with
from ui_fake_runs import _epochs, _finish, _info
from ui_helpers import all_text, open_app

from engine.config import shape_of
from engine.diagnosis import LABELS, SUMMARY
from engine.spec.precision import CPU_WARNING
from engine.store import RunStore
from ui import demos
from ui.literal import md
from ui.presets import PRESETS

PAGE = "pages/demos.py"

# The documents' comparisons the demos must cover, by the catalog's id.
REQUIRED = {
    "sgd-momentum-nesterov",
    "adam-vs-adamw",
    "rmsprop-vs-adagrad",
    "clipping-modes",
    "lstm-clipping",
    "learning-rate",
    "memorise-random-labels",
    "early-stopping",
    "grad-accumulation",
    "mixed-precision",
}


# ----------------------------------------------------------------------------- the catalog


def test_the_catalog_holds_every_documented_comparison():
    assert set(demos.DEMOS) >= REQUIRED


@pytest.mark.parametrize("demo_id", list(demos.DEMOS))
def test_every_demo_validates_small_and_says_what_each_run_should_get(demo_id):
    d = demos.DEMOS[demo_id]
    configs, problems = demos.validated(d)
    assert not problems and len(configs) == len(d.runs) >= 1
    assert len({r.name for r in d.runs}) == len(d.runs)  # names match verdicts to runs
    assert len({c["task"] for c in configs}) == 1 and len({c["seed"] for c in configs}) == 1
    sentences = [s for s in d.look_for.replace("!", ".").split(". ") if s.strip()]
    assert 2 <= len(sentences) <= 4, d.look_for
    for run in d.runs:
        assert run.expect and set(run.expect) <= set(LABELS) - {"too_early"}
    # Seconds to a minute on a 2-core CPU: few examples and few updates per run.
    for c in configs:
        shape = shape_of(c)
        assert shape.total_updates <= 1000 and shape.n_train <= 2000, (c["task"], shape)
    assert d.tag == f"demo:{demo_id}"


def test_demos_reuse_the_presets_rather_than_copy_them():
    for pid, p in PRESETS.items():
        if pid in demos.DEMOS:
            assert [r.config for r in demos.DEMOS[pid].runs] == list(p.configs)
            assert demos.DEMOS[pid].look_for == p.look_for


def test_the_mixed_precision_demo_carries_the_cpu_caveat():
    d = demos.DEMOS["mixed-precision"]
    configs, _ = demos.validated(d)
    assert {c["precision"] for c in configs} == {"float32", "mixed_float16", "mixed_bfloat16"}
    assert d.caveat == CPU_WARNING and d.tab == "Speed"


def test_demo_runs_follow_the_latest_launch_and_verdicts_compare_labels():
    tag = demos.demo_tag("learning-rate")
    runs = [
        {"id": "a", "name": "lr 0.2", "tags": [tag], "sweep_id": "s1", "created": 1},
        {"id": "b", "name": "lr 0.2", "tags": [tag], "sweep_id": "s2", "created": 5},
        {"id": "c", "name": "lr 1.0", "tags": [tag], "sweep_id": "s2", "created": 6},
        {"id": "d", "name": "other", "tags": ["demo:x"], "sweep_id": "s3", "created": 9},
    ]
    latest = demos.demo_runs(runs, "learning-rate")
    assert [r["id"] for r in latest] == ["b", "c"]
    latest[0].update(status="completed", diagnosis={"label": "diverged", "summary": "s"})
    latest[1].update(status="running", diagnosis={"label": "too_early"})
    v = demos.verdicts(demos.DEMOS["learning-rate"], latest)
    assert v[0].as_expected is True  # too high may diverge
    assert v[1].as_expected is None  # not judged yet
    assert demos.demo_runs(runs, "early-stopping") == []
    assert demos.expect_text(("lr_too_high", "diverged")) == "LR too high or diverged"


# ----------------------------------------------------------------------------- the page


def test_page_renders_every_demo_on_an_empty_store(store_path):
    at = open_app(PAGE)
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == ["Guided demos"]
    for demo_id, d in demos.DEMOS.items():
        at.radio(key="demos_pick").set_value(demo_id).run()
        assert not at.exception, (demo_id, [e.message for e in at.exception])
        assert [s.value for s in at.subheader] == [md(d.title)]
        # a question's lesson keeps what to look for (the answer) until the reveal
        shown = "Predict first" if d.question else d.look_for
        assert any(shown in i.value for i in at.info)
        assert d.question is None or not any(d.look_for in i.value for i in at.info)
        assert "Not launched yet" in all_text(at)
        assert not at.button(key=f"demos_launch_{demo_id}").disabled


def _no_question(tmp_path, monkeypatch, demo_id: str) -> None:
    """The lesson without its predict-then-reveal question: these tests read the verdict
    panel a lesson shows at once (a question hides it until Reveal: test_ui_reveal.py)."""
    lessons_with(tmp_path, monkeypatch, demo_id, question=None)


def test_launch_queues_the_demos_runs_with_its_tag(store_path, tmp_path, monkeypatch):
    _no_question(tmp_path, monkeypatch, "learning-rate")
    at = open_app(PAGE)
    at.radio(key="demos_pick").set_value("learning-rate").run()
    at.button(key="demos_launch_learning-rate").click().run()
    assert not at.exception
    d = demos.DEMOS["learning-rate"]
    runs = RunStore(store_path).list_runs(tag="demo:learning-rate")
    configs, _ = demos.validated(d)
    assert [r["name"] for r in runs] == [r.name for r in d.runs]
    assert [r["config"] for r in runs] == configs
    assert {r["status"] for r in runs} == {"queued"}
    assert len({r["sweep_id"] for r in runs}) == 1
    text = all_text(at)
    assert f"0/{len(d.runs)} finished" in text
    assert "not judged yet] · the lesson predicts LR too high or diverged" in text
    # A second launch is a new sweep; the page follows the newest.
    at.button(key="demos_launch_learning-rate").click().run()
    runs = RunStore(store_path).list_runs(tag="demo:learning-rate")
    assert len(runs) == 2 * len(d.runs) and len({r["sweep_id"] for r in runs}) == 2
    assert f"0/{len(d.runs)} finished" in all_text(at)


def _finished_demo(path, demo_id: str, labels: list[str]) -> list[str]:
    """The demo's runs written into the store as finished, each with a stored diagnosis."""
    store = RunStore(path)
    d = demos.DEMOS[demo_id]
    configs, _ = demos.validated(d)
    ids = store.create_runs(
        configs, names=[r.name for r in d.runs], sweep_id="sw-demo00001", tags=[d.tag]
    )
    for rid, cfg, label in zip(ids, configs, labels, strict=True):
        store.claim(rid, "w-test")
        store.record_start(rid, _info(cfg))
        _epochs(store, rid, cfg, 3, metric="mae")
        _finish(store, rid, "diverged" if label == "diverged" else "completed", cfg)
        store.set_diagnosis(rid, {"label": label, "labels": [label], "summary": SUMMARY[label]})
    return ids


def test_finished_demo_shows_each_runs_label_next_to_the_expected_one(
    store_path, tmp_path, monkeypatch
):
    _no_question(tmp_path, monkeypatch, "learning-rate")
    labels = ["lr_too_low", "healthy", "lr_too_high", "diverged"]
    _finished_demo(store_path, "learning-rate", labels)
    at = open_app(PAGE, demos_pick="learning-rate")
    assert not at.exception
    md = "\n".join(m.value for m in at.markdown)
    for shown in ("LR too low", "healthy", "LR too high", "diverged"):
        assert f"{shown}]" in md  # the diagnosis badge
    assert md.count(":material/check: as the lesson predicts") == 4
    assert ":material/close:" not in md
    captions = [c.value for c in at.caption]
    assert SUMMARY["lr_too_high"] in captions and SUMMARY["diverged"] in captions
    assert any(
        "All 4 diagnosed runs came out as the lesson predicts" in s.value for s in at.success
    )
    assert "4/4 finished" in all_text(at)


def test_a_run_diagnosed_otherwise_is_flagged(store_path, tmp_path, monkeypatch):
    _no_question(tmp_path, monkeypatch, "early-stopping")
    _finished_demo(store_path, "early-stopping", ["overfitting", "overfitting"])
    at = open_app(PAGE, demos_pick="early-stopping")
    md = "\n".join(m.value for m in at.markdown)
    assert md.count(":material/check: as the lesson predicts") == 1
    assert md.count(":material/close: the lesson predicts healthy") == 1
    assert any("1 of 2 runs came out as the lesson predicts" in w.value for w in at.warning)


def test_open_in_compare_links_to_the_launch_on_the_lessons_tab(store_path):
    """A link (it works from the live fragment; the browser test clicks it) whose
    address selects the launch and opens the chart the lesson is about."""
    from urllib.parse import parse_qs

    ids = _finished_demo(store_path, "clipping-modes", ["healthy"] * 3)
    at = open_app(PAGE, demos_pick="clipping-modes")
    (link,) = [x for x in at.get("page_link") if x.value == "Open in Watch & compare"]
    query = {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}
    assert link.proto.page.endswith("compare") or "compare" in link.proto.page
    assert query == {"sweep": "sw-demo00001", "tab": "Gradients"}
    at.switch_page("pages/compare.py")
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Watch & compare"]
    assert at.session_state["compare_ids"] == ids
    assert at.session_state["compare_tabs"] == "Gradients"


def test_edit_in_setup_loads_the_chosen_run(store_path):
    at = open_app(PAGE, demos_pick="learning-rate")
    at.selectbox(key="demos_edit_run_learning-rate").set_value("lr 0.2").run()
    at.button(key="demos_edit_learning-rate").click().run()
    assert [t.value for t in at.title] == ["Set up runs"]
    assert at.selectbox(key="cfg-task").value == "regression-5"
    assert at.selectbox(key="cfg-optimizer").value == "sgd"
    assert at.number_input(key="cfg-learning_rate").value == 0.2


def test_a_demo_link_opens_that_demo_with_its_caveat(store_path):
    from streamlit.testing.v1 import AppTest
    from ui_helpers import APP

    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page(PAGE)
    at.query_params["demo"] = "mixed-precision"
    at.run()
    assert at.radio(key="demos_pick").value == "mixed-precision"
    assert any(CPU_WARNING in w.value for w in at.warning)
