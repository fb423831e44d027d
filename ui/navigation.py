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

import time
from collections.abc import Callable, Hashable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any

import streamlit as st

from ui import address, form
from ui.launch import MODES

COMPARE = "pages/compare.py"
SETUP = "pages/setup.py"
RUN = "pages/run.py"
STUDY = "pages/study.py"
COMPARE_TABS = address.COMPARE_TABS
DETAIL_TABS = address.DETAIL_TABS

_NEXT = "nav_next"  # a destination a callback left for the page's next run
_VISIT = "nav_visit"  # (the page shown, how many page changes this session has seen)
ECHO_SECONDS, ECHO_WRITES = 15.0, 8  # how long, and how many, own writes can come back


def visiting(state: MutableMapping, page: str) -> None:
    """At every run's top (app.py): count a change of page, so that an address the page
    wrote on an earlier visit is a new link again, not a late echo (``_echo``)."""
    shown, visit = state.get(_VISIT, (None, 0))
    if shown != page:
        state[_VISIT] = (page, visit + 1)


def _wrote(state: MutableMapping, part: str, value: Hashable) -> None:
    """Remember ``value`` as what this visit wrote to the ``part`` of the address."""
    now, visit = time.monotonic(), state.get(_VISIT, (None, 0))[1]
    book = [w for w in state.get(f"{part}_address_wrote", []) if w[0] != value]
    state[f"{part}_address_wrote"] = [*book[-(ECHO_WRITES - 1) :], (value, now, visit)]


def _echo(state: MutableMapping, part: str, value: Hashable) -> bool:
    """Whether the address's ``value`` is this visit's own recent write coming back late.

    Why: each rerun carries the browser's address, and a rerun sent before the page's
    newer address reached the browser (the run that wrote it was still going, or was
    cut short by the next click, whose messages never arrive) carries an older one. Read
    as a new link, it undid what the person did since: CI typed warmup 40 and epochs 6
    and saw 0 and 10 come back, a Run detail pick went back to the linked run. A link
    the page never wrote, or wrote on an earlier visit, still wins.
    """
    now, visit = time.monotonic(), state.get(_VISIT, (None, 0))[1]
    return any(
        v == value and at == visit and now - t < ECHO_SECONDS
        for v, t, at in state.get(f"{part}_address_wrote", [])
    )


def _new_link(state: MutableMapping, part: str, value: Hashable, applied: str) -> bool:
    """Whether the address's ``value`` for ``part`` is to be applied: it is not the one
    applied last (``state[applied]``), and it is no late echo."""
    return state.get(applied) != value and not _echo(state, part, value)


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
    if any(query) and _new_link(state, "compare_sel", query, "compare_query_applied"):
        sweep, listed = query
        if sweep:
            ids = [r["id"] for r in all_runs if r.get("sweep_id") == sweep]
        else:
            ids = [i for i in (listed or "").split(",") if i in by_id]
        if ids:
            select(state, ids)
        state["compare_query_applied"] = query
    if "compare_ids" not in state:
        select(state, latest_launch(all_runs))
    state["compare_ids"] = [i for i in state["compare_ids"] if i in by_id]
    ids = state["compare_ids"]
    sweep = _sweep_of(ids, all_runs)
    shown = (sweep, None if sweep else ",".join(ids) or None)
    if shown != query:  # the chart options beside them are compare_view's
        _set(params, compare_query(sweep=sweep, runs=ids), ("sweep", "runs"))
    state["compare_query_applied"] = shown
    _wrote(state, "compare_sel", shown)
    return ids


def _address_once(
    state: MutableMapping, params: Any, name: str, page: str, known, pick: str | None = None
) -> None:
    """``?name=`` picks ``state[pick]`` once per address (then the person's choice
    wins); an id the page does not know is remembered as applied but picks nothing."""
    params = st.query_params if params is None else params
    wanted = params.get(name)
    if wanted and _new_link(state, f"{page}_{name}", wanted, f"{page}_query_applied"):
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


# ----------------------------------------------------------------------------- views as addresses


def _set(params: Any, wanted: Mapping[str, str], owned: Iterable[str]) -> None:
    """Make the ``owned`` parameters of the address exactly ``wanted``, leaving the rest
    (another function's) alone; untouched when already so (no needless history)."""
    for k in [k for k in owned if k in params and k not in wanted]:
        del params[k]
    for k, v in wanted.items():
        if params.get(k) != v:
            params[k] = v


def _sig(query: Mapping[str, str]) -> tuple:
    return tuple(sorted(query.items()))


