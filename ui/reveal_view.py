"""Predict, then reveal: a lesson's question in front of its launch (issue 15).

Before the reveal the runs train with their curves and diagnoses hidden (each run's
progress only), and a student records a prediction: a run (which ends lowest), a
diagnosis label per run, or the epoch where a validation curve turns up. **Reveal**
shows the loss curves (the compare page's figure) with each run's diagnosis and, next
to the prediction, whether it is right and what the answer is. The reveal is live: while
the runs train it redraws as they report and says "so far"; it settles when they end.
A teacher may reveal without any prediction.

What is recorded lives in session state under the demo and its launch (the sweep id),
so a rerun, another demo and back, or a second launch each keep their own. The answers
and grades are ``ui.predictions`` (pure); this module only draws them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import streamlit as st

from engine.config import validate
from engine.errors import ConfigError
from engine.store import TERMINAL
from ui import literal, predictions, presentation, resources
from ui.charts import metric_figure
from ui.diagnosis_view import badge, diagnosis_of, label_text
from ui.palette import run_colors
from ui.runs import ACTIVE, curves_for, display_names, fmt_num, progress
from ui.widgets import say, status_text

POLL_SECONDS = 1.5
KEY_PREFIX = "reveal"
SPOILING = ("completed", "diverged")  # before Reveal both read "finished"
NEXT = "next"  # the slot of a prediction recorded before the launch it is about
# An epoch is a few digits: a longer field only lets a pasted paragraph be echoed back
# whole in the error box beneath it.
EPOCH_CHARS = 8


def _key(demo_id: str, sweep_id: str, part: str = "") -> str:
    """One name per demo and launch: ``reveal_<demo>_<sweep>[_<part>]``."""
    return "_".join(p for p in (KEY_PREFIX, demo_id, sweep_id, part) if p)


def sweep_of(runs: Sequence[Mapping[str, Any]]) -> str:
    return (runs[0].get("sweep_id") or runs[0]["id"]) if runs else ""


def entry(state: MutableMapping, demo_id: str, sweep_id: str) -> dict[str, Any]:
    """What this launch's question holds: ``prediction`` (None until recorded),
    ``revealed`` and the last attempt's ``problems`` (field, message)."""
    return state.setdefault(
        _key(demo_id, sweep_id),
        {"prediction": None, "at": None, "revealed": False, "problems": []},
    )


def _adopt(rec: dict, nxt: dict, runs: Sequence[Mapping[str, Any]]) -> None:
    """A launch made after a prediction was recorded for "the next launch" takes it."""
    if rec["prediction"] is not None or rec["revealed"] or nxt["prediction"] is None:
        return
    launched = min((r.get("created") or 0.0) for r in runs)
    if (nxt["at"] or 0.0) <= launched:
        rec["prediction"], rec["at"] = nxt["prediction"], nxt["at"]
        nxt["prediction"] = None


def _planned(demo: Any) -> list[dict[str, Any]]:
    """The demo's runs as the form needs them before launch: names and epochs."""
    out = []
    for r in demo.runs:
        try:
            cfg = validate(r.config)
        except ConfigError:  # the launch will name it; the form still asks
            cfg = dict(r.config)
        out.append({"id": r.name, "name": r.name, "config": cfg})
    return out


def revealed(state: Mapping, demo_id: str, runs: Sequence[Mapping[str, Any]]) -> bool:
    """Whether this launch's answer is shown (the page may hide what would spoil it)."""
    got = state.get(_key(demo_id, sweep_of(runs))) if runs else None
    return bool(got and got.get("revealed"))


def prediction_text(q: predictions.Asked, prediction: Any) -> str:
    """What was predicted, in words (plain text: run names are the person's)."""
    if q.kind == "lowest":
        return str(prediction)
    if q.kind == "label":
        return " · ".join(f"{run}: {label_text(lab)}" for run, lab in prediction.items())
    return predictions.turn_text(None if prediction == predictions.NEVER else int(prediction))


# ----------------------------------------------------------------------------- recording


def _last_epoch(q: predictions.Asked, runs: Sequence[Mapping[str, Any]]) -> int | None:
    run = next((r for r in runs if r.get("name") == q.run), None)
    epochs = (run.get("config") or {}).get("epochs") if run else None
    return int(epochs) if isinstance(epochs, int) and epochs > 0 else None


def _asked_runs(q: predictions.Asked, names: Sequence[str]) -> list[str]:
    return [n for n in names if q.run is None or n == q.run]


def _record(state, q: predictions.Asked, names: list[str], last: int | None, base: str) -> None:
    """The form's submit: keep the prediction, or name every field that is not one."""
    rec = state[base]
    problems: list[tuple[str, str]] = []
    value: Any = None
    if q.kind == "lowest":
        value = state.get(f"{base}_run")
        if value is None:
            problems.append(("prediction", "choose the run you think ends lowest"))
    elif q.kind == "label":
        value = {}
        for i, name in enumerate(_asked_runs(q, names)):
            got = state.get(f"{base}_label_{i}")
            if got is None:
                problems.append((f"prediction · {name}", "choose a diagnosis"))
            value[name] = got
    elif state.get(f"{base}_never"):
        value = predictions.NEVER
    else:
        value, message = predictions.parse_epoch(state.get(f"{base}_epoch"), last or 0)
        if message:
            problems.append(("epoch", message))
    rec["problems"] = problems
    if not problems:
        rec["prediction"], rec["at"] = value, time.time()


