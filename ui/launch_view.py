"""Set up runs › the launch bar and the review: what one click on Launch queues.

The bar sits above the settings so Launch is on the first screen (a projector's
1280×720); the review below them repeats every problem and warning (a field may sit
on a tab that is not open), lists the runs and previews their learning rates. Both
draw a ``ui.launch.Launch``; Launch queues it (``on_launch``) and opens its comparison.

Every launch from the dashboard reuses finished runs: a run whose validated config and
seed match one already trained is created finished, a copy of it, and one matching a
run still queued or training waits for it (``engine.store.reuse`` says why that is
honest). A class launching one lesson thirty times trains it once. "Train again even
if an identical run exists" (``TRAIN_AGAIN``) asks for fresh runs instead.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

import streamlit as st

from engine.config import shape_of
from engine.run_cost import fmt_seconds
from engine.sweep import new_sweep_id
from ui import downloads, launch, navigation, pending, plan, preview_view, resources
from ui.launch import Launch
from ui.palette import run_colors
from ui.widgets import escape_md, problem_list, say

DURATION_HELP = (
    "From the run's size alone (updates, model and data sizes; `engine/run_cost.py`), "
    "measured against real runs on a 2-core machine without a GPU "
    "(`benchmarks/duration_estimate.py`); a loaded machine takes longer."
)


def run_list(L: Launch, most: int = 4) -> str:
    """``adam · lr 0.001, sgd · lr 0.01``: the runs by name, seed repeats once."""
    names = list(dict.fromkeys(r.name.split(" · seed ")[0] for r in L.runs))
    more = f", … ({len(names) - most} more)" if len(names) > most else ""
    return ", ".join(names[:most]) + more


TRAIN_AGAIN = "launch_train_again"
TRAIN_AGAIN_LABEL = "Train again even if an identical run exists"
TRAIN_AGAIN_HELP = (
    "Off: a run whose settings and seed match a finished run is not trained again; the "
    'launch shows a copy of that run\'s result at once ("reused from …"), and one '
    "matching a run still queued or training waits for it. On a CPU the same settings "
    "and seed train the same curves, so the copy is what training would draw. On: "
    "every run trains."
)


def train_again_box(key: str = TRAIN_AGAIN) -> bool:
    """The option to force fresh runs, for any page that launches."""
    return st.checkbox(TRAIN_AGAIN_LABEL, key=key, help=TRAIN_AGAIN_HELP)


def queue(
    configs: list[dict], *, names: list[str], tags: list[str], fresh: bool | None = None
) -> tuple[str, list[str]]:
    """Queue one launch as one sweep (its id is the engine's, as a CLI sweep's):
    ``(sweep_id, run_ids)``. Identical finished runs are reused unless ``fresh`` (by
    default: the "Train again" box as the session has it). Raises what the pool's
    validation or the store raise."""
    if fresh is None:
        fresh = bool(st.session_state.get(TRAIN_AGAIN))
    sweep_id = new_sweep_id()
    ids = resources.submit(configs, names=names, sweep_id=sweep_id, tags=tags, reuse=not fresh)
    return sweep_id, ids


def submit(state: MutableMapping, *, gpu: bool) -> tuple[list[str], str, str] | None:
    """The Launch button: build the launch again from the widgets' state as it is at
    the click (exactly what is shown) and queue it under unique names: ``(run ids,
    sweep id, the chart tab to open)``. A refusal is left in ``setup_launch_error``
    for the page to show."""
    now = launch.build(state, gpu=gpu)
    if not now.ok:
        state["setup_launch_error"] = now.all_problems or [("launch", now.hint)]
        return None
    run_tags = now.tags + (["seeds"] if now.repeats > 1 else [])
    try:
        taken = [r["name"] for r in resources.store().list_runs()]
        names = plan.unique_names([r.name for r in now.runs], taken)
        sweep_id, ids = queue(now.configs, names=names, tags=run_tags)
    except Exception as e:  # ConfigError from the pool's own validation, store errors
        state["setup_launch_error"] = getattr(e, "problems", None) or [("launch", str(e))]
        return None
    state["setup_launch_error"] = None
    return ids, sweep_id, now.preset.tab if now.preset else "Loss"  # the lesson's chart


def on_launch() -> None:
    """Launch's callback: queue what the widgets hold now, then open the comparison."""
    state = st.session_state
    done = submit(state, gpu=resources.has_gpu())
    if done:
        navigation.launched(state, *done)


