"""The run-config form, generated from the engine's registries.

Every widget, range, default and help text comes from a ``Param`` in ``engine.spec``
(one source of truth): a new optimizer or schedule parameter appears in the form
without touching this file.

State lives in widget keys named ``cfg-<path>`` (``cfg-optimizer``,
``cfg-optimizer-adam-beta_1``). Two pure functions move a config in and out of a
mapping of those keys — ``load_config`` (presets, imports, task defaults) and
``config_from_state`` — so the round trip is unit-tested without Streamlit, and the
page can validate the config *before* drawing the widgets to put each problem
right under its field.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import streamlit as st

from engine.config import SCALARS, logged_names, validate
from engine.errors import ConfigError
from engine.spec.callbacks import CALLBACKS
from engine.spec.clipping import CLIP_MODES
from engine.spec.losses import LOSSES
from engine.spec.metrics import METRICS
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.params import Param
from engine.spec.precision import PRECISIONS
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import DATA_PARAMS, MODEL_PARAMS, TASKS, Task

PREFIX = "cfg-"
DEFAULT_TASK = "regression"
CLIP_NONE = "none"
CLIP_THRESHOLD = Param("float", 1.0, lo=0, lo_open=True, label="Clip threshold")
PERSIST = "session"  # the form survives a visit to another page

Notes = Callable[[str], None]


def key(*parts: str) -> str:
    return PREFIX + "-".join(parts)


# ----------------------------------------------------------------------------- pure: state


def _entry_name(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return value.get("name")
    return value


def _params_of(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k != "name"}
    return {}


def _list_text(v: Any) -> str:
    return ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in (v or []))


def _set_entry(state: MutableMapping, base: str, registry, value: Any) -> None:
    """Select ``value``'s entry under ``base`` and set its params (others back to defaults)."""
    name = _entry_name(value)
    state[base] = name
    given = _params_of(value)
    for e in registry:
        for p_name, p in e.params.items():
            k = f"{base}-{e.name}-{p_name}"
            v = given.get(p_name, p.default) if e.name == name else p.default
            state[k] = _list_text(v) if p.kind in ("floats", "ints") else v


def _set_metrics(state: MutableMapping, base: str, metrics: list) -> None:
    names = []
    given: dict[str, dict] = {}
    for m in metrics or []:
        name = _entry_name(m)
        entry = METRICS.entry(name)
        names.append(entry.name)
        given[entry.name] = _params_of(m)
    state[base] = names
    for e in METRICS:
        for p_name, p in e.params.items():
            state[f"{base}-{e.name}-{p_name}"] = given.get(e.name, {}).get(p_name, p.default)


def load_config(state: MutableMapping, cfg: Mapping[str, Any]) -> None:
    """Put a *validated* config into the form's keys, replacing whatever was there."""
    task = TASKS[cfg["task"]]
    state[key("task")] = task.id
    for k in DATA_PARAMS:
        state[key("data", k)] = cfg["data"][k]
    for k in MODEL_PARAMS:
        state[key("model", k)] = cfg["model"][k]
    for k in SCALARS:
        state[key(k)] = cfg[k]
    if task.multi_output:
        for h in task.heads:
            _set_entry(state, key("loss", h.name), LOSSES, cfg["loss"][h.name])
            _set_metrics(state, key("metrics", h.name), cfg["metrics"][h.name])
            state[key("loss_weights", h.name)] = (cfg.get("loss_weights") or {}).get(h.name, 1.0)
    else:
        _set_entry(state, key("loss"), LOSSES, cfg["loss"])
        _set_metrics(state, key("metrics"), cfg["metrics"])
    _set_entry(state, key("optimizer"), OPTIMIZERS, cfg["optimizer"])
    _set_entry(state, key("schedule"), SCHEDULES, cfg["schedule"] or "constant")
    clipping = cfg.get("clipping") or {}
    if clipping:
        ((mode, v),) = clipping.items()
        state[key("clip")] = mode
        state[key("clip", "value")] = float(v)
    else:
        state[key("clip")] = CLIP_NONE
        state[key("clip", "value")] = 1.0
    cbs = cfg.get("callbacks") or {}
    for spec in CALLBACKS:
        name = spec.name
        state[key("cb", name)] = name in cbs
        for p_name, p in spec.params.items():
            state[key("cb", name, p_name)] = (cbs.get(name) or {}).get(p_name, p.default)


