"""Pages as addresses: pure maps between a page's session state and its query string.

Like the TensorFlow Playground, a page's whole view lives in its address, so a reload
keeps it and a copied link opens the same view in a fresh browser. Set up runs writes
only what differs from the task's defaults (``?task=binary-20&optimizer=sgd&
optimizer.momentum=0.9&mode=knob&knob=learning_rate&values=0.01,0.1``): config paths a
person can read and edit by hand. Every parameter read is checked like the form checks
it; one that is unknown or wrong becomes a ``Notice`` naming it and why, and its field
keeps its default, so no address can raise (a property test drives this with
thousands of generated queries). Nothing here reads ``st.query_params`` (that is
``ui.navigation``'s) or imports more than the form does: Set up runs uses it before
its Launch button is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.config import SCALARS
from engine.errors import ConfigError, clip, show
from engine.spec.callbacks import CALLBACKS
from engine.spec.clipping import CLIP_MODES
from engine.spec.losses import LOSSES
from engine.spec.metrics import METRICS
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.params import Param
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import DATA_PARAMS, MODEL_PARAMS, TASKS
from ui import form, launch, plan
from ui.launch import MODES
from ui.presets import PRESETS

MAX_TEXT = 200  # longest text value read from an address (names, lists)
# Parameters Streamlit itself reads (``?embed=true``): never this app's to judge.
FOREIGN = frozenset({"embed", "embed_options"})
MODE_SLUGS = {"one": MODES[0], "knob": MODES[1], "replay": MODES[2], "search": MODES[3]}
_SLUG_OF = {v: k for k, v in MODE_SLUGS.items()}


@dataclass(frozen=True)
class Notice:
    """One address parameter that was not used, and why (shown as plain text)."""

    param: str
    message: str

    def text(self) -> str:
        return f"{self.param}: {self.message}"


@dataclass(frozen=True)
class Field:
    """One address parameter: its name, the session key it sets, and how its text is
    read — by a ``Param`` (numbers, switches, text) or as one of ``options`` (``many``:
    a comma-separated list of them)."""

    name: str
    key: str
    param: Param | None = None
    options: tuple = ()
    many: bool = False

    @property
    def default(self) -> Any:
        """The value the form holds for the Param's default (lists as their text)."""
        if self.param is None:
            return None
        if self.param.kind in ("floats", "ints"):
            return form._list_text(self.param.default)
        return self.param.default


# ----------------------------------------------------------------------------- values


def encode(value: Any) -> str:
    """A state value as address text: ``true``, ``0.001``, ``64`` (not ``64.0``), ``a,b``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, list | tuple):
        return ",".join(encode(v) for v in value)
    return "" if value is None else str(value)


def same(a: Any, b: Any) -> bool:
    """Equal as the form means it: ``32.0`` is ``32`` but ``True`` is not ``1``."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _number(text: str, kind: str) -> float | int:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"must be a number, got {show(text)}") from None
    if not math.isfinite(v):
        raise ValueError(f"must be a finite number, got {show(text)}")
    if kind == "int":
        if v != int(v):
            raise ValueError(f"must be a whole number, got {show(text)}")
        return int(v)
    return v


def _checked(p: Param, value: Any, name: str) -> Any:
    try:
        return p.check(value, name)
    except ConfigError as e:
        raise ValueError(e.problems[0][1]) from None


def read(f: Field, text: str) -> Any:
    """The state value ``text`` gives field ``f``; ``ValueError`` says why it cannot."""
    text = str(text)
    if len(text) > MAX_TEXT:
        raise ValueError(f"is too long ({len(text)} characters, at most {MAX_TEXT})")
    text = text.strip()
    if f.param is None:
        items = [t.strip() for t in text.split(",") if t.strip()] if f.many else [text]
        bad = [t for t in items if t not in f.options]
        if bad:
            known = ", ".join(str(o) for o in f.options)
            raise ValueError(clip(f"{show(bad[0])} is not one of: {known}", 300))
        return list(dict.fromkeys(items)) if f.many else items[0]
    p = f.param
    if p.kind == "bool":
        low = text.lower()
        if low in ("true", "1", "on", "yes"):
            return True
        if low in ("false", "0", "off", "no"):
            return False
        raise ValueError(f"must be true or false, got {show(text)}")
    if p.kind in ("int", "float"):
        if not text and p.nullable:
            return None
        return _checked(p, _number(text, p.kind), f.name)
    if p.kind in ("floats", "ints"):
        if not text and p.nullable:
            return ""
        parsed = form._parse_list(text, p.kind)
        if isinstance(parsed, str) or not parsed:
            raise ValueError(f"must be comma-separated numbers, got {show(text)}")
        return form._list_text(_checked(p, parsed, f.name))
    return _checked(p, text, f.name)