def launch_bar(L: Launch, *, gpu: bool, on_launch: Callable[[], None] = on_launch) -> None:
    """Summary, Launch and the exports, in one bordered row."""
    state = st.session_state
    with st.container(border=True, key="setup_launch_bar"):
        lc0, lc1 = st.columns([3, 2], vertical_alignment="center")
        with lc0:
            st.markdown(f"**{launch.summary(L)}**")
            duration = launch.duration_line(L, resources.worker_count())
            if duration and not L.all_problems:
                st.caption(f":material/schedule: {duration} on this machine", help=DURATION_HELP)
            problems = L.all_problems
            if problems:
                st.caption(
                    f":red[✖ {len(problems)} setting{'s' if len(problems) != 1 else ''} to fix "
                    "before launch] — listed under **Review**, each also under its field."
                )
            elif L.hint:
                st.caption(L.hint)
            else:
                warnings = [a for a in L.review_advice(gpu=gpu) if a.level == "warning"]
                status = (
                    f":orange[⚠ {len(warnings)} warning{'s' if len(warnings) != 1 else ''}] — "
                    "see **Review**; warnings do not block."
                    if warnings
                    else "Every run is valid."
                )
                st.caption(
                    f"{escape_md(run_list(L))} — {status}" if L.mode != launch.MODES[0] else status
                )
        with lc1:
            n = len(L.runs)
            st.button(
                f"Launch {n} run{'s' if n != 1 else ''}" if n else "Launch",
                type="primary",
                icon=":material/rocket_launch:",
                disabled=not L.ok,
                key="setup_launch",
                on_click=on_launch,
                width="stretch",
            )
            train_again_box()
            first = L.valid[0][1] if L.valid else None
            lc2, lc3 = st.columns(2)
        with lc2:
            downloads.config_json(
                first,
                key="setup_export_json",
                file_name=f"hplab-{first['task']}.json" if first else "hplab.json",
                help="The first planned run's config, to import again or run with "
                "`python -m engine run`.",
            )
        with lc3:
            downloads.keras_script(
                first,
                key="setup_export_script",
                file_name=f"hplab_{first['task'].replace('-', '_')}.py" if first else "hplab.py",
                label="Keras script",
                help="A standalone Keras script that reproduces the first planned run.",
            )
        if state.get("setup_launch_error"):
            st.error("The launch was refused; nothing was queued.", icon=":material/error:")
            problem_list(state["setup_launch_error"])


def review(L: Launch, *, gpu: bool) -> None:
    """Every problem and warning, and the planned runs' table."""
    st.markdown("#### Review")
    if L.uses_form and L.base_problems:
        # Repeated here: its field may sit on a tab that is not open.
        st.error(
            f"{len(L.base_problems)} setting(s) need fixing before launch (each is also marked "
            "under its field):",
            icon=":material/error:",
        )
    problem_list(L.all_problems)
    if L.hint:
        st.info(L.hint, icon=":material/info:")
    for a in L.review_advice(gpu=gpu):
        (st.warning if a.level == "warning" else st.info)(
            f"**{a.field}** — {say(a.message)}",
            icon=":material/warning:" if a.level == "warning" else ":material/lightbulb:",
        )

    valid = L.valid
    if valid and not resources.libraries_ready():
        _table_pending(len(valid))
    elif valid:
        import pandas as pd

        from ui.runs import differing_keys, summary

        configs = [c for _, c in valid]
        # One column per top-level setting that differs; objects are summarised by name
        # (the Run column already says "sgd · momentum 0.9").
        differ = list(dict.fromkeys(k.split(".")[0] for k in differing_keys(configs)))
        rows = []
        shapes = [shape_of(c) for c in configs]
        each, _ = launch.expected_seconds(L, 1)
        for (p, cfg), shape, secs in zip(valid, shapes, each, strict=True):
            row = {"Run": p.name}
            for k in differ[:6]:
                row[k] = summary(cfg[k])
            row["Epochs"] = cfg["epochs"]
            row["Updates/epoch"] = round(shape.updates_per_epoch, 2)
            row["Updates"] = shape.total_updates
            row["Expected time"] = fmt_seconds(secs)
            rows.append(row)
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="setup_plan_table")
        totals = sorted({s.total_updates for s in shapes})
        each = (
            f"{totals[0]:,} updates each"
            if len(totals) == 1
            else f"{totals[0]:,}–{totals[-1]:,} updates per run"
        )
        skipped = len(L.runs) - len(valid)
        st.caption(
            f"{len(valid)} valid run{'s' if len(valid) != 1 else ''}"
            + (f" of {len(L.runs)} planned" if skipped else "")
            + f" · {each} · task {configs[0]['task']}"
            + (f" · differing in: {', '.join(differ)}" if differ else "")
        )


def _table_pending(n: int) -> None:
    """A cold server's first run: the runs' table needs pandas, which the server is
    importing now (``resources.settle``); the page redraws itself with the table as soon
    as it is in. (Drawn at once, the table cost the first load its Launch button for
    the import, plus the browser's largest script after Plotly's: the data grid.)"""
    st.caption(
        f":material/hourglass_top: Preparing the table of the {n} planned "
        f"run{'s' if n != 1 else ''}…"
    )
    pending.rerun_when_done(resources.libraries_ready)


def preview(L: Launch) -> None:
    """The LR preview of every valid run; a run's seed repeats share its colour (their
    schedules are the same curve)."""
    if not L.valid:
        return
    planned, configs = [p for p, _ in L.valid], [c for _, c in L.valid]
    colors = run_colors(p.name.split(" · seed ")[0] for p in planned)
    preview_view.render(planned, configs, colors)