def _change(state, base: str) -> None:
    state[base]["prediction"] = None


def _reveal(state, base: str) -> None:
    state[base]["revealed"] = True


def _form(q: predictions.Asked, runs: Sequence[Mapping[str, Any]], base: str, state) -> None:
    names = [r.get("name") or r["id"] for r in runs]
    last = _last_epoch(q, runs) if q.kind == "turn" else None
    if q.kind == "turn" and last is None:
        st.warning(
            f"The question asks about a run named {literal.md(q.run)}, which this launch "
            "does not have.",
            icon=":material/help:",
        )
        return
    with st.form(key=f"{base}_form", border=False, enter_to_submit=True):
        if q.kind == "lowest":
            st.radio(
                "Your prediction",
                names,
                index=None,
                key=f"{base}_run",
                format_func=literal.md,
                horizontal=True,
            )
        elif q.kind == "label":
            cols = st.columns(min(4, max(1, len(_asked_runs(q, names)))))
            for i, name in enumerate(_asked_runs(q, names)):
                cols[i % len(cols)].selectbox(
                    name,
                    predictions.PREDICTABLE,
                    index=None,
                    format_func=label_text,
                    placeholder="choose a diagnosis",
                    key=f"{base}_label_{i}",
                )
        else:
            hi = max(1, (last or 0) - 1)
            c = st.columns([2, 2], vertical_alignment="bottom")
            c[0].text_input(
                f"Epoch where the curve turns up (1 to {hi})",
                key=f"{base}_epoch",
                max_chars=EPOCH_CHARS,
                placeholder=f"1 to {hi}",
                help="The epoch where this run's validation curve is lowest before it rises again.",
            )
            c[1].checkbox("It never turns up", key=f"{base}_never")
        st.form_submit_button(
            "Record prediction",
            icon=":material/edit_note:",
            key=f"{base}_submit",
            on_click=_record,
            args=(state, q, names, last, base),
        )
    for field, message in state[base]["problems"]:
        st.error(f"**{literal.md(field)}**: {say(message)}", icon=":material/error:")


# ----------------------------------------------------------------------------- the panel


def show(demo: Any, runs: Sequence[Mapping[str, Any]], state: MutableMapping) -> bool:
    """The question, the prediction and the live reveal of ``runs`` (the demo's latest
    launch, as the page read it). True once revealed: the page then draws its own
    verdict panel (each run's diagnosis next to the lesson's expectation) beneath."""
    q = predictions.question_of(demo.question)
    st.container(key="reveal_question").markdown(
        f"**Predict, then reveal** · :material/quiz: {literal.md(q.text)}"
    )
    nxt = entry(state, demo.id, NEXT)
    if runs:
        sweep = sweep_of(runs)
        rec = entry(state, demo.id, sweep)
        _adopt(rec, nxt, runs)
    else:  # predicting before the launch: the next launch takes the prediction
        sweep, rec = NEXT, nxt
    base = _key(demo.id, sweep)
    if not rec["revealed"]:
        if rec["prediction"] is None:
            _form(q, runs or _planned(demo), base, state)
        else:
            with st.container(horizontal=True, vertical_alignment="center", key=f"{base}_kept"):
                st.markdown(
                    f"**Your prediction:** {literal.md(prediction_text(q, rec['prediction']))}"
                )
                st.button(
                    "Change",
                    key=f"{base}_change",
                    type="tertiary",
                    on_click=_change,
                    args=(state, base),
                )
    if not runs:
        st.caption(
            "Not launched yet: record your prediction, then launch; Reveal shows the "
            "curves and each run's diagnosis next to it while the runs train."
        )
        return False
    if not rec["revealed"]:
        st.button(
            "Reveal",
            type="primary",
            icon=":material/visibility:",
            key=f"{base}_reveal",
            on_click=_reveal,
            args=(state, base),
            help="Shows the curves and each run's diagnosis, and grades the prediction; "
            "a teacher may reveal without one.",
        )
    active = any(r["status"] in ACTIVE for r in runs)
    live = st.fragment(_live, run_every=resources.live_pace(POLL_SECONDS, active))
    live(demo, q, sweep, rec["revealed"], rec["prediction"], active)
    return bool(rec["revealed"])