def load_raw(state: MutableMapping, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Load a raw config (a preset, an import, a task's defaults) and return it validated.

    Schedule lengths the raw config leaves automatic (null or absent) stay automatic in
    the form, so they keep following epochs and batch size as the person edits them;
    ``validate`` alone would freeze them at the values worked out for the raw config.
    Raises ``ConfigError`` like ``validate``.
    """
    cfg = validate(dict(raw))
    load_config(state, cfg)
    sched = raw.get("schedule", TASKS[cfg["task"]].defaults.get("schedule"))
    name = _entry_name(sched)
    if name and name in SCHEDULES:
        entry = SCHEDULES.entry(name)
        given = _params_of(sched)
        for p_name, p in entry.params.items():
            if p.nullable and given.get(p_name) is None:
                state[f"{key('schedule')}-{entry.name}-{p_name}"] = None
    return cfg


def ensure_state(state: MutableMapping, task_id: str | None = None) -> None:
    """Fill the form with the article's defaults the first time (or for a new task)."""
    if key("task") not in state or task_id is not None:
        load_raw(state, {"task": task_id or state.get(key("task")) or DEFAULT_TASK})


def _get(state: Mapping, k: str, default: Any) -> Any:
    return state.get(k, default)


def _parse_list(text: Any, kind: str) -> Any:
    """``"1000, 3000"`` → ``[1000, 3000]``; left as text when unparsable so ``validate``
    names the field."""
    if isinstance(text, list):
        return text
    items = [t for t in str(text or "").replace(";", ",").split(",") if t.strip()]
    try:
        vals = [float(t) for t in items]
    except ValueError:
        return str(text)
    if kind == "ints":
        if any(not math.isfinite(v) or v != int(v) for v in vals):
            return str(text)
        return [int(v) for v in vals]
    return vals


def _entry_value(state: Mapping, base: str, registry) -> Any:
    name = _get(state, base, None)
    if name is None or name not in registry:
        return name
    entry = registry.entry(name)
    out: dict[str, Any] = {"name": entry.name}
    for p_name, p in entry.params.items():
        v = _get(state, f"{base}-{entry.name}-{p_name}", p.default)
        if p.kind in ("floats", "ints"):  # an emptied nullable list is "automatic"
            v = None if p.nullable and not str(v or "").strip() else _parse_list(v, p.kind)
        out[p_name] = v
    return out


def _doc_threshold(mode: str) -> float:
    return CLIP_MODES.entry(mode).params["threshold"].default if mode in CLIP_MODES else 1.0


def _metrics_value(state: Mapping, base: str) -> list:
    out = []
    for name in _get(state, base, []) or []:
        if name not in METRICS:
            out.append(name)
            continue
        entry = METRICS.entry(name)
        m = {"name": entry.name}
        for p_name, p in entry.params.items():
            m[p_name] = _get(state, f"{base}-{entry.name}-{p_name}", p.default)
        out.append(m)
    return out


def config_from_state(state: Mapping) -> dict[str, Any]:
    """The raw config the form currently describes (``validate`` it before use)."""
    task = TASKS[_get(state, key("task"), DEFAULT_TASK)]
    cfg: dict[str, Any] = {"task": task.id}
    cfg["data"] = {
        k: _get(state, key("data", k), task.data[k])
        for k in DATA_PARAMS
        if k != "n_val" or task.has_own_validation
    }
    cfg["model"] = {k: _get(state, key("model", k), p.default) for k, p in MODEL_PARAMS.items()}
    if task.multi_output:
        cfg["loss"] = {h.name: _entry_value(state, key("loss", h.name), LOSSES) for h in task.heads}
        cfg["metrics"] = {h.name: _metrics_value(state, key("metrics", h.name)) for h in task.heads}
        cfg["loss_weights"] = {
            h.name: _get(state, key("loss_weights", h.name), 1.0) for h in task.heads
        }
    else:
        cfg["loss"] = _entry_value(state, key("loss"), LOSSES)
        cfg["metrics"] = _metrics_value(state, key("metrics"))
    cfg["optimizer"] = _entry_value(state, key("optimizer"), OPTIMIZERS)
    for k, p in SCALARS.items():
        cfg[k] = _get(state, key(k), task.defaults.get(k, p.default))
    sched = _entry_value(state, key("schedule"), SCHEDULES)
    cfg["schedule"] = None if _entry_name(sched) in (None, "constant") else sched
    mode = _get(state, key("clip"), CLIP_NONE)
    cfg["clipping"] = (
        None
        if mode == CLIP_NONE
        else {mode: _get(state, key("clip", "value"), _doc_threshold(mode))}
    )
    cbs = {}
    for spec in CALLBACKS:
        name = spec.name
        if _get(state, key("cb", name), False):
            cbs[name] = {
                p_name: _get(state, key("cb", name, p_name), p.default)
                for p_name, p in spec.params.items()
            }
    cfg["callbacks"] = cbs
    return cfg


def check(raw: dict) -> tuple[dict | None, list[tuple[str, str]]]:
    """``(canonical config, [])`` or ``(None, problems)``: never raises for bad input."""
    try:
        return validate(raw), []
    except ConfigError as e:
        return None, list(e.problems)


# ----------------------------------------------------------------------------- widgets


def _help(p: Param, extra: str = "") -> str:
    bits = [p.help.strip()]
    if p.kind in ("int", "float") and (p.lo is not None or p.hi is not None):
        bits.append(f"Allowed: {p.describe_range()}.")
    if p.nullable:
        bits.append("Leave empty for automatic.")
    if extra:
        bits.append(extra)
    return " ".join(b for b in bits if b)


def number_args(p: Param, value: Any) -> dict[str, Any]:
    """``st.number_input`` arguments for one numeric ``Param``, whatever ``value`` holds.

    Every argument is a float and there are no bounds: Streamlit raises
    ``StreamlitMixedNumericTypesError`` when a step turns int (10**0 after typing 1),
    clamps or resets out-of-range values, and rounds 2.5 in an int widget to 2. Here
    what is typed reaches ``validate`` as typed, which names the field when it is
    wrong. ``value=None`` lets a field be emptied (the validator then says so) instead
    of snapping back to a default the person did not type.
    """
    return {
        "min_value": None,
        "max_value": None,
        "value": None,
        "step": _step(p, value),
        "format": "%g",
    }


def _step(p: Param, value: Any) -> float:
    """One click of +/-: 1 for counts; a power of ten below the value for rates."""
    if p.kind == "int":
        return 1.0
    v = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if v is not None and not math.isfinite(v):
        v = None
    if p.log or (v is not None and 0 < abs(v) < 0.01):
        v = abs(v) if v else abs(p.default or 1e-3)
        # Clamp to what a float and the browser's number input can hold.
        return float(10.0 ** min(300, max(-300, math.floor(math.log10(v)))))
    if p.hi is not None and p.hi <= 1:
        return 0.05
    return 0.1


def param_widget(
    p: Param,
    k: str,
    label: str,
    notes: Notes | None = None,
    field: str = "",
    *,
    extra_help: str = "",
    monitor_options: list[str] | None = None,
    disabled: bool = False,
    as_written: bool = False,
    persist: bool = True,
) -> None:
    """One widget for one ``Param`` (state already holds its value): the one home of
    which widget a Param gets, for the setup form and a lesson's controls alike.

    ``label`` is the Keras argument name; the widget shows the Param's human label
    beside it (``Momentum decay (beta_1)``) unless ``as_written`` (a lesson's run name).
    ``persist=False`` for widgets that belong to one page's view (a lesson's controls).
    """
    label = label if as_written else p.title(label)
    if k not in st.session_state:
        st.session_state[k] = _list_text(p.default) if p.kind in ("floats", "ints") else p.default
    kw: dict[str, Any] = {
        "key": k,
        "help": _help(p, extra_help),
        "disabled": disabled,
        "persist_state": PERSIST if persist else None,
    }
    auto = "auto" if p.nullable else None
    if p.kind == "bool":
        st.toggle(label, **kw)
    elif p.kind == "str" and (monitor_options is not None or p.choices):
        known = monitor_options if monitor_options is not None else p.choices
        st.selectbox(label, list(dict.fromkeys([*known, st.session_state[k]])), **kw)
    elif p.kind == "str":
        st.text_input(label, **kw)
    elif p.kind in ("floats", "ints"):
        st.text_input(label, placeholder=auto, **{**kw, "help": kw["help"] + " Comma-separated."})
    else:
        st.number_input(label, **number_args(p, st.session_state.get(k)), placeholder=auto, **kw)
    if notes and field:
        notes(field)


def _entry_params(
    registry,
    base: str,
    name: str,
    field: str,
    notes: Notes,
    cols: int = 2,
) -> None:
    entry = registry.entry(name)
    if not entry.params:
        return
    columns = st.columns(cols)
    for i, (p_name, p) in enumerate(entry.params.items()):
        with columns[i % cols]:
            param_widget(p, f"{base}-{entry.name}-{p_name}", p_name, notes, f"{field}.{p_name}")


def entry_select(
    registry, base: str, label: str, names: list[str], help_text: str, field: str, notes: Notes
) -> str:
    """A select over registry entries with the chosen entry's help under it."""
    if st.session_state.get(base) not in names:
        st.session_state[base] = names[0]
    name = st.selectbox(
        label,
        names,
        key=base,
        format_func=lambda n: f"{registry.entry(n).title}  ({n})",
        help=help_text,
        persist_state=PERSIST,
    )
    st.caption(registry.entry(name).help)
    notes(field)
    _entry_params(registry, base, name, field, notes)
    return name


# ----------------------------------------------------------------------------- sections


def section_data(task: Task, notes: Notes) -> None:
    st.markdown("##### Data")
    cols = st.columns(2)
    items = [(k, p) for k, p in DATA_PARAMS.items() if k != "n_val" or task.has_own_validation]
    for i, (k, p) in enumerate(items):
        with cols[i % 2]:
            default = task.data[k]
            param_widget(
                dataclasses.replace(p, default=default),
                key("data", k),
                k,
                notes,
                f"data.{k}",
                extra_help=f"The article's value: {default}.",
            )
    with cols[len(items) % 2]:
        param_widget(
            SCALARS["validation_split"],
            key("validation_split"),
            "validation_split",
            notes,
            "validation_split",
        )
    c1, _ = st.columns(2)
    with c1:
        param_widget(SCALARS["seed"], key("seed"), "seed", notes, "seed")


def section_model(task: Task, notes: Notes) -> None:
    st.markdown("##### Model")
    layers = " → ".join(_layer_text(layer) for layer in task.layers)
    heads = ", ".join(
        f"{h.name} ({h.units}{', ' + h.activation if h.activation else ''})" for h in task.heads
    )
    st.caption(f"The article's network: {layers} → {heads}.")
    cols = st.columns(2)
    for i, (k, p) in enumerate(MODEL_PARAMS.items()):
        with cols[i % 2]:
            param_widget(p, key("model", k), k, notes, f"model.{k}")


def _layer_text(layer: dict) -> str:
    t = layer.get("type")
    if t == "dense":
        return f"Dense {layer['units']}"
    if t == "lstm":
        return f"LSTM {layer['units']}"
    if t == "dropout":
        return f"Dropout {layer['rate']}"
    if t == "batchnorm":
        return "BatchNorm"
    return str(t)


def _monitor_options(state: Mapping) -> list[str]:
    raw = config_from_state(state)
    raw["callbacks"] = {}
    cfg, _ = check(raw)
    if cfg is None:
        return ["val_loss", "loss"]
    names = logged_names(cfg)
    has_val = bool(cfg["validation_split"]) or TASKS[cfg["task"]].has_own_validation
    return ([f"val_{n}" for n in names] if has_val else []) + names


def section_loss(task: Task, notes: Notes) -> None:
    st.markdown("##### Loss and metrics")
    heads = task.heads if task.multi_output else (None,)
    for h in heads:
        head = h or task.heads[0]
        suffix = (h.name,) if h else ()
        field = f"loss.{h.name}" if h else "loss"
        names = [e.name for e in LOSSES if head.kind in e.tags]
        out = f"{head.activation} output" if head.activation else "raw logits (no activation)"
        entry_select(
            LOSSES,
            key("loss", *suffix),
            f"Loss{' · ' + h.name if h else ''}",
            names,
            f"What training minimises. This output is {head.kind} with {out}.",
            field,
            notes,
        )
        if h:
            param_widget(
                Param(
                    "float",
                    1.0,
                    lo=0,
                    hi=1e3,
                    help="Weight of this output's loss in the "
                    "total: the article weights price 1.0 and category 0.5.",
                ),
                key("loss_weights", h.name),
                f"loss weight · {h.name}",
                notes,
                f"loss_weights.{h.name}",
            )
        mk = key("metrics", *suffix)
        options = [e.name for e in METRICS if head.kind in e.tags]
        st.session_state.setdefault(mk, [])
        st.session_state[mk] = [m for m in st.session_state[mk] if m in options]
        chosen = st.multiselect(
            f"Metrics{' · ' + h.name if h else ''}",
            options,
            key=mk,
            format_func=lambda n: METRICS.entry(n).title,
            help="Reported every epoch for train and validation; they never change training. "
            + " ".join(f"{METRICS.entry(n).title}: {METRICS.entry(n).help}" for n in options),
            persist_state=PERSIST,
        )
        notes(f"metrics.{h.name}" if h else "metrics")
        for name in chosen:
            if METRICS.entry(name).params:
                _entry_params(METRICS, mk, name, f"metrics.{name}", notes)


def section_optimizer(
    notes: Notes,
    lr_note: Callable[[], None],
    lr_tools: Callable[[], None] | None = None,
) -> None:
    """``lr_note`` is drawn beside the learning-rate field, ``lr_tools`` (the range
    test, a chart when open) under it at the form's full width."""
    st.markdown("##### Optimizer and learning rate")
    entry_select(
        OPTIMIZERS,
        key("optimizer"),
        "Optimizer",
        OPTIMIZERS.names(),
        "The update rule that turns gradients into weight changes.",
        "optimizer",
        notes,
    )
    name = st.session_state[key("optimizer")]
    lo, hi = OPTIMIZERS.entry(name).fixed.get("lr_range", (None, None))
    c1, c2 = st.columns(2)
    with c1:
        param_widget(
            SCALARS["learning_rate"],
            key("learning_rate"),
            "learning_rate",
            notes,
            "learning_rate",
            extra_help=f"{OPTIMIZERS.entry(name).title} usually: {lo:g} – {hi:g}." if lo else "",
        )
    with c2:
        lr_note()
    if lr_tools is not None:
        lr_tools()
    st.markdown("##### Schedule")
    entry_select(
        SCHEDULES,
        key("schedule"),
        "Learning-rate schedule",
        SCHEDULES.names(),
        "How the rate changes with each optimizer update. Steps count updates, so with "
        "gradient accumulation one update = several batches. The peak is learning_rate.",
        "schedule",
        notes,
    )
    st.markdown("##### Batches and clipping")
    c1, c2, c3 = st.columns(3)
    with c1:
        param_widget(SCALARS["batch_size"], key("batch_size"), "batch_size", notes, "batch_size")
    with c2:
        param_widget(
            SCALARS["grad_accum_steps"],
            key("grad_accum_steps"),
            "grad_accum_steps",
            notes,
            "grad_accum_steps",
        )
    with c3:
        param_widget(SCALARS["epochs"], key("epochs"), "epochs", notes, "epochs")
    c1, c2 = st.columns(2)
    modes = [CLIP_NONE, *CLIP_MODES.names()]
    with c1:
        mode = st.selectbox(
            "Gradient clipping",
            modes,
            key=key("clip"),
            help="Limit gradients before the update. "
            + " ".join(f"{e.name}: {e.help}" for e in CLIP_MODES),
            persist_state=PERSIST,
        )
    with c2:
        st.session_state.setdefault(key("clip", "value"), 1.0)
        st.number_input(
            "Clip threshold",
            **number_args(CLIP_THRESHOLD, st.session_state.get(key("clip", "value"))),
            key=key("clip", "value"),
            disabled=mode == CLIP_NONE,
            help="clipvalue: the largest allowed element. clipnorm / global_clipnorm: the largest "
            "allowed L2 norm (1.0 is standard). The source article uses clipvalue 0.5, norms 1.0.",
            persist_state=PERSIST,
        )
    if mode != CLIP_NONE:
        st.caption(CLIP_MODES.entry(mode).help)
    notes("clipping")


def section_callbacks(notes: Notes) -> None:
    monitors = _monitor_options(st.session_state)
    for spec in CALLBACKS:
        name = spec.name
        on = st.toggle(spec.title, key=key("cb", name), help=spec.help, persist_state=PERSIST)
        if on:
            with st.container(border=True):
                st.caption(spec.help)
                cols = st.columns(3)
                for i, (p_name, p) in enumerate(spec.params.items()):
                    with cols[i % 3]:
                        param_widget(
                            p,
                            key("cb", name, p_name),
                            p_name,
                            notes,
                            f"callbacks.{name}.{p_name}",
                            monitor_options=monitors if p_name == "monitor" else None,
                        )
        notes(f"callbacks.{name}")


def section_precision(notes: Notes) -> None:
    c1, c2 = st.columns([2, 1])
    with c1:
        st.selectbox(
            "Precision",
            list(PRECISIONS),
            key=key("precision"),
            help=SCALARS["precision"].help
            + " "
            + " ".join(f"{k}: {v}" for k, v in PRECISIONS.items()),
            persist_state=PERSIST,
        )
        st.caption(PRECISIONS[st.session_state[key("precision")]])
        notes("precision")
    with c2:
        param_widget(
            SCALARS["jit_compile"], key("jit_compile"), "jit_compile", notes, "jit_compile"
        )
        param_widget(
            SCALARS["run_eagerly"], key("run_eagerly"), "run_eagerly", notes, "run_eagerly"
        )
