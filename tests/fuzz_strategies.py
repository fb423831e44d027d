"""Hypothesis strategies for configs, sweeps and import texts, drawn from the registries.

Two kinds of values, mixed in every suite: *plausible* ones (a registry's names and
each Param's own range, so many configs validate and the contract "validates ⇒
trains" is exercised) and *wild* ones (any JSON value a person can type: huge and
5,000-digit integers, deep nesting, 200 KB strings, empty keys, NaN, wrong types),
so the validator's error path is exercised too.

``FUZZ_CASES`` (env ``HPLAB_FUZZ_CASES``, default 1,000) is the number of generated
cases per parsing suite; hypothesis runs derandomised with its database off, so a CI
run is reproducible and leaves no files behind. ``fuzz_outcomes`` is the harness every
parsing suite runs its cases in: each case is accepted or refused by field, never a
crash, and the suite checks how often each path was taken.
"""

from __future__ import annotations

import collections
import math
import os
import sys
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import SCALARS, TOP_LEVEL
from engine.errors import MAX_FIELD, MAX_MESSAGE, ConfigError
from engine.spec.callbacks import CALLBACKS
from engine.spec.clipping import CLIP_MODES
from engine.spec.losses import LOSSES
from engine.spec.metrics import METRICS
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.params import Param
from engine.spec.precision import PRECISIONS
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import DATA_PARAMS, MODEL_PARAMS, TASKS

FUZZ_CASES = int(os.environ.get("HPLAB_FUZZ_CASES", "1000"))


def fuzz_settings(max_examples: int = FUZZ_CASES) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def check_refusal(e: ConfigError) -> None:
    """Every problem names a field, and no message floods the screen."""
    assert e.problems
    for field, message in e.problems:
        assert field and field.strip(), e.problems
        assert message and len(message) <= MAX_MESSAGE and len(field) <= MAX_FIELD
    assert len(str(e)) <= len(e.problems) * (MAX_FIELD + MAX_MESSAGE + 3)


REFUSED = "field-named error"


def fuzz_outcomes(
    name: str, strategy: st.SearchStrategy, accept: Callable[[object], str | None]
) -> collections.Counter:
    """Run ``accept`` on ``FUZZ_CASES`` cases drawn from ``strategy`` and count outcomes.

    ``accept`` returns an outcome (``None`` = ``"accepted"``); a ``ConfigError`` it
    raises must pass ``check_refusal`` and counts as ``REFUSED``. Any other exception
    fails the suite with hypothesis' minimal case.
    """
    outcomes: collections.Counter = collections.Counter()

    @fuzz_settings()
    @given(strategy)
    def check(case):
        try:
            outcome = accept(case)
        except ConfigError as e:
            check_refusal(e)
            outcome = REFUSED
        outcomes[outcome or "accepted"] += 1

    check()
    print(f"\n{name} fuzz: {dict(outcomes)}, traceback: 0")
    assert sum(outcomes.values()) >= FUZZ_CASES
    return outcomes


def _deep(depth: int, leaf) -> object:
    out = leaf
    for _ in range(depth):
        out = [out]
    return out


def _huge_int() -> int:
    old = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(0)
        return int("1" + "0" * 5000)
    finally:
        sys.set_int_max_str_digits(old)


# Values a person types that break naive code; built once (some are big).
NASTY = [
    10**400,  # a float field given 1 followed by 400 zeros
    -(10**400),
    _huge_int(),  # 5,001 digits: even repr() refuses it
    2**63,
    -1,
    0,
    1,
    1.5,
    1e308,
    -0.0,
    math.nan,
    math.inf,
    -math.inf,
    True,
    False,
    None,
    "",
    " ",
    "x" * 200_000,  # echoed back in full before
    "\x00\n",
    "![px](http://127.0.0.1:9/x.png)",
    "<script>alert(1)</script>",
    "1e9",
    [],
    {},
    {"": 1},
    _deep(600, True),  # RecursionError in copy.deepcopy before
    _deep(995, 1),
    [1] * 100,
    {"name": None},
    {"name": 5},
]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
wild = st.one_of(st.sampled_from(NASTY), json_value)