def apply(
    fields: Iterable[Field], query: dict[str, str], state: dict, notices: list[Notice]
) -> None:
    """Read each field ``query`` names into ``state`` (popping it from ``query``); a
    value that cannot be read is a notice and its field keeps what it had."""
    for f in fields:
        if f.name in query:
            text = query.pop(f.name)
            try:
                state[f.key] = read(f, text)
            except ValueError as e:
                notices.append(Notice(f.name, f"{e}; kept the default"))


def written(fields: Iterable[Field], state: Mapping, defaults: Mapping) -> dict[str, str]:
    """The query of the fields whose state differs from ``defaults``."""
    out = {}
    for f in fields:
        base = defaults.get(f.key, f.default)
        v = state.get(f.key, base)
        if not same(v, base):
            out[f.name] = encode(v)
    return out


def unknown(query: Mapping[str, str], notices: list[Notice], page: str) -> None:
    for name in query:
        if name not in FOREIGN:
            shown = clip(str(name), 60) if str(name).strip() else f"{show(name)} (no name)"
            notices.append(Notice(shown, f"not a setting of {page}; ignored"))


# ----------------------------------------------------------------------------- set up runs


@lru_cache(maxsize=32)
def _defaults(task_id: str) -> dict:
    state: dict = {}
    form.load_raw(state, {"task": task_id})
    return state


def task_defaults(task_id: str) -> dict:
    """The form's state for ``task_id``'s article settings (a fresh copy)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in _defaults(task_id).items()}


def _entry_fields(name: str, base: str, registry, chosen: Any) -> list[Field]:
    """``optimizer`` picks the entry; ``optimizer.momentum`` sets the chosen one's."""
    if not isinstance(chosen, str) or chosen not in registry:
        return []
    e = registry.entry(chosen)
    return [Field(f"{name}.{p}", f"{base}-{e.name}-{p}", param) for p, param in e.params.items()]


def selector_fields(task_id: str) -> list[Field]:
    """The setup fields that decide which others exist (read first)."""
    task = TASKS[task_id]
    out = [
        Field("optimizer", form.key("optimizer"), options=tuple(OPTIMIZERS.names())),
        Field("schedule", form.key("schedule"), options=tuple(SCHEDULES.names())),
        Field("clipping", form.key("clip"), options=(form.CLIP_NONE, *CLIP_MODES.names())),
    ]
    heads = task.heads if task.multi_output else (None,)
    for h in heads:
        head = h or task.heads[0]
        suffix = (h.name,) if h else ()
        dot = f".{h.name}" if h else ""
        losses = tuple(e.name for e in LOSSES if head.kind in e.tags)
        metrics = tuple(e.name for e in METRICS if head.kind in e.tags)
        out.append(Field(f"loss{dot}", form.key("loss", *suffix), options=losses))
        out.append(Field(f"metrics{dot}", form.key("metrics", *suffix), options=metrics, many=True))
    for spec in CALLBACKS:
        out.append(Field(f"callbacks.{spec.name}", form.key("cb", spec.name), Param("bool", False)))
    return out


def value_fields(task_id: str, state: Mapping) -> list[Field]:
    """The setup fields that hold values, given the selectors in ``state``."""
    task = TASKS[task_id]
    out = [Field(k, form.key(k), p) for k, p in SCALARS.items()]
    for k, p in DATA_PARAMS.items():
        if k != "n_val" or task.has_own_validation:
            out.append(Field(f"data.{k}", form.key("data", k), p))
    out += [Field(f"model.{k}", form.key("model", k), p) for k, p in MODEL_PARAMS.items()]
    out += _entry_fields(
        "optimizer", form.key("optimizer"), OPTIMIZERS, state.get(form.key("optimizer"))
    )
    out += _entry_fields(
        "schedule", form.key("schedule"), SCHEDULES, state.get(form.key("schedule"))
    )
    if state.get(form.key("clip"), form.CLIP_NONE) != form.CLIP_NONE:
        out.append(Field("clipping.value", form.key("clip", "value"), form.CLIP_THRESHOLD))
    heads = task.heads if task.multi_output else (None,)
    for h in heads:
        suffix = (h.name,) if h else ()
        dot = f".{h.name}" if h else ""
        base = form.key("loss", *suffix)
        out += _entry_fields(f"loss{dot}", base, LOSSES, state.get(base))
        if h:
            out.append(
                Field(
                    f"loss_weights.{h.name}",
                    form.key("loss_weights", h.name),
                    Param("float", 1.0, lo=0, hi=1e3),
                )
            )
        mbase = form.key("metrics", *suffix)
        for m in state.get(mbase) or []:
            out += _entry_fields(f"metrics{dot}.{m}", mbase, METRICS, m)
    for spec in CALLBACKS:
        if state.get(form.key("cb", spec.name)):
            out += [
                Field(f"callbacks.{spec.name}.{p}", form.key("cb", spec.name, p), param)
                for p, param in spec.params.items()
            ]
    return out


