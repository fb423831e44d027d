"""Moving between pages (``ui.navigation``): addresses, selections, and the structure
that keeps every page a short script with one home for what it links to."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ui import navigation
from ui.run_config_view import run_facts
from ui.seed_stats import result_key, seed_stats

ROOT = Path(__file__).resolve().parents[2]


class Params(dict):
    """``st.query_params`` as the functions use it: get, [] and from_dict."""

    def from_dict(self, d: dict) -> None:
        self.clear()
        self.update(d)


def _runs() -> list[dict]:
    return [
        {"id": "a", "sweep_id": "sw-1", "name": "lr 0.01 · seed 42"},
        {"id": "b", "sweep_id": "sw-1", "name": "lr 0.01 · seed 43"},
        {"id": "c", "sweep_id": None, "name": "alone"},
        {"id": "d", "sweep_id": "sw-2", "name": "x"},
        {"id": "e", "sweep_id": "sw-2", "name": "y"},
    ]


def test_the_compare_address_names_a_whole_launch_by_its_sweep_else_its_runs():
    assert navigation.compare_query(sweep="sw-1") == {"sweep": "sw-1"}
    assert navigation.compare_query(runs=["a", "c"]) == {"runs": "a,c"}
    assert navigation.compare_query(sweep="sw-1", tab="Gradients") == {
        "sweep": "sw-1",
        "tab": "Gradients",
    }
    assert navigation.compare_query() == {}


def test_a_link_wins_once_then_the_person_and_the_address_follows():
    state: dict = {}
    params = Params(sweep="sw-1", tab="Gradients")
    assert navigation.compare_selection(state, _runs(), params) == ["a", "b"]
    navigation.compare_view(state, params)  # the charts' own options, beside the selection
    assert state["compare_tabs"] == "Gradients"
    assert params == {"sweep": "sw-1", "tab": "Gradients"}  # the tab stays: a link keeps it
    state["compare_tabs"] = "Loss"  # the person opens another tab: the address follows
    navigation.compare_view(state, params)
    assert params == {"sweep": "sw-1"}
    # the person ticks one more run: the address names the runs, the link is not re-applied
    state["compare_ids"] = ["a", "b", "c"]
    assert navigation.compare_selection(state, _runs(), params) == ["a", "b", "c"]
    assert params == {"runs": "a,b,c"}
    # part of a sweep is runs, not the sweep
    state["compare_ids"] = ["d"]
    navigation.compare_selection(state, _runs(), params)
    assert params == {"runs": "d"}


def test_without_an_address_the_latest_launch_is_shown_and_unknown_ids_drop():
    state: dict = {}
    assert navigation.compare_selection(state, _runs(), Params()) == ["d", "e"]
    state2: dict = {}
    assert navigation.compare_selection(state2, _runs(), Params(runs="zz,c,a")) == ["c", "a"]
    v = state2["compare_sel_version"]
    navigation.select(state2, ["a", "a", "b"])
    assert state2["compare_ids"] == ["a", "b"] and state2["compare_sel_version"] == v + 1


def test_run_detail_opens_the_linked_run_once_else_the_comparisons_first():
    state: dict = {"compare_ids": ["b", "c"]}
    navigation.run_selection(state, _runs(), Params())
    assert state["detail_run"] == "b"
    navigation.run_selection(state, _runs(), Params(run="d"))
    assert state["detail_run"] == "d"
    state["detail_run"] = "a"  # the person picks another: the same link does not win again
    navigation.run_selection(state, _runs(), Params(run="d"))
    assert state["detail_run"] == "a"
    empty: dict = {}
    navigation.run_selection(empty, _runs(), Params(run="nope"))
    assert empty["detail_run"] == "e"  # the newest


def test_a_demo_link_picks_its_lesson_once():
    state: dict = {}
    navigation.demo_selection(state, ["one", "two"], Params(demo="two"))
    assert state["demos_pick"] == "two"
    state["demos_pick"] = "one"
    params = Params(demo="two", present="1")
    assert navigation.demo_selection(state, ["one", "two"], params) is None
    assert state["demos_pick"] == "one"
    # the address follows the pick (a reload or a copied link opens the same lesson)
    assert params == {"demo": "one", "present": "1"}
    navigation.demo_selection(state, ["one", "two"], params)
    assert state["demos_pick"] == "one"
    fresh: dict = {}
    params = Params(demo="nope")
    assert navigation.demo_selection(fresh, ["one", "two"], params) == "nope"
    assert fresh["demos_pick"] == "one" and params == {"demo": "one"}


def test_a_callbacks_destination_waits_for_the_next_run():
    state: dict = {}
    navigation.launched(state, ["a", "b"], "sw-1", "Gradients")
    assert state["compare_ids"] == ["a", "b"] and state["compare_tabs"] == "Gradients"
    assert state["nav_next"] == {"page": navigation.COMPARE, "query": {"sweep": "sw-1"}}


def test_seed_statistics_are_mean_and_sample_sd_of_groups_with_two_results():
    runs = {
        "a": {"name": "lr 0.01 · seed 42", "best": {"val_loss": 1.0}},
        "b": {"name": "lr 0.01 · seed 43", "best": {"val_loss": 3.0}},
        "c": {"name": "lr 0.1 · seed 42", "best": {"val_loss": float("nan")}},
        "d": {"name": "lr 0.1 · seed 43", "best": {"val_loss": 2.0}},
    }
    key = result_key(list(runs.values()))
    assert key == "val_loss"
    [s] = seed_stats({"g1": ["a", "b"], "g2": ["c", "d"]}, runs, key)
    assert (s.name, s.mean, s.n) == ("lr 0.01", 2.0, 2)
    assert abs(s.sd - 2**0.5) < 1e-12


def test_run_facts_say_what_ran_where():
    run = {
        "status": "completed",
        "config": {"epochs": 5},
        "info": {"device": "CPU", "params": 12345},
        "epochs_done": 5,
        "result": {"plateau_cuts": [40]},
    }
    facts = run_facts(run)
    assert facts["parameters"] == "12,345" and facts["epochs run"] == "5 of 5"
    assert facts["worker"] == "—" and "learning rate cut by reduce-LR-on-plateau" in facts


# ----------------------------------------------------------------------------- structure


def test_every_page_is_a_short_script():
    """Issue 13: logic lives in ui/, pages read top to bottom (≤ 300 lines)."""
    long = {
        p.name: n
        for p in (ROOT / "pages").glob("*.py")
        if (n := len(p.read_text().splitlines())) > 300
    }
    assert not long


def _sources():
    for folder in ("pages", "ui", "engine"):
        for p in (ROOT / folder).rglob("*.py"):
            yield p.relative_to(ROOT).as_posix(), p.read_text()


def test_sweep_ids_are_made_in_one_place():
    makers = [path for path, text in _sources() if re.search(r"[\"']sw-[\"']", text)]
    assert makers == ["engine/sweep.py"]


def test_pages_switch_and_link_only_through_navigation():
    """Addresses and the session keys they set have one home: ui/navigation.py."""
    calls = {"switch_page", "page_link", "query_params"}
    offenders = []
    for path, text in _sources():
        if path == "ui/navigation.py" or not path.startswith(("pages/", "ui/")):
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute) and node.attr in calls:
                offenders.append(f"{path}:{node.lineno} {node.attr}")
    assert not offenders