def param_value(p: Param, *, plausible: bool = True):
    """A value for ``p``: mostly inside its range, sometimes just outside or wild."""
    if p.kind == "bool":
        good = st.booleans()
    elif p.kind == "str":
        good = st.sampled_from(p.choices) if p.choices else st.text(max_size=12)
    elif p.kind in ("float", "int"):
        lo = p.lo if p.lo is not None else -1e3
        hi = p.hi if p.hi is not None else 1e3
        if p.kind == "int":
            good = st.integers(math.ceil(lo), math.floor(hi))
            edge = st.sampled_from([int(lo) - 1, int(hi) + 1, float(int(lo)), 2.5])
        else:
            good = st.floats(lo, hi, exclude_min=p.lo_open, exclude_max=p.hi_open)
            if p.log and lo >= 0 and hi > 0:
                good = st.one_of(
                    good,
                    st.floats(-8, math.log10(hi))
                    .map(lambda e: 10.0**e)
                    .filter(lambda v: lo < v <= hi if p.lo_open else lo <= v <= hi),
                )
            edge = st.sampled_from([lo, hi, lo - 1, hi * 2, math.nan])
        good = st.one_of(good, edge) if not plausible else good
    else:  # floats / ints lists
        item = Param("float" if p.kind == "floats" else "int", lo=p.lo, hi=p.hi)
        good = st.lists(param_value(item), max_size=6)
    if p.nullable:
        good = st.one_of(st.none(), good)
    return good if plausible else st.one_of(good, wild)


def params_object(params: dict[str, Param], *, plausible: bool):
    """A subset of ``params`` with values; sometimes an unknown key."""
    names = sorted(params)
    sub = (
        st.lists(st.sampled_from(names), unique=True, max_size=len(names)) if names else st.just([])
    )

    @st.composite
    def build(draw):
        out = {k: draw(param_value(params[k], plausible=plausible)) for k in draw(sub)}
        if not plausible and draw(st.integers(0, 9)) == 0:
            out[draw(st.sampled_from(["", "nope", "x" * 300]))] = draw(wild)
        return out

    return build()


def registry_ident(registry, *, plausible: bool, names=None):
    """A name, or ``{"name": ..., **params}``, from a registry (or a bad identifier)."""
    names = names or registry.names()

    @st.composite
    def build(draw):
        name = draw(st.sampled_from(names))
        if draw(st.booleans()):
            return name
        return {
            "name": name,
            **draw(params_object(registry.entry(name).params, plausible=plausible)),
        }

    good = build()
    return good if plausible else st.one_of(good, wild, st.sampled_from(["nope", {"x": 1}]))


def _loss_for(task, *, plausible: bool):
    def for_head(head):
        names = [e.name for e in LOSSES if head.kind in e.tags] if plausible else None
        return registry_ident(LOSSES, plausible=plausible, names=names)

    if task.multi_output:
        return st.fixed_dictionaries({h.name: for_head(h) for h in task.heads})
    return for_head(task.heads[0])


def _metrics_for(task, *, plausible: bool):
    def for_head(head):
        names = [e.name for e in METRICS if head.kind in e.tags] if plausible else None
        return (
            st.lists(registry_ident(METRICS, plausible=plausible, names=names), max_size=3)
            if plausible
            else st.one_of(st.lists(registry_ident(METRICS, plausible=False), max_size=3), wild)
        )

    if task.multi_output:
        return st.fixed_dictionaries({h.name: for_head(h) for h in task.heads})
    return for_head(task.heads[0])


def _callbacks(*, plausible: bool):
    return st.dictionaries(
        st.sampled_from(sorted(CALLBACKS.names()))
        if plausible
        else st.one_of(st.sampled_from(sorted(CALLBACKS.names())), st.text(max_size=5)),
        st.one_of(
            st.just({"monitor": "loss"}),
            params_object(CALLBACKS.entry("early_stopping").params, plausible=plausible).map(
                lambda d: {**d, "monitor": d.get("monitor", "loss")} if plausible else d
            ),
            st.sampled_from([True, None, False]),
        ),
        max_size=2,
    )


def _clipping(*, plausible: bool):
    good = st.one_of(
        st.none(),
        st.builds(
            lambda mode, v: {mode: v},
            st.sampled_from(sorted(CLIP_MODES.names())),
            st.floats(1e-3, 10),
        ),
    )
    return good if plausible else st.one_of(good, wild)