def _plan_fields(task_id: str, state: Mapping) -> list[Field]:
    """Mode, the compared knob and its values, the preset, the seed repeats."""
    mode = state.get("setup_mode") or MODES[0]
    out = [Field("repeats", "setup_repeats", launch.REPEATS)]
    if mode == MODES[1]:
        knob_id = state.get("setup_knob") or "optimizer"
        out.append(Field("knob", "setup_knob", options=tuple(launch.knob_ids(task_id))))
        if knob_id == "optimizer":
            out.append(Field("usual_lr", "setup_usual_lr", Param("bool", True)))
    if mode == MODES[2]:
        out.append(Field("preset", "setup_preset", options=tuple(PRESETS)))
    return out


def _read_values(state: dict, text: str, notices: list[Notice]) -> None:
    """``values=0.01,0.1`` for the compared knob: numbers as typed, choices by label."""
    knob_id = state.get("setup_knob") or "optimizer"
    if knob_id not in plan.KNOBS:
        return
    knob = plan.KNOBS[knob_id]
    text = str(text)
    if len(text) > MAX_TEXT:
        notices.append(Notice("values", f"is too long (at most {MAX_TEXT} characters)"))
        return
    items = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if knob.kind == "choice":
        options = plan.choice_options(knob_id, form.config_from_state(state))
        bad = [t for t in items if t not in options]
        if bad:
            known = ", ".join(options)
            notices.append(
                Notice("values", clip(f"{show(bad[0])} is not one of: {known}; dropped", 300))
            )
        state[launch.values_key(knob_id)] = [t for t in items if t in options]
        return
    good = []
    for t in items:
        try:
            plan.parse_value(t, knob.kind)
            good.append(t)
        except ValueError as e:
            notices.append(Notice("values", f"{show(t)}: {e}; dropped"))
    state[launch.values_key(knob_id)] = good


def search_fields() -> list[Field]:
    """The Search form's knobs (``search.learning_rate=true``, ``search.learning_rate.low``),
    sampler, pruner, budget, metric and seed; texts as typed (the engine's parser names
    what is wrong under its field, as for typing)."""
    from engine.search.pruners import PRUNERS
    from engine.search.samplers import SAMPLERS
    from ui import search_knobs as sf

    text = Param("str", "")
    out = []
    for k in sf.knobs():
        out.append(Field(f"search.{k.path}", sf.key(k.path, "on"), Param("bool", k.on)))
        parts = ("values",) if k.kind == "choice" else ("low", "high")
        out += [Field(f"search.{k.path}.{part}", sf.key(k.path, part), text) for part in parts]
    return [
        *out,
        Field("search.sampler", f"{sf.K}sampler", options=tuple(SAMPLERS)),
        Field("search.pruner", f"{sf.K}pruner", options=("none", *PRUNERS.names())),
        *(Field(f"search.{n}", f"{sf.K}{n}", text) for n in ("trials", "metric", "seed")),
    ]


def search_defaults() -> dict:
    from ui import search_knobs as sf

    state: dict = {}
    sf.ensure_state(state)
    return state


def setup_state(query: Mapping[str, str]) -> tuple[dict, list[Notice]]:
    """The Set up runs state ``query`` describes — the task's defaults with the query's
    fields on top — and a notice for each parameter it could not use. Never raises."""
    q = {str(k): str(v) for k, v in query.items()}
    notices: list[Notice] = []
    task_id = q.pop("task", form.DEFAULT_TASK).strip()
    if task_id not in TASKS:
        notices.append(
            Notice(
                "task",
                f"no task {show(task_id)} (known: {', '.join(TASKS)}); showing {form.DEFAULT_TASK}",
            )
        )
        task_id = form.DEFAULT_TASK
    state = task_defaults(task_id)
    mode = q.pop("mode", None)
    state["setup_mode"] = MODES[0]
    if mode is not None:
        if mode.strip() in MODE_SLUGS:
            state["setup_mode"] = MODE_SLUGS[mode.strip()]
        else:
            notices.append(
                Notice(
                    "mode",
                    f"must be one of: {', '.join(MODE_SLUGS)}, got {show(mode)}; showing one run",
                )
            )
    state["setup_repeats"] = 1
    apply(selector_fields(task_id), q, state, notices)
    apply(value_fields(task_id, state), q, state, notices)
    apply(_plan_fields(task_id, state), q, state, notices)
    if state["setup_mode"] == search_mode():
        state.update(search_defaults())
        apply(search_fields(), q, state, notices)
    if "values" in q:
        text = q.pop("values")
        if state["setup_mode"] == MODES[1]:
            _read_values(state, text, notices)
    unknown(q, notices, "Set up runs")
    return state, notices


