"""Guided demos: the documents' lessons, one click each, with the diagnosis they predict.

For a teacher in front of a class: pick a lesson, read what to look for, launch.
The runs are queued like any others (tagged ``demo:<id>``, one sweep per launch)
and this page follows the latest launch of the chosen demo from the store —
progress while it trains, then each run's diagnosis next to the one the lesson
predicts — so a reload, a second tab or a later visit shows the same thing.

Each demo is a lesson file (``lessons/*.json``, ``ui.lessons``): a bad file is listed and
the others load, a lesson can be imported for the session, and its controls
(``ui.lesson_view``) let students change its settings, except those it locks or hides.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from engine.store import TERMINAL
from ui import demos, launch_view, lesson_view, literal, navigation, resources, reveal_view
from ui.diagnosis_view import badge
from ui.runs import ACTIVE, differing_keys, progress, summary
from ui.shell import require_shell
from ui.widgets import problem_list, status_text

POLL_SECONDS = 1.5
require_shell()
state = st.session_state

navigation.follow(state)  # "Load it into the form" asked for Set up runs

navigation.header("Guided demos")
st.caption(
    "Each demo replays a lesson from the source documents with settings small enough to "
    "train in seconds to a minute on a CPU. Launch it, watch the runs train, and see how "
    "HP Lab diagnoses each one next to what the lesson predicts; then open them in "
    "**Watch & compare** to read the curves."
)

store = resources.store()
all_runs = store.list_runs()
# The lessons/ folder as it is now (a file added or fixed shows on the next rerun),
# then the lessons imported this session.
catalog = demos.catalog()


def _lessons() -> dict[str, demos.Demo]:
    return {**catalog.lessons, **lesson_view.uploaded()}


lessons = _lessons()


def _title(lesson_id: str) -> str:
    """A lesson's title as written (a title is plain text, and an imported file's is
    somebody's), marked when it was imported this session: a copy of a shipped lesson
    would otherwise be listed twice under one name."""
    title = literal.md(lessons[lesson_id].title)
    return title if lesson_id in catalog.lessons else f"{title} · imported"


launched = {d: demos.demo_runs(all_runs, d) for d in lessons}


def _state(demo_id: str) -> str | None:
    """``running`` or ``done`` for a launched demo, None before its first launch."""
    runs = launched[demo_id]
    if not runs:
        return None
    return "running" if any(r["status"] in ACTIVE for r in runs) else "done"


# --- which demo: a ?demo= link wins once, then the person's choice
ids = list(lessons)
if not ids:
    st.error("No lesson could be loaded from the lessons/ folder.", icon=":material/error:")
    problem_list([(literal.md(f), m) for f, m in catalog.problems])
    lesson_view.import_popover(catalog.lessons)
    lesson_view.import_problems()
    st.stop()
if state.get("demos_pick") not in ids:
    state.pop("demos_pick", None)  # a lesson whose file went away
asked = navigation.demo_selection(state, ids)  # ?demo= wins once, then follows the pick
if asked:  # a stale or mistyped link: say so, not just show another lesson
    st.warning(
        f"**demo**: no lesson “{literal.md(asked[:80])}” here; showing "
        f"{literal.md(lessons[state['demos_pick']].title)} instead.",
        icon=":material/warning:",
    )

if catalog.problems:
    # A bad file never hides the good ones: it is named here, the rest load.
    bad = len({f.split(":", 1)[0] for f, _ in catalog.problems})
    with st.expander(
        f"{bad} lesson file{'s' if bad != 1 else ''} in the lessons folder could not be "
        "loaded; the others are listed below",
        icon=":material/warning:",
    ):
        problem_list([(literal.md(f), m) for f, m in catalog.problems])

left, right = st.columns([1, 2.4], gap="large")
with left:
    # The labels never change: a radio whose option labels change (a "· running"
    # marker at launch) is reset by the browser to its first option. What each lesson
    # is doing is listed beneath instead.
    demo_id = st.radio("Lesson", ids, key="demos_pick", format_func=_title)
    with st.container(key="demos_status"):
        for d in ids:
            if (now := _state(d)) is not None:
                icon = ":material/progress_activity:" if now == "running" else ":material/check:"
                st.caption(f"{icon} {_title(d)} · {now}")
    lesson_view.import_popover(catalog.lessons)
    lesson_view.import_problems()
demo = lessons[demo_id]


# ----------------------------------------------------------------------------- actions


def _launch(demo_id: str) -> None:
    d = _lessons()[demo_id]
    canonical, problems = demos.validated(d)
    if problems:
        state[f"demos_error_{demo_id}"] = problems
        return
    # What the controls say now: the lesson's own settings unless a student changed them.
    _, ed = lesson_view.current(d, canonical)
    if not ed.ok:
        state[f"demos_error_{demo_id}"] = ed.all_problems()
        return
    configs = [c for c in ed.configs if c is not None]
    try:
        launch_view.queue(configs, names=ed.names, tags=[d.tag])
    except Exception as e:  # ConfigError from the pool's own validation, store errors
        state[f"demos_error_{demo_id}"] = getattr(e, "problems", None) or [("launch", str(e))]
        return
    state[f"demos_error_{demo_id}"] = None
    st.toast(f"Queued {len(configs)} run(s): {_title(demo_id)}.", icon=":material/rocket_launch:")


def _edit_in_setup(demo_id: str) -> None:
    d = _lessons()[demo_id]
    name = state.get(f"demos_edit_run_{demo_id}") or d.runs[0].name
    i = next(i for i, r in enumerate(d.runs) if r.name == name)
    canonical, _ = demos.validated(d)
    _, ed = lesson_view.current(d, canonical)
    if ed.configs[i] is not None:  # the settings as the controls show them
        navigation.edit_in_setup(state, ed.raws[i])


# ----------------------------------------------------------------------------- the lesson

with right:
    st.subheader(_title(demo.id))
    st.caption(f"Source: {demo.source}")
    # A lesson from the server's lessons/ folder is the teacher's markdown; one imported
    # in the browser is somebody's file, so its text is shown exactly as written.
    own = (lambda t: t) if demo.id in catalog.lessons else literal.md
    if demo.question is not None and not reveal_view.revealed(state, demo.id, launched[demo.id]):
        # what to look for tells the answer: it waits for the reveal
        st.info(
            "**Predict first.** What to look for appears with the curves after **Reveal**.",
            icon=":material/psychology_alt:",
        )
    else:
        st.info(f"**What to look for.** {own(demo.look_for)}", icon=":material/visibility:")
    if demo.caveat:
        st.warning(f"**On a CPU:** {own(demo.caveat)}", icon=":material/warning:")

    canonical, problems = demos.validated(demo)
    edited = lesson_view.panel(demo, canonical) if not problems else None
    configs = [c for c in edited.configs if c is not None] if edited else []
    if edited and len(configs) == len(demo.runs):
        rows = []
        differ = list(dict.fromkeys(k.split(".")[0] for k in differing_keys(configs)))
        for run, name, cfg in zip(demo.runs, edited.names, configs, strict=True):
            expect = () if name != run.name else run.expect
            row = {"Run": name}
            if demo.question is None or reveal_view.revealed(state, demo.id, launched[demo.id]):
                row["Expected diagnosis"] = demos.expect_text(expect)  # spoils a question
            for k in differ[:4]:
                row[k] = summary(cfg[k])
            row["Epochs"] = cfg["epochs"]
            rows.append(row)
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="demos_plan")
        one = len(configs) == 1
        st.caption(
            f"{len(configs)} run{'' if one else 's'} on task `{configs[0]['task']}`, seed "
            f"{configs[0]['seed']}"
            + ("." if one else f", so the curves differ only by {', '.join(differ) or 'nothing'}.")
        )
    problem_list(problems)

    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            f"Launch {len(demo.runs)} run{'s' if len(demo.runs) != 1 else ''}",
            type="primary",
            icon=":material/rocket_launch:",
            key=f"demos_launch_{demo.id}",
            on_click=_launch,
            args=(demo.id,),
            disabled=bool(problems) or not (edited and edited.ok),
            help=None if edited and edited.ok else "Fix the settings marked above first.",
        )
        with st.popover("Edit in Set up runs", icon=":material/edit:"):
            st.selectbox(
                "Run to load into the form",
                [r.name for r in demo.runs],
                key=f"demos_edit_run_{demo.id}",
            )
            st.button(
                "Load it into the form",
                key=f"demos_edit_{demo.id}",
                on_click=_edit_in_setup,
                args=(demo.id,),
                disabled=not (edited and edited.ok),
                help="Opens Set up runs with this run's settings in every field, to change "
                "one thing and launch your own variant.",
            )
    if state.get(f"demos_error_{demo.id}"):
        st.error("The launch was refused; nothing was queued.", icon=":material/error:")
        problem_list(state[f"demos_error_{demo.id}"])

# ----------------------------------------------------------------------------- the launch

active_at_load = any(r["status"] in ACTIVE for r in launched[demo.id])


def _verdict_line(v: demos.Verdict) -> str:
    got = badge(v.label) if v.label else ":gray-badge[not judged yet]"
    predicted = demos.expect_text(v.expect)
    if not v.expect:
        return f"{got} · your variant: the lesson makes no prediction for it"
    if v.as_expected is True:
        return f"{got} :green[:material/check: as the lesson predicts]"
    if v.as_expected is False:
        return f"{got} :red[:material/close: the lesson predicts {predicted}]"
    return f"{got} · the lesson predicts {predicted}"


@st.fragment(run_every=resources.live_pace(POLL_SECONDS, active_at_load))
def latest_launch() -> None:
    runs = demos.demo_runs(store.list_runs(tag=demo.tag), demo.id)
    resources.watching(any(r["status"] in ACTIVE for r in runs))  # still counted
    if not runs:
        st.caption("Not launched yet: its runs and their diagnoses will appear here.")
        return
    sweep_id = runs[0].get("sweep_id")
    done = sum(r["status"] in TERMINAL for r in runs)
    head = st.columns([3, 2], vertical_alignment="center")
    head[0].markdown(f"**Latest launch** · {done}/{len(runs)} finished")
    if sweep_id:
        # A link, not a button: it works from inside this fragment (a button's click
        # would only rerun the fragment) and the address bar says where it went.
        navigation.link_compare(
            "Open in Watch & compare",
            sweep=sweep_id,
            tab=demo.tab,
            where=head[1],
            icon=":material/monitoring:",
            help=f"Overlays these runs' curves with the {demo.tab} tab open.",
        )
    now = time.time()
    verdicts = demos.verdicts(demo, runs)
    for r, v in zip(runs, verdicts, strict=True):
        p = progress(r, now)
        c = st.columns([3, 4, 5], vertical_alignment="center")
        c[0].markdown(f"**{literal.md(v.name)}** {status_text(r['status'])}")
        c[1].progress(p["fraction"], text=p["text"])
        c[2].markdown(_verdict_line(v))
        if v.summary and r["status"] not in ACTIVE:
            c[2].caption(v.summary)
    judged = [v for v in verdicts if v.as_expected is not None]
    if done == len(runs) and judged:
        agree = sum(bool(v.as_expected) for v in judged)
        if agree == len(judged):
            st.success(
                f"All {len(judged)} diagnosed runs came out as the lesson predicts.",
                icon=":material/task_alt:",
            )
        else:
            st.warning(
                f"{agree} of {len(judged)} runs came out as the lesson predicts. Seeds and "
                "machines differ a little: open the others in Watch & compare and read "
                "their evidence in Run detail.",
                icon=":material/help:",
            )
    # A run changed state: redraw the whole page once so the lesson list and the polling
    # decision follow; epochs alone only redraw this panel.
    if active_at_load and not any(r["status"] in ACTIVE for r in runs):
        st.rerun()


# Full width under the lesson: the runs' rows need the room, and they read after it.
with st.container(border=True):
    # Predict, then reveal (issue 15): a lesson's question keeps the verdicts for Reveal.
    if demo.question is None or reveal_view.show(demo, launched[demo.id], state):
        latest_launch()