def _address(
    state: MutableMapping,
    params: Any,
    page: str,
    read: Callable[[dict], tuple[dict, list[address.Notice]]],
    write: Callable[[Mapping], dict[str, str]],
    known: Iterable[str] = (),
    drop: Callable[[str], bool] | None = None,
) -> list[address.Notice]:
    """A page's view and its address: the address wins once (a link, a reload), then
    the person's choices write it. ``known`` parameters are another function's (the
    selection's); ``drop`` picks the keys an applied address clears first. Returns
    the notices of the address last applied while the view is still what it gave."""
    params = st.query_params if params is None else params
    known = {*known, PRESENT}  # presentation mode's, on every page (present_address)
    query = {k: params.get(k) for k in list(params) if k not in known}
    applied, notes = f"{page}_address_applied", f"{page}_address_notices"
    if query and _new_link(state, page, _sig(query), applied):
        new, notices = read(query)
        for k in [k for k in state if drop and drop(str(k))]:
            del state[k]
        state.update(new)
        state[notes] = (notices, _sig(write(state)))
    shown = write(state)
    _set(params, shown, set(query) | set(shown))
    state[applied] = _sig(shown)
    _wrote(state, page, _sig(shown))
    notices, at = state.get(notes, ([], None))
    return notices if at == _sig(shown) else []


def setup_address(state: MutableMapping, params: Any = None) -> list[address.Notice]:
    """Set up runs' form, mode, compared knob and repeats as the page's address
    (``ui.address.setup_query``): call at the page's top, before any widget."""
    return _address(
        state, params, "setup", address.setup_state, address.setup_query, drop=address.setup_values
    )


def compare_view(state: MutableMapping, params: Any = None) -> list[address.Notice]:
    """Watch & compare's chart tab, x axis, smoothing, log y and seed grouping as the
    address beside the selection (called in the live fragment, before its controls,
    so a change made there reaches the address too)."""
    fields = address.COMPARE_VIEW
    return _address(
        state,
        params,
        "compare",
        lambda q: address.view_state(fields, q, "Watch & compare"),
        lambda s: address.view_query(fields, s),
        known=("sweep", "runs"),
    )


def detail_view(state: MutableMapping, params: Any = None) -> list[address.Notice]:
    """Run detail's open tab as the address beside ``?run=``, which follows the run
    shown (call after ``run_selection``, before the tabs)."""
    params = st.query_params if params is None else params
    fields = address.DETAIL_VIEW
    if state.get("detail_run"):
        _set(params, {"run": state["detail_run"]}, ("run",))
        state["detail_query_applied"] = state["detail_run"]
        _wrote(state, "detail_run", state["detail_run"])
    return _address(
        state,
        params,
        "detail",
        lambda q: address.view_state(fields, q, "Run detail"),
        lambda s: address.view_query(fields, s),
        known=("run",),
    )


def study_address(state: MutableMapping, params: Any = None) -> None:
    """The study shown is the address (after the person picks another one)."""
    params = st.query_params if params is None else params
    if state.get("study_pick"):
        _set(params, {"study": state["study_pick"]}, ("study",))
        state["study_query_applied"] = state["study_pick"]
        _wrote(state, "study_study", state["study_pick"])


def schedules_address(state: MutableMapping, params: Any = None) -> list[address.Notice]:
    """The schedule explorer's curves, their knobs and the shared batch as its address
    (call before the page fills its own defaults)."""
    return _address(
        state,
        params,
        "schedules",
        address.schedules_state,
        address.schedules_query,
        drop=address.schedule_keys,
    )


def losses_address(state: MutableMapping, params: Any = None) -> list[address.Notice]:
    """The loss explorer's tab, losses and sliders as its address."""
    return _address(state, params, "losses", address.losses_state, address.losses_query)


def show_notices(notices: Sequence[address.Notice]) -> None:
    """One warning listing each address parameter that was not used, named, as plain text."""
    from ui.widgets import say

    if notices:
        lines = "\n".join(f"- **{say(n.param)}**: {say(n.message)}" for n in notices)
        st.warning(
            "Some settings in this page's address could not be used:\n" + lines,
            icon=":material/link_off:",
        )


