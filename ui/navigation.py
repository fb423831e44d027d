"""Moving between pages: the one home of the addresses and the session keys they set.

Every page opens by its address — ``/compare?sweep=…`` (one whole launch), ``?runs=a,b``,
``&tab=Gradients``, ``/run?run=…``, ``/study?study=…``, ``/demos?demo=…`` — so a link
shows what the page will show, a reload keeps it and a link can be shared. The address
wins once (a new link, a launch), then the person's own choices do, and the compare
page's address follows what it shows.

A button's callback cannot switch pages (Streamlit only allows it from the script), so
callbacks leave their destination with ``go_next`` and the page's next run follows it
from its top (``follow``), after the callback has set the state the destination reads
(the form's fields, the comparison's chart tab).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import streamlit as st

from ui import form
from ui.launch import MODES

COMPARE = "pages/compare.py"
SETUP = "pages/setup.py"
RUN = "pages/run.py"
STUDY = "pages/study.py"
COMPARE_TABS = ("Loss", "Metrics", "Learning rate", "Gradients", "Speed")

_NEXT = "nav_next"  # a destination a callback left for the page's next run


def compare_query(
    *, sweep: str | None = None, runs: Sequence[str] = (), tab: str | None = None
) -> dict[str, str]:
    """The compare page's address for one launch (``sweep``) or some runs."""
    out = {"sweep": sweep} if sweep else {"runs": ",".join(runs)} if runs else {}
    return {**out, "tab": tab} if tab else out


# ----------------------------------------------------------------------------- links


def link_compare(
    label: str,
    *,
    sweep: str | None = None,
    runs: Sequence[str] = (),
    tab: str | None = None,
    where: Any = st,
    **kw: Any,
) -> None:
    """A link to Watch & compare showing one launch or some runs (a link, not a button:
    it works from inside a fragment and the address bar says where it went)."""
    where.page_link(
        COMPARE,
        label=label,
        query_params=with_present(compare_query(sweep=sweep, runs=runs, tab=tab)),
        **kw,
    )


def link_run(run_id: str, label: str = "Details", *, where: Any = st, **kw: Any) -> None:
    """A link to one run's detail page."""
    where.page_link(RUN, label=label, query_params=with_present({"run": run_id}), **kw)


def link_study(study_id: str, label: str = "Study", *, where: Any = st, **kw: Any) -> None:
    """A link to one search study's view."""
    where.page_link(STUDY, label=label, query_params=with_present({"study": study_id}), **kw)


def link_setup(label: str = "Set up runs", *, where: Any = st) -> None:
    where.page_link(SETUP, label=label, icon=":material/tune:", query_params=with_present({}))


def open_compare(*, sweep: str | None = None, runs: Sequence[str] = ()) -> None:
    """Switch to Watch & compare now (from the script, e.g. after a click it handled)."""
    st.switch_page(
        COMPARE, query_params=with_present(compare_query(sweep=sweep, runs=runs)) or None
    )


# ----------------------------------------------------------------------------- from callbacks


def go_next(state: MutableMapping, page: str, query: Mapping[str, str] | None = None) -> None:
    """From a callback: open ``page`` (with ``query``) at the top of the next run."""
    state[_NEXT] = {"page": page, "query": dict(query or {})}


def follow(state: MutableMapping) -> None:
    """At a page's top: go where a callback asked to (nothing is drawn first)."""
    goto = state.pop(_NEXT, None)
    if goto:
        st.switch_page(goto["page"], query_params=with_present(goto["query"]) or None)


def open_runs(state: MutableMapping, ids: Sequence[str]) -> None:
    """From a callback (a click on a chart's point): open these runs' curves in Watch &
    compare at the top of the next run."""
    go_next(state, COMPARE, compare_query(runs=list(dict.fromkeys(ids))))


def edit_in_setup(state: MutableMapping, config: dict) -> None:
    """From a callback: load ``config`` into the setup form as one run, and go there."""
    form.load_raw(state, config)
    state["setup_mode"] = MODES[0]
    go_next(state, SETUP)


def launched(state: MutableMapping, ids: list[str], sweep: str, tab: str = "Loss") -> None:
    """From a launch's callback: open the comparison of what it queued on ``tab``."""
    state["compare_ids"] = ids
    state["compare_tabs"] = tab
    go_next(state, COMPARE, compare_query(sweep=sweep))


# ----------------------------------------------------------------------------- selections


def select(state: MutableMapping, ids: Sequence[str]) -> None:
    """Set the comparison's selection from code; a new table key makes the table show it."""
    state["compare_ids"] = list(dict.fromkeys(ids))
    state["compare_sel_version"] = state.get("compare_sel_version", 0) + 1


def latest_launch(all_runs: Sequence[Mapping]) -> list[str]:
    """The runs of the last launch: its whole sweep, or the last run alone."""
    last = all_runs[-1]
    if last.get("sweep_id"):
        return [r["id"] for r in all_runs if r.get("sweep_id") == last["sweep_id"]]
    return [last["id"]]


def _sweep_of(ids: Sequence[str], all_runs: Sequence[Mapping]) -> str | None:
    """The sweep ``ids`` are exactly, if they are one whole launch."""
    by_id = {r["id"]: r for r in all_runs}
    sweeps = {by_id[i].get("sweep_id") for i in ids}
    if len(sweeps) == 1 and None not in sweeps:
        (sweep,) = sweeps
        if {r["id"] for r in all_runs if r.get("sweep_id") == sweep} == set(ids):
            return sweep
    return None


