"""Set up runs → Search: a space over the chosen knobs, a sampler, a pruner, a budget.

The form builds exactly the sweep description a search file holds (``{"base",
"space", "search", "repeats"}``); the base is the settings form's config. It is
checked by the engine's own parser (``engine.search.space.parse_study``), so every
problem is the engine's field-named sentence, shown under its field, and nothing is
queued while there is one. Launch stores the study and queues its first trials the
way ``engine sweep --detach`` does (``engine.search.driver.start``) on the server's
store; the dashboard's worker pool trains them and asks for the rest as they end.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from engine.errors import ConfigError
from ui.search_knobs import (  # noqa: F401 (the form's names, kept where they were)
    MODE,
    K,
    Knob,
    _fmt,
    ensure_state,
    key,
    knobs,
)
from ui.widgets import say


def _number(text: Any) -> Any:
    """A typed value: int, float, or the text itself (the engine names what is wrong)."""
    s = str(text if text is not None else "").strip()
    if not s:
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
    except ValueError:
        return s
    return v if math.isfinite(v) else s


def whole(text: Any) -> Any:
    """A whole number typed any way a person writes one (``1e3``, ``24.0``) is that
    number; 2.5 or text stays as typed, for the engine to name."""
    v = _number(text)
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _value(text: str) -> Any:
    v = _number(text)
    return text.strip() if v is None else v


@dataclass
class Search:
    """What the form describes: the sweep, its problems (field, message) and the plan."""

    sweep: dict[str, Any]
    problems: list[tuple[str, str]] = field(default_factory=list)
    plan: Any = None  # engine.search.space.StudyPlan when valid

    @property
    def ok(self) -> bool:
        return self.plan is not None and not self.problems


def build(state: MutableMapping, base: dict[str, Any], repeats: int = 1) -> Search:
    """The sweep the widgets describe, checked by the engine (never raises)."""
    from engine.search.space import parse_study

    ensure_state(state)
    space: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    ticked = {k.path for k in knobs() if state.get(key(k.path, "on"))}
    for k in knobs():
        if k.path not in ticked:
            continue
        where = f"space.{k.path}"
        if k.kind == "choice":
            raw = [s for s in str(state.get(key(k.path, "values")) or "").split(",") if s.strip()]
            if not raw:
                problems.append((where, "list at least one value, separated by commas"))
                continue
            spec: dict[str, Any] = {"choice": [_value(s) for s in raw]}
        else:
            lo, hi = (_number(state.get(key(k.path, p))) for p in ("low", "high"))
            if lo is None or hi is None:
                problems.append((where, f"{'low' if lo is None else 'high'} is empty"))
                continue
            spec = {k.kind: [lo, hi]}
        if k.when and all(c in ticked for c in k.when):
            spec["when"] = dict(k.when)
        space[k.path] = spec
    search = {
        "sampler": state.get(f"{K}sampler"),
        "trials": whole(state.get(f"{K}trials")),
        "metric": str(state.get(f"{K}metric") or "").strip(),
        "seed": whole(state.get(f"{K}seed")),
    }
    pruner = state.get(f"{K}pruner")
    if pruner and pruner != "none":
        search["pruner"] = pruner
    for f in ("trials", "seed"):
        if search[f] is None:
            problems.append((f"search.{f}", "is empty"))
            search.pop(f)
    sweep = {"base": dict(base), "space": space, "search": search, "repeats": repeats}
    out = Search(sweep, problems)
    if not space and not problems:
        out.problems.append(("space", "tick at least one knob to search"))
    if out.problems:
        return out
    try:
        out.plan = parse_study(sweep)
    except ConfigError as e:
        out.problems = list(e.problems)
    except Exception as e:  # the engine's parser is the judge; never a traceback here
        out.problems = [("search", str(e))]
    return out


def plan_line(s: Search) -> str:
    """``24 trials of up to 20 epochs, TPE sampler, median pruner; space: …``."""
    p = s.plan
    sp = p.search
    epochs = p.base.get("epochs")
    ep = [q for q in p.params if q.path == "epochs"]
    if ep:
        epochs = int(ep[0].high)
    sampler = sp.sampler.upper() if sp.sampler in ("tpe", "qmc", "gp") else sp.sampler
    sampler = {"cmaes": "CMA-ES", "random": "random", "grid": "grid"}.get(sampler, sampler)
    pruner = "no pruner" if sp.pruner is None else f"{sp.pruner.name} pruner"
    reps = f" × {p.repeats} seeds" if p.repeats > 1 else ""
    parts = []
    for q in p.params:
        if q.kind == "choice":
            r = "{" + ", ".join(_fmt(c) for c in q.choices) + "}"
        else:
            r = f"{_fmt(q.low)}..{_fmt(q.high)}" + (" (log)" if q.kind == "log_uniform" else "")
        cond = "".join(f" if {c} = {'/'.join(map(str, v))}" for c, v in q.when.items())
        parts.append(f"{q.path} {r}{cond}")
    shown = f"{int(epochs)}" if isinstance(epochs, (int, float)) else "?"
    head = f"{sp.trials} trials{reps} of up to {shown} epochs"
    return (
        f"{head}, {sampler} sampler, {pruner}, {sp.direction} {sp.metric}; "
        f"space: {'; '.join(parts)}"
    )


def launch(s: Search, *, store=None, slots: int | None = None) -> tuple[str, list[str]]:
    """Store the study and queue its first trials, as ``engine sweep --detach`` does:
    ``(study id, run ids)``. The pool trains them and asks for the rest as they end."""
    from engine.search import driver
    from engine.sweep import new_sweep_id
    from ui import resources

    if not s.ok:
        raise ConfigError(s.problems or [("search", "nothing to launch")])
    store = store if store is not None else resources.store()
    slots = slots if slots is not None else max(1, resources.worker_count())
    study_id = new_sweep_id()
    ids = driver.start(store, s.plan, study_id, slots)
    return study_id, ids


# ----------------------------------------------------------------------------- drawing


def _error(field: str, message: str, where: Any = st) -> None:
    """The engine's message, which may quote what was typed: shown as text, never as
    markdown (``**bold**`` typed stays ``**bold**``)."""
    where.error(f"**{field}**: {say(message)}", icon=":material/error:")


def _errors(problems, prefix: str, where: Any = st) -> None:
    for f, m in problems:
        if f == prefix or f.startswith(prefix + "."):
            _error(f, m, where)


def _on_launch(base: dict, repeats: int) -> None:
    state = st.session_state
    s = build(state, base, repeats)
    if not s.ok:
        state[f"{K}error"] = s.problems
        return
    try:
        study_id, ids = launch(s)
    except Exception as e:  # the store refused: say so, queue nothing more
        state[f"{K}error"] = getattr(e, "problems", None) or [("launch", str(e))]
        return
    state[f"{K}error"] = None
    state[f"{K}launched"] = {"study": study_id, "runs": ids}


def panel(state: MutableMapping, base: dict[str, Any], repeats: int = 1) -> Search:
    """The Search form, its plan and its Launch (the settings below give the base)."""
    from engine.search.pruners import PRUNERS
    from engine.search.samplers import SAMPLERS
    from ui import navigation

    ensure_state(state)
    s = build(state, base, repeats)
    with st.container(border=True, key="search_form"):
        st.markdown(
            "**Search space**: tick the knobs to search; each range starts inside "
            "its registry's bounds and can be edited."
        )
        for k in knobs():
            c0, c1, c2 = st.columns([1.4, 1, 1], vertical_alignment="bottom")
            with c0:
                st.checkbox(k.path, key=key(k.path, "on"), help=k.help)
            on = bool(state.get(key(k.path, "on")))
            if k.kind == "choice":
                with c1:
                    st.text_input(
                        f"{k.path} values",
                        key=key(k.path, "values"),
                        disabled=not on,
                        help="Comma-separated choices.",
                    )
                with c2:
                    st.caption("choice")
            else:
                with c1:
                    st.text_input(f"{k.path} low", key=key(k.path, "low"), disabled=not on)
                with c2:
                    st.text_input(
                        f"{k.path} high",
                        key=key(k.path, "high"),
                        disabled=not on,
                        help=k.kind.replace("_", "-") + " range",
                    )
            if on:
                _errors(s.problems, f"space.{k.path}")
        _errors([(f, m) for f, m in s.problems if f == "space"], "space")
        c = st.columns(5, vertical_alignment="bottom")
        with c[0]:
            st.selectbox(
                "Sampler",
                list(SAMPLERS),
                key=f"{K}sampler",
                help="; ".join(f"{n}: {e.help}" for n, e in SAMPLERS.items()),
            )
        with c[1]:
            st.selectbox("Pruner", ["none", *PRUNERS.names()], key=f"{K}pruner")
        with c[2]:
            st.text_input("Trials", key=f"{K}trials")
        with c[3]:
            st.text_input("Metric", key=f"{K}metric", help="A logged metric, e.g. val_loss.")
        with c[4]:
            st.text_input("Seed", key=f"{K}seed")
        for f in (
            "search.sampler",
            "search.pruner",
            "search.trials",
            "search.metric",
            "search.seed",
        ):
            _errors(s.problems, f)
        shown = ("space", "search.")
        other = [(f, m) for f, m in s.problems if not f.startswith(shown)]
        for f, m in other:
            _error(f, m)
        if s.ok:
            st.info(plan_line(s), icon=":material/travel_explore:")
        st.button(
            "Launch search",
            type="primary",
            icon=":material/rocket_launch:",
            disabled=not s.ok,
            key=f"{K}launch",
            on_click=_on_launch,
            args=(dict(base), repeats),
        )
        err = state.get(f"{K}error")
        if err:
            for f, m in err:
                _error(f, m)
        done = state.get(f"{K}launched")
        if done:
            st.success(
                f"Study **{done['study']}** launched: {len(done['runs'])} first "
                "trial(s) queued; the pool asks for the rest as trials end.",
                icon=":material/check_circle:",
            )
            navigation.link_study(done["study"], "Open the study view", icon=":material/insights:")
    return s