def search_mode() -> str:
    return MODE_SLUGS["search"]


def setup_values(key: str) -> bool:
    """The session keys an address of Set up runs clears first: every knob's values (the
    address names one knob's at most; the others go back to their suggestions)."""
    return key.startswith("setup_values_")


def setup_query(state: Mapping) -> dict[str, str]:
    """The address of the Set up runs form in ``state``: its task, its mode, and only
    the fields that differ from the task's defaults."""
    task_id = state.get(form.key("task"))
    task_id = task_id if task_id in TASKS else form.DEFAULT_TASK
    defaults = task_defaults(task_id)
    q = {"task": task_id}
    mode = state.get("setup_mode") or MODES[0]
    if mode != MODES[0] and mode in _SLUG_OF:
        q["mode"] = _SLUG_OF[mode]
    q.update(written(selector_fields(task_id), state, defaults))
    q.update(written(value_fields(task_id, state), state, defaults))
    plan_defaults = {"setup_repeats": 1, "setup_knob": "optimizer", "setup_usual_lr": True}
    if PRESETS:
        plan_defaults["setup_preset"] = next(iter(PRESETS))
    q.update(written(_plan_fields(task_id, state), state, plan_defaults))
    if mode == search_mode():
        q.update(written(search_fields(), state, search_defaults()))
    if mode == MODES[1]:
        knob_id = state.get("setup_knob") or "optimizer"
        values = state.get(launch.values_key(knob_id))
        if values is not None and knob_id in plan.KNOBS:
            q["values"] = ",".join(str(v) for v in values)
    return q


# ----------------------------------------------------------------------------- other pages

X_AXES = ("epoch", "update", "examples", "wall")  # ui.charts.X_AXES (a test keeps them equal)
COMPARE_TABS = ("Loss", "Metrics", "Learning rate", "Gradients", "Speed")
DETAIL_TABS = ("Curves", "Predictions", "Config & export", "Name, tags, notes")

COMPARE_VIEW = (
    Field("tab", "compare_tabs", Param("str", "Loss", choices=COMPARE_TABS)),
    Field("x", "compare_x", Param("str", "epoch", choices=X_AXES)),
    Field("smooth", "compare_smooth", Param("float", 0.0, lo=0.0, hi=0.99)),
    Field("log", "compare_log", Param("bool", False)),
    Field("group", "compare_group", Param("bool", True)),
)
DETAIL_VIEW = (Field("tab", "detail_tabs", Param("str", "Curves", choices=DETAIL_TABS)),)


def view_state(
    fields: Iterable[Field], query: Mapping[str, str], page: str, known: Iterable[str] = ()
) -> tuple[dict, list[Notice]]:
    """The state a page's view fields get from ``query`` (parameters in ``known`` are
    other code's: the selection's ``sweep``, ``runs``, ``run``, ``study``)."""
    q = {str(k): str(v) for k, v in query.items() if k not in set(known)}
    state: dict = {}
    notices: list[Notice] = []
    apply(fields, q, state, notices)
    unknown(q, notices, page)
    return state, notices


def view_query(
    fields: Iterable[Field], state: Mapping, defaults: Mapping | None = None
) -> dict[str, str]:
    return written(fields, state, defaults or {})


# ----------------------------------------------------------------------------- explorers

# The loss explorer's sliders: (low, high, step) of the part worth exploring.
LOSS_SPANS = {
    "delta": (0.1, 5.0, 0.1),
    "under_weight": (1.0, 5.0, 0.5),
    "span": (1.0, 10.0, 0.5),
    "gamma": (0.0, 5.0, 0.25),
    "alpha": (0.0, 1.0, 0.05),
}
LOSS_TABS = ("Regression: loss vs error", "Classification: loss vs probability")


def _span(name: str, default: float) -> Param:
    lo, hi, _ = LOSS_SPANS[name]
    return Param("float", default, lo=lo, hi=hi)