def _live(
    demo: Any,
    q: predictions.Asked,
    sweep: str,
    shown: bool,
    prediction: Any,
    active_at_load: bool,
) -> None:
    runs = resources.store().list_runs(sweep_id=sweep)
    resources.watching(any(r["status"] in ACTIVE for r in runs))  # still counted
    if not shown:
        done = sum(r["status"] in TERMINAL for r in runs)
        st.markdown(f"**Latest launch** · {done}/{len(runs)} finished")
        _rows(runs)
        st.caption("The curves and diagnoses stay hidden until Reveal.")
    else:  # the grade and the curves; the page's verdict panel follows with each run
        series = {rid: ep for rid, (ep, _) in resources.series_for(runs, updates=False).items()}
        ans = predictions.answer(q, runs, series)
        by_name = {r.get("name") or r["id"]: r for r in runs}
        finals = {
            name: predictions.final_value(r, series.get(r["id"]), q.metric)
            for name, r in by_name.items()
        }
        _grades(q, prediction, ans, by_name, finals)
        names = dict(zip([r["id"] for r in runs], display_names(runs), strict=True))
        colors = run_colors(r["id"] for r in runs)
        curves = [
            curves_for(r, series[r["id"]], None, colors[r["id"]], name=names[r["id"]]) for r in runs
        ]
        key = q.metric.removeprefix("val_")
        presentation.plotly_chart(
            st,
            metric_figure(curves, key, title="Loss" if key == "loss" else key, height=380),
            key=f"{_key(demo.id, sweep)}_chart",
            width="stretch",
            config={"displaylogo": False},
        )
    if active_at_load and not any(r["status"] in ACTIVE for r in runs):
        st.rerun()  # the launch ended: redraw the page once, which stops the polling


def _rows(runs) -> None:
    """Each run's progress, told without what would answer the question: no loss values,
    a run that diverged reads "finished" like the rest (a "label" question), and a
    finished run shows no epoch count (stopping at epoch 1 of 20 says "diverged", at 12
    of 40 "early stopping cut it")."""
    now = time.time()
    box = st.container(key="reveal_rows")
    for r in runs:
        status = "finished" if r["status"] in SPOILING else r["status"]
        c = box.columns([3, 4], vertical_alignment="center")
        c[0].markdown(f"**{literal.md(r.get('name') or r['id'])}** {status_text(status)}")
        if r["status"] in TERMINAL:
            c[1].progress(1.0, text="finished")
        else:
            p = progress({**r, "status": status, "last": {}}, now)
            c[1].progress(p["fraction"], text=p["text"])


def _verdict(g: predictions.Grade) -> str:
    if g.correct is None:
        return ":gray-badge[:material/hourglass_empty: nothing to compare yet]"
    so_far = "" if g.final else " so far"
    if g.correct:
        return f":green-badge[:material/check: correct{so_far}]"
    return f":red-badge[:material/close: not correct{so_far}]"


def _diag_of(by_name: Mapping[str, Mapping], name: str | None) -> str:
    run = by_name.get(name) if name else None
    if run is None:
        return ""
    d = diagnosis_of(run)
    return badge(d["label"] if d else None)


def _grades(
    q,
    prediction,
    ans: predictions.Answer,
    by_name: Mapping[str, Mapping],
    finals: Mapping[str, float | None] | None = None,
) -> None:
    """The prediction next to the answer and the diagnosis it concerns; for "ends
    lowest" the picked run's own final value too, so a student sees how close it was."""
    what = {
        "lowest": f"lowest final {q.metric}",
        "label": "diagnosis",
        "turn": f"{q.run}'s {q.metric} turns up at",
    }[q.kind]
    with st.container(border=True, key="reveal_outcome"):
        if prediction is None:
            st.markdown("**No prediction was recorded.**")
            for subject, text in predictions.answer_lines(q, ans):
                who = f"{literal.md(subject)}: " if subject and q.kind == "label" else ""
                about = ans.lowest if q.kind == "lowest" else (subject,)
                diags = " ".join(_diag_of(by_name, n) for n in about)
                st.markdown(f"Answer · {literal.md(what)}: {who}**{literal.md(text)}** {diags}")
            return
        for g in predictions.grade(q, prediction, ans):
            if q.kind == "lowest":
                diag = _diag_of(by_name, g.predicted)
                answer_diag = " ".join(_diag_of(by_name, n) for n in ans.lowest)
                lead = f"**Your prediction:** {literal.md(g.predicted)} {diag}"
                mine = (finals or {}).get(g.predicted)
                if mine is not None and g.predicted not in ans.lowest:
                    lead += f" ({fmt_num(mine)})"
                tail = f"{literal.md(what)}: **{literal.md(g.actual)}** {answer_diag}"
                if ans.value is not None:
                    tail += f" ({fmt_num(ans.value)})"
            elif q.kind == "label":
                lead = f"**{literal.md(g.subject)}:** you predicted {literal.md(g.predicted)}"
                tail = f"diagnosis: {_diag_of(by_name, g.subject)}"
                if not g.final and g.correct is not None:
                    tail += " so far"
            else:
                lead = f"**Your prediction:** {literal.md(g.predicted)}"
                tail = f"{literal.md(what)}: **{literal.md(g.actual)}** {_diag_of(by_name, q.run)}"
            st.markdown(f"{lead} · {_verdict(g)} · {tail}")
