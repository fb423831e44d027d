"""Schedule explorer: several learning-rate schedules overlaid, each with its own knobs.

The data size, batch and accumulation are shared, because they decide how many
optimizer updates an epoch holds — the thing a schedule's step count is measured
in and the thing people most often get wrong. Each curve is validated as a run
config and drawn from the exact schedule object training would build, so the page
doubles as a check of a schedule before it is launched.
"""

from __future__ import annotations

import streamlit as st

from engine.config import SCALARS
from engine.spec.schedules import SCHEDULES
from ui import form, navigation, presentation, preview_view
from ui import schedule_explorer as sx
from ui.charts import schedule_figure
from ui.palette import RUN_COLORS
from ui.shell import require_shell
from ui.widgets import FieldNotes, color_dot, problem_list

require_shell()
state = st.session_state
LR = SCALARS["learning_rate"]


def _base(i: int) -> str:
    return f"sx{i}"


def _color(n: int) -> str:
    return RUN_COLORS[n % len(RUN_COLORS)]


def _ensure_state() -> None:
    if "sx_ids" not in state:
        state["sx_ids"] = list(range(len(sx.START)))
        state["sx_next"] = len(sx.START)
        for i, name in enumerate(sx.START):
            state[_base(i)] = name
    for k, p in sx.SHARED.items():
        state.setdefault(f"sx_{k}", p.default)
    for i in state["sx_ids"]:
        state.setdefault(f"{_base(i)}-lr", LR.default)


def _add() -> None:
    i = state["sx_next"]
    state["sx_next"] = i + 1
    state[_base(i)] = sx.next_schedule([state.get(_base(j)) for j in state["sx_ids"]])
    state["sx_ids"] = [*state["sx_ids"], i]


def _remove(i: int) -> None:
    state["sx_ids"] = [j for j in state["sx_ids"] if j != i]


_ensure_state()
address_notices = navigation.schedules_address(state)  # a link wins once
ids: list[int] = list(state["sx_ids"])
shared = {k: state[f"sx_{k}"] for k in sx.SHARED}
shape, shared_problems = sx.check_shared(shared)

# Every curve is validated before any widget is drawn, so each problem can sit under
# the field it names.
cards = []
for n, i in enumerate(ids):
    spec = form._entry_value(state, _base(i), SCHEDULES)
    lr = state[f"{_base(i)}-lr"]
    cfg, problems = sx.check(sx.raw_config(shared, lr, spec))
    own = [(f, m) for f, m in problems if not sx.is_shared(f)]
    cards.append((n, i, cfg, own))

navigation.header("Schedule explorer")
st.caption(
    "The learning rate is the single most important hyperparameter: starting high helps "
    "escape bad regions, decaying it lets training settle (000 · Learning Rate Schedules). "
    "A schedule counts **optimizer updates**, so the same schedule stretches or shrinks "
    "with the data size, the batch and gradient accumulation — set them here as for a run."
)

navigation.show_notices(address_notices)

# ----------------------------------------------------------------------------- shared knobs

# Presenting, the charts come first and these knobs follow them, folded.
charts, knobs = presentation.placed("Data, batch and epochs")
notes = FieldNotes(shared_problems)
with knobs, st.container(border=True):
    cols = st.columns(len(sx.SHARED))
    for col, (k, p) in zip(cols, sx.SHARED.items(), strict=True):
        with col:
            form.param_widget(p, f"sx_{k}", k, notes, sx.FIELDS.get(k, k))
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    with c1:
        if shape is not None:
            st.markdown(shape.text(shared["grad_accum_steps"], shared["epochs"]))
    with c2:
        log_y = st.toggle("log y", key="sx_log", persist_state=form.PERSIST)
    problem_list(notes.rest())

# ----------------------------------------------------------------------------- charts

with charts:
    previews: dict[int, dict] = {}
    got = None
    if shape is None:
        st.info(
            "Fix the data and batch settings above to draw the schedules.", icon=":material/info:"
        )
    else:  # None while the service computes them: a waiting box holds the charts' place
        got = preview_view.previews_for(
            {i: cfg for _, i, cfg, _ in cards if cfg is not None},
            key="sx_wait",
            what="the exact schedules",
        )
    if got is not None:
        previews, refused = got
        for n, i, _, _ in cards:
            if i in refused:  # a schedule Keras refuses must not take the page down
                cards[n] = (n, i, None, [("schedule", f"Keras could not build it: {refused[i]}")])
        lines = [
            (
                f"{n + 1} · {(cfg['schedule'] or {'name': 'constant'})['name']}",
                _color(n),
                previews[i],
            )
            for n, i, cfg, _ in cards
            if i in previews
        ]
        for col, (per, title) in zip(
            st.columns(2), [("update", "Per optimizer update"), ("epoch", "Per epoch")], strict=True
        ):
            presentation.plotly_chart(
                col,
                schedule_figure(lines, per=per, log_y=log_y, title=title),
                key=f"sx_chart_{per}",
                width="stretch",
            )
        st.caption(
            "From the same schedule object the workers train with, one point per optimizer update. "
            "Steps count like Keras's optimizer.iterations: step t is the (t + 1)-th update. "
            "Reduce-LR-on-plateau cuts depend on the curves, so no preview can show them."
        )

# ----------------------------------------------------------------------------- one card each

grid = st.columns(2)
for n, i, cfg, own in cards:
    base = _base(i)
    color = _color(n)
    card_notes = FieldNotes(own)
    with grid[n % 2], st.container(border=True, key=f"{base}_card"):
        h1, h2 = st.columns([5, 1], vertical_alignment="center")
        with h1:
            st.markdown(f"{color_dot(color)}**Schedule {n + 1}**", unsafe_allow_html=True)
        with h2:
            st.button(
                "",
                icon=":material/close:",
                key=f"{base}_remove",
                help="Remove this schedule",
                on_click=_remove,
                args=(i,),
                disabled=len(ids) == 1,
            )
        form.param_widget(LR, f"{base}-lr", "learning_rate (η₀)", card_notes, "learning_rate")
        form.entry_select(
            SCHEDULES,
            base,
            "Schedule",
            SCHEDULES.names(),
            "How the rate changes with each optimizer update. Leave a length empty to have it "
            "worked out from the run's total updates.",
            "schedule",
            card_notes,
        )
        problem_list(card_notes.rest())
        if cfg is None:
            continue
        spec = cfg["schedule"] or {"name": "constant"}
        if i in previews:
            st.caption(sx.lr_range(previews[i]["lr"]))
        f = sx.formula(spec, cfg["learning_rate"])
        st.latex(f.tex)
        st.markdown(f.where_text())
        with st.expander("Keras code", icon=":material/code:"):
            st.code(sx.keras_code(cfg), language="python")

st.button(
    "Add a schedule",
    icon=":material/add:",
    key="sx_add",
    on_click=_add,
    disabled=len(ids) >= sx.MAX_SCHEDULES,
)