def loss_fields() -> tuple[list[Field], dict[str, Any]]:
    """The loss explorer's controls and their defaults (the registry's for parameters)."""
    from ui import loss_curves as lc

    def default(loss: str, p: str) -> float:
        return float(LOSSES.entry(loss).params[p].default)

    fields = [
        Field("tab", "lx_tab", Param("str", LOSS_TABS[0], choices=LOSS_TABS)),
        Field("reg", "lx_reg", options=lc.REGRESSION, many=True),
        Field("delta", "lx_delta", _span("delta", default("huber", "delta"))),
        Field(
            "under_weight",
            "lx_under_weight",
            _span("under_weight", default("weighted_mse", "under_weight")),
        ),
        Field("span", "lx_span", _span("span", 3.0)),
        Field("cls", "lx_cls", options=lc.CLASSIFICATION, many=True),
        Field("gamma", "lx_gamma", _span("gamma", default("focal", "gamma"))),
        Field("alpha", "lx_alpha", _span("alpha", default("focal", "alpha"))),
        Field("targets", "lx_targets", options=("1", "0"), many=True),
        Field("wrt", "lx_wrt", Param("str", lc.WRT[0], choices=lc.WRT)),
    ]
    defaults = {
        "lx_reg": ["mse", "mae", "huber"],
        "lx_cls": list(lc.CLASSIFICATION),
        "lx_targets": ["1", "0"],
    }
    return fields, defaults


def losses_state(query: Mapping[str, str]) -> tuple[dict, list[Notice]]:
    fields, _ = loss_fields()
    return view_state(fields, query, "Loss explorer")


def losses_query(state: Mapping) -> dict[str, str]:
    fields, defaults = loss_fields()
    return view_query(fields, state, defaults)


def _schedule_fields(n: int, i: int, name: Any) -> list[Field]:
    """Curve ``n`` (1-based in the address, ``s1.decay_steps``) kept under id ``i``."""
    return [
        Field(f"s{n}.lr", f"sx{i}-lr", SCALARS["learning_rate"]),
        *_entry_fields(f"s{n}", f"sx{i}", SCHEDULES, name),
    ]


def _shared_fields() -> list[Field]:
    from ui import schedule_explorer as sx

    return [Field(k, f"sx_{k}", p) for k, p in sx.SHARED.items()] + [
        Field("log", "sx_log", Param("bool", False))
    ]


def schedules_state(query: Mapping[str, str]) -> tuple[dict, list[Notice]]:
    """The schedule explorer a query describes: ``schedules=`` the curves in order,
    ``s2.decay_steps=`` one curve's knob, the shared data and batch, ``log``."""
    from ui import schedule_explorer as sx

    q = {str(k): str(v) for k, v in query.items()}
    notices: list[Notice] = []
    names = list(sx.START)
    if "schedules" in q:
        text = q.pop("schedules")
        items = [t.strip() for t in text[:MAX_TEXT].split(",") if t.strip()]
        bad = [t for t in items if t not in SCHEDULES]
        if bad:
            notices.append(
                Notice(
                    "schedules",
                    clip(
                        f"no schedule {show(bad[0])} (known: "
                        f"{', '.join(SCHEDULES.names())}); dropped",
                        300,
                    ),
                )
            )
        items = [t for t in items if t in SCHEDULES]
        if len(items) > sx.MAX_SCHEDULES:
            notices.append(Notice("schedules", f"at most {sx.MAX_SCHEDULES}; kept the first"))
        if items:
            names = items[: sx.MAX_SCHEDULES]
    state: dict = {"sx_ids": list(range(len(names))), "sx_next": len(names)}
    for i, name in enumerate(names):
        state[f"sx{i}"] = name
        state[f"sx{i}-lr"] = SCALARS["learning_rate"].default
        apply(_schedule_fields(i + 1, i, name), q, state, notices)
    for f in _shared_fields():
        state[f.key] = f.default
    apply(_shared_fields(), q, state, notices)
    unknown(q, notices, "Schedule explorer")
    return state, notices


def schedules_query(state: Mapping) -> dict[str, str]:
    from ui import schedule_explorer as sx

    ids = [i for i in state.get("sx_ids") or [] if f"sx{i}" in state]
    names = [state[f"sx{i}"] for i in ids]
    q = {} if names == list(sx.START) else {"schedules": ",".join(map(str, names))}
    for n, i in enumerate(ids, start=1):
        q.update(written(_schedule_fields(n, i, state[f"sx{i}"]), state, {}))
    q.update(written(_shared_fields(), state, {}))
    return q


def schedule_keys(key: str) -> bool:
    """The session keys an address of the schedule explorer replaces (its curves')."""
    return key.startswith("sx") and key[2:3].isdigit()