@st.composite
def config(draw, *, plausible: bool | None = None, tiny: bool = False):  # noqa: C901 (a config's shape)
    """A raw config. ``plausible=None`` mixes both kinds per field; ``tiny`` keeps data,
    models and epochs small enough to train one epoch in a second or two."""
    mix = plausible is None
    task_id = draw(st.sampled_from(sorted(TASKS)))
    task = TASKS[task_id]

    def ok() -> bool:
        return plausible if not mix else draw(st.integers(0, 5)) > 0

    raw: dict = {}
    if mix and draw(st.integers(0, 40)) == 0:
        raw["task"] = draw(wild)
    else:
        raw["task"] = task_id
    if tiny:
        raw["data"] = {
            "n_train": draw(st.integers(8, 64)),
            "n_test": draw(st.integers(1, 16)),
            **({"n_val": draw(st.integers(1, 16))} if task.has_own_validation else {}),
        }
        raw["epochs"] = 1
        raw["batch_size"] = draw(st.integers(1, 64))
        raw["model"] = {"width": draw(st.sampled_from([0.05, 0.25, 0.5, 1.0]))}
    keys = draw(st.lists(st.sampled_from(TOP_LEVEL[1:]), unique=True, max_size=8))
    for key in keys:
        if tiny and key in ("epochs",):
            continue
        good = ok()
        if key == "data":
            params = {
                k: v for k, v in DATA_PARAMS.items() if k != "n_val" or task.has_own_validation
            }
            if tiny:
                params = {k: params[k] for k in ("noise", "learnable") if k in params}
            raw["data"] = {**raw.get("data", {}), **draw(params_object(params, plausible=good))}
        elif key == "model":
            params = dict(MODEL_PARAMS)
            if tiny:
                params.pop("width")
                params["depth"] = Param("int", lo=0, hi=2, nullable=True)
            raw["model"] = {**raw.get("model", {}), **draw(params_object(params, plausible=good))}
        elif key == "loss":
            raw[key] = draw(_loss_for(task, plausible=good))
        elif key == "metrics":
            raw[key] = draw(_metrics_for(task, plausible=good))
        elif key == "loss_weights":
            if task.multi_output:
                w = st.floats(0, 10)
                raw[key] = draw(st.fixed_dictionaries({}, optional={h.name: w for h in task.heads}))
            elif not good:
                raw[key] = draw(wild)
        elif key == "optimizer":
            raw[key] = draw(registry_ident(OPTIMIZERS, plausible=good))
        elif key == "schedule":
            raw[key] = draw(st.one_of(st.none(), registry_ident(SCHEDULES, plausible=good)))
        elif key == "clipping":
            raw[key] = draw(_clipping(plausible=good))
        elif key == "callbacks":
            raw[key] = draw(_callbacks(plausible=good))
        elif key == "precision":
            raw[key] = draw(st.sampled_from(sorted(PRECISIONS))) if good else draw(wild)
        elif key in SCALARS:
            p = SCALARS[key]
            if tiny and key == "batch_size":
                continue
            if tiny and key == "jit_compile":
                # XLA compiles for minutes on a CPU: sampled rarely, still covered
                raw[key] = draw(st.integers(0, 30)) == 0
                continue
            if tiny and key == "grad_accum_steps":
                raw[key] = draw(st.integers(1, 4))
                continue
            raw[key] = draw(param_value(p, plausible=good))
    if mix and draw(st.integers(0, 20)) == 0:
        raw[draw(st.sampled_from(["", "nope", "Task", "x" * 1000]))] = draw(wild)
    return raw


GOOD_GRID = {
    "learning_rate": [0.001, 0.01],
    "optimizer.name": ["sgd", "adam"],
    "seed": [1, 2],
    "model.width": [0.5, 1.0],
    "batch_size": [8, 16],
}


@st.composite
def sweep(draw):
    """A raw sweep file: a base config, a grid of dotted paths, repeats, name, tags."""
    plausible = draw(st.booleans())  # half the sweeps are ones a person means to run
    out: dict = {"base": draw(config(plausible=True) if plausible else config())}
    if plausible:
        paths = draw(st.lists(st.sampled_from(sorted(GOOD_GRID)), unique=True, max_size=2))
        out["grid"] = {p: GOOD_GRID[p] for p in paths}
        if draw(st.booleans()):
            out["repeats"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            out["name"] = draw(st.text(max_size=30))
        return out
    paths = st.sampled_from(
        [
            "learning_rate",
            "batch_size",
            "optimizer.name",
            "optimizer.momentum",
            "schedule.name",
            "schedule.decay_steps",
            "model.width",
            "data.noise",
            "seed",
            "epochs",
            "clipping.clipnorm",
            "task",
            "nope.x",
            "",
            "optimizer..name",
            "learning_rate.x",
        ]
    )
    out["grid"] = draw(
        st.one_of(
            st.dictionaries(
                paths,
                st.one_of(st.lists(st.one_of(json_leaf, st.sampled_from(NASTY)), max_size=3), wild),
                max_size=3,
            ),
            wild,
        )
    )
    if draw(st.booleans()):
        out["repeats"] = draw(st.one_of(st.integers(0, 4), wild))
    if draw(st.booleans()):
        out["name"] = draw(st.one_of(st.text(max_size=30), wild))
    if draw(st.booleans()):
        out["tags"] = draw(st.one_of(st.lists(st.text(max_size=12), max_size=3), wild))
    if draw(st.integers(0, 10)) == 0:
        out[draw(st.sampled_from(["", "nope"]))] = draw(wild)
    if draw(st.integers(0, 10)) == 0:
        return draw(wild)
    return out