_COPY_HTML = """<!doctype html><html><head><style>
body{margin:0;font-family:"Source Sans Pro",sans-serif;font-size:14px;color:#1f2333}
.row{display:flex;gap:6px;align-items:center;height:38px}
button{height:38px;padding:0 12px;border:1px solid #e3e5ef;border-radius:.6rem;
background:#fff;color:inherit;font:inherit;cursor:pointer;white-space:nowrap}
button:hover{border-color:#4338ca;color:#4338ca}
button:focus-visible{outline:2px solid #4338ca;outline-offset:1px}
input{flex:1;min-width:0;height:34px;border:1px solid #e3e5ef;border-radius:.4rem;
padding:0 6px;font:12px monospace;color:inherit;background:#f4f5fb}
#say{font-size:12px;color:#555a6e;white-space:nowrap}
</style></head><body><div class="row">
<button id="copy" type="button" title="Copy a link that opens this exact view">
<svg width="16" height="16" viewBox="0 0 24 24" aria-hidden="true"
 style="vertical-align:-3px;margin-right:4px"><path fill="currentColor" d="M3.9 12c0-1.71
 1.39-3.1 3.1-3.1h4V7H7c-2.76 0-5 2.24-5 5s2.24 5 5 5h4v-1.9H7c-1.71 0-3.1-1.39-3.1-3.1zM8
 13h8v-2H8v2zm9-6h-4v1.9h4c1.71 0 3.1 1.39 3.1 3.1s-1.39 3.1-3.1 3.1h-4V17h4c2.76 0 5-2.24
 5-5s-2.24-5-5-5z"/></svg>Copy link</button>
<span id="say" role="status" aria-live="polite"></span>
<input id="url" readonly hidden aria-label="Link to this view: copy it by hand"
 title="The clipboard refused: press Ctrl+C (or Cmd+C) to copy this link">
</div><script>
const fallback = %s;
const btn = document.getElementById("copy"), say = document.getElementById("say"),
  box = document.getElementById("url");
function here() { try { return window.parent.location.href; } catch (e) { return fallback; } }
function byHand(url) {  // the clipboard refused: the link itself, selected, in the button's place
  box.value = url; btn.hidden = true; say.hidden = true; say.textContent = "Copy it by hand";
  box.hidden = false; box.focus(); box.select();
}
box.addEventListener("focus", () => box.select());
btn.addEventListener("click", () => {
  const url = here();
  box.value = url;
  if (!navigator.clipboard || !window.isSecureContext) { byHand(url); return; }
  navigator.clipboard.writeText(url).then(
    () => { box.hidden = true; say.textContent = "Copied"; },
    () => byHand(url));
});
</script></body></html>"""


def page_url(params: Any = None) -> str:
    """This page's full address as the server knows it (``st.context.url`` has no query)."""
    from urllib.parse import urlencode

    params = st.query_params if params is None else params
    base = st.context.url or ""
    query = urlencode({k: params.get(k) for k in list(params)})
    return f"{base}?{query}" if query else base


def header(title: str) -> None:
    """A page's title with its **Copy link** beside it."""
    c1, c2 = st.columns([5, 1.3], vertical_alignment="bottom")
    c1.title(title)
    with c2:
        copy_link()


def copy_link(where: Any = st) -> None:
    """A **Copy link** button: the address bar's URL at the moment of the click (so a
    change made in a fragment since is in it) goes to the clipboard; where the
    clipboard is refused (no secure context, a denied permission) the URL is shown,
    selected, to copy by hand. The URL is data in the script, never markup."""
    import json

    url = json.dumps(page_url()).replace("<", "\\u003c").replace(">", "\\u003e")
    with where.container(key="copy_link"):
        st.iframe(_COPY_HTML % url, height=40, width="stretch")


def demo_selection(
    state: MutableMapping, demo_ids: Sequence[str], params: Any = None
) -> str | None:
    """The demos page's lesson (``demos_pick``): ``?demo=`` wins once, then the address
    follows the person's pick, so a reload or a copied link opens the same lesson.
    Returns the address's lesson when there is no such lesson (a stale or mistyped
    link), for the page's notice, else None."""
    params = st.query_params if params is None else params
    wanted = params.get("demo")
    unknown = wanted if wanted and wanted not in demo_ids else None
    if wanted in demo_ids and _new_link(state, "demos", wanted, "demos_query_applied"):
        state["demos_pick"] = wanted
    if state.get("demos_pick") not in demo_ids:  # first visit, or an imported lesson gone
        state["demos_pick"] = demo_ids[0]
    if params.get("demo") != state["demos_pick"]:
        params["demo"] = state["demos_pick"]
    state["demos_query_applied"] = state["demos_pick"]
    _wrote(state, "demos", state["demos_pick"])
    return unknown


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
    if asked is not None and _new_link(state, PRESENT, asked, "present_query_applied"):
        presentation.set_on(state, asked.strip().lower() in ("1", "true", "on", "yes"))
    on = presentation.on(state)
    if on:  # every run, even when the address already says so: a run interrupted by the
        params[PRESENT] = "1"  # next can leave the browser's address without it
    elif not on and PRESENT in params:
        del params[PRESENT]
    state["present_query_applied"] = "1" if on else None
    _wrote(state, PRESENT, state["present_query_applied"])
    return on


def with_present(query: Mapping[str, str] | None, state: Mapping | None = None) -> dict:
    """A page link's or page switch's query, with ``present=1`` while presenting (a link
    opened in a new tab is a new session: only the address can carry the mode there)."""
    from ui import presentation

    out = dict(query or {})
    if presentation.on(st.session_state if state is None else state):
        out[PRESENT] = "1"
    return out