def compare_selection(
    state: MutableMapping, all_runs: Sequence[Mapping], params: Any = None
) -> list[str]:
    """The compare page's selection: the address (a launch or a shared link) wins once,
    then the person does; the address bar then follows what is shown."""
    params = st.query_params if params is None else params
    by_id = {r["id"]: r for r in all_runs}
    query = (params.get("sweep"), params.get("runs"))
    if any(query) and state.get("compare_query_applied") != query:
        sweep, listed = query
        if sweep:
            ids = [r["id"] for r in all_runs if r.get("sweep_id") == sweep]
        else:
            ids = [i for i in (listed or "").split(",") if i in by_id]
        if ids:
            select(state, ids)
        if params.get("tab") in COMPARE_TABS:  # a lesson opens on the chart it is about
            state["compare_tabs"] = params["tab"]
        state["compare_query_applied"] = query
    if "compare_ids" not in state:
        select(state, latest_launch(all_runs))
    state["compare_ids"] = [i for i in state["compare_ids"] if i in by_id]
    ids = state["compare_ids"]
    sweep = _sweep_of(ids, all_runs)
    shown = (sweep, None if sweep else ",".join(ids) or None)
    if shown != query or "tab" in params:
        params.from_dict(with_present(compare_query(sweep=sweep, runs=ids), state))
    state["compare_query_applied"] = shown
    return ids


def _address_once(
    state: MutableMapping, params: Any, name: str, page: str, known, pick: str | None = None
) -> None:
    """``?name=`` picks ``state[pick]`` once per address (then the person's choice
    wins); an id the page does not know is remembered as applied but picks nothing."""
    params = st.query_params if params is None else params
    wanted = params.get(name)
    if wanted and state.get(f"{page}_query_applied") != wanted:
        if wanted in known:
            state[pick or f"{page}_{name}"] = wanted
        state[f"{page}_query_applied"] = wanted


def run_selection(state: MutableMapping, runs: Sequence[Mapping], params: Any = None) -> None:
    """The run detail page's run (``detail_run``): ``?run=`` wins once, else the run
    chosen before, else the first one selected in the comparison, else the newest."""
    by_id = {r["id"]: r for r in runs}
    _address_once(state, params, "run", "detail", by_id)
    if state.get("detail_run") not in by_id:
        chosen = [i for i in state.get("compare_ids", []) if i in by_id]
        state["detail_run"] = chosen[0] if chosen else runs[-1]["id"]


def study_selection(
    state: MutableMapping, study_ids: Sequence[str], params: Any = None
) -> str | None:
    """The study page's study (``study_pick``): ``?study=`` wins once, else the one
    chosen before, else the newest (``study_ids`` newest first). Returns the address's
    study when the store has no such study (a stale or mistyped link), else None."""
    params = st.query_params if params is None else params
    _address_once(state, params, "study", "study", study_ids, pick="study_pick")
    if state.get("study_pick") not in study_ids:
        state["study_pick"] = study_ids[0]
    asked = params.get("study")
    return asked if asked and asked not in study_ids else None


def demo_selection(state: MutableMapping, demo_ids: Sequence[str], params: Any = None) -> None:
    """The demos page's lesson (``demos_pick``): ``?demo=`` wins once."""
    params = st.query_params if params is None else params
    wanted = params.get("demo")
    if wanted in demo_ids and state.get("demos_query_applied") != wanted:
        state["demos_pick"] = wanted
        state["demos_query_applied"] = wanted
    state.setdefault("demos_pick", demo_ids[0])


# ----------------------------------------------------------------------------- presentation

PRESENT = "present"  # ?present=1: the address of presentation mode (ui.presentation)


def present_address(state: MutableMapping, params: Any = None) -> bool:
    """Presentation mode's flag and the address agree; returns the flag.

    A new ``?present=`` (a shared link, a typed address) sets the flag once; an address
    without it (the top menu's links carry no query) leaves the flag as it was, so the
    mode survives page switches; then the address follows the flag — ``present=1`` while
    presenting, nothing otherwise — so a link copied from the address bar opens the same
    way. What the address held after this is remembered, so the next new link still wins.
    """
    from ui import presentation

    params = st.query_params if params is None else params
    asked = params.get(PRESENT)
    if asked is not None and state.get("present_query_applied") != asked:
        presentation.set_on(state, asked.strip().lower() in ("1", "true", "on", "yes"))
    on = presentation.on(state)
    if on:  # every run, even when the address already says so: a run interrupted by the
        params[PRESENT] = "1"  # next can leave the browser's address without it
    elif not on and PRESENT in params:
        del params[PRESENT]
    state["present_query_applied"] = "1" if on else None
    return on


def with_present(query: Mapping[str, str] | None, state: Mapping | None = None) -> dict:
    """A page link's or page switch's query, with ``present=1`` while presenting (a link
    opened in a new tab is a new session: only the address can carry the mode there)."""
    from ui import presentation

    out = dict(query or {})
    if presentation.on(st.session_state if state is None else state):
        out[PRESENT] = "1"
    return out
