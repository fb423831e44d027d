"""A run as a standalone Keras script: ``export_script(config) -> str``.

A person who wants to take a run out of HP Lab (to read it, change it, run it on a
GPU box) gets plain Keras code that imports only ``keras``, ``numpy`` and the
standard library. The engine's data generator (``engine/data.py``) and Keras parts
(``engine/keras_parts/{models,schedules,losses,metrics}.py``) have no engine imports
precisely so that they can be copied verbatim: the script cannot drift from the
engine, and the tests check that it reproduces the engine's losses.

The rest is generated as literal Python from the validated config, never as an
embedded blob the script interprets. Config values only ever enter the script as
``repr()`` of checked numbers, booleans and identifier-like strings (``_lit``), so a
config cannot inject code. Sources are read as text, not imported: exporting must
stay cheap for the dashboard and the CLI (no TensorFlow import).

What keeps the script's numbers identical to the engine's (tested to rtol 1e-4,
measured equal to the last bit on CPU):

* ``keras.utils.set_random_seed(seed)`` right before the data and the model, as
  ``runtime.isolate`` does: weight initialisers draw their seeds from Python's
  ``random`` at construction, so nothing may consume it in between.
* One ``fit`` over a generator of every epoch's batches (``steps_per_epoch`` set),
  mirroring ``pipeline.train_dataset``. A ``fit`` per epoch would give the same
  batches but ``EarlyStopping`` resets its patience in ``on_train_begin``, so it
  would never stop.
* ``validation_batch_size`` = ``batch_size`` as in the engine (with a generator Keras
  would default to 32), so validation values, and the callbacks that watch them,
  agree too. ``steps_per_execution`` = batches per epoch only copies the engine's
  speed: 1 gives the same losses (measured).

Needs Keras on its TensorFlow backend for the identical numbers; other backends run
the same script with different round-off.
"""

from __future__ import annotations

import ast
import json
import math
import re
import textwrap
from pathlib import Path
from typing import Any

from engine.config import shape_of, validate
from engine.spec.callbacks import CALLBACKS, plateau_args
from engine.spec.losses import loss_call
from engine.spec.metrics import metric_call
from engine.spec.optimizers import optimizer_call
from engine.spec.params import Symbol
from engine.spec.precision import loss_scaled
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import TASKS, Task

ENGINE_DIR = Path(__file__).resolve().parent
LINE = 100
# What the generated script may import: anything else (an engine module, TensorFlow)
# means an embedded source changed and would no longer run standalone.
ALLOWED_IMPORTS = {"keras", "numpy", "math", "os"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


# ---- safe literals and call formatting ------------------------------------------------


def _lit(value: Any) -> str:
    """``repr`` of a checked config value; refuses anything that could carry code."""
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot export non-finite number {value!r}")
        return repr(value)
    if isinstance(value, str):
        if not _WORD.fullmatch(value) or len(value) > 64:
            raise ValueError(f"cannot export string {value!r}: not an identifier")
        return json.dumps(value)  # double quotes, as ruff-format writes them
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"cannot export value of type {type(value).__name__}")


def _nest(text: str, indent: int) -> str:
    """Shift the continuation lines of a multi-line expression to a deeper block."""
    return text.replace("\n", "\n" + " " * indent)


def _fits(col: int, text: str) -> bool:
    return "\n" not in text and col + len(text) <= LINE


def _seq(items: list[str], col: int = 0, brackets: str = "[]") -> str:
    """A list (or dict body) on one line when it fits at column ``col``, else one item
    per line with a trailing comma (which ruff format then keeps exploded)."""
    one = brackets[0] + ", ".join(items) + brackets[1]
    if _fits(col, one):
        return one
    return brackets[0] + "\n" + "".join(f"    {_nest(i, 4)},\n" for i in items) + brackets[1]


def _call(func: str, args=(), kwargs: dict[str, str] | None = None, col: int = 0) -> str:
    """``func(args, k=v)``; ``col`` is where the call starts on its line. Output is
    relative to indentation 0: nest it with ``_nest`` inside a deeper block."""
    parts = list(args) + [f"{k}={v}" for k, v in (kwargs or {}).items()]
    return func + _seq(parts, col + len(func), "()")


def _kw(params: dict[str, Any]) -> dict[str, str]:
    return {k: _lit(v) for k, v in params.items() if k != "name"}


# ---- embedded engine sources ----------------------------------------------------------


def _read(rel: str) -> tuple[str, ast.Module]:
    text = (ENGINE_DIR / rel).read_text(encoding="utf-8")
    return text, ast.parse(text)


def _as_comment(text: str) -> str:
    return "\n".join(("# " + ln).rstrip() for ln in text.strip().splitlines())


def _module_body(rel: str) -> str:
    """A whole module minus its docstring and imports (the script imports at the top);
    the docstring becomes a comment because it explains the code that follows."""
    text, tree = _read(rel)
    lines = text.splitlines()
    end = 0
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not (is_doc or isinstance(node, ast.Import | ast.ImportFrom)):
            break
        end = node.end_lineno
    code = "\n".join(lines[end:]).strip("\n")
    doc = ast.get_docstring(tree)
    header = f"# ---- engine/{rel}, verbatim " + "-" * max(4, LINE - 25 - len(rel))
    return header + "\n" + (_as_comment(doc) + "\n\n\n" if doc else "\n") + code


def _definitions(rel: str, names: list[str], why: str | None = None) -> str:
    """Top-level classes/functions of a module, decorators included, under a comment:
    ``why``, else the module's docstring."""
    text, tree = _read(rel)
    lines = text.splitlines()
    found = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef)}
    out = []
    for name in names:
        node = found[name]
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        out.append("\n".join(lines[start - 1 : node.end_lineno]))
    header = f"# ---- from engine/{rel}, verbatim " + "-" * max(4, LINE - 30 - len(rel))
    note = _as_comment(why or ast.get_docstring(tree) or "")
    return header + "\n" + (note + "\n\n\n" if note else "") + "\n\n\n".join(out)


# ---- pieces generated from the config -------------------------------------------------


def _custom(target: str) -> tuple[str, str] | None:
    """``(module file, class)`` for an engine class, None for a Keras one."""
    if not target.startswith("engine."):
        return None
    mod, _, cls = target.partition(":")
    return mod.removeprefix("engine.").replace(".", "/") + ".py", cls


def _class_expr(target: str) -> str:
    custom = _custom(target)
    return custom[1] if custom else target


def schedule_expression(cfg: dict) -> str:
    """The base schedule (update number → rate) as source: the registry entry's Keras
    call, the very description ``build.build_base_schedule`` instantiates, so the rates
    are identical. Keyword arguments throughout: the reader sees what each number means."""
    spec = cfg["schedule"] or {"name": "constant"}
    call = SCHEDULES.entry(spec["name"]).keras_call(spec)
    kw = {k: v.name if isinstance(v, Symbol) else _lit(v) for k, v in call.kwargs.items()}
    return _call(_class_expr(call.target), [], kw, col=16)


def schedule_classes(cfg: dict) -> list[str]:
    """HP Lab's own schedule class the config's schedule needs, if any."""
    spec = cfg["schedule"] or {"name": "constant"}
    custom = _custom(SCHEDULES.entry(spec["name"]).target)
    return [custom[1]] if custom else []


def _onehot(cfg: dict, head: str) -> bool:
    multi = TASKS[cfg["task"]].multi_output
    loss = cfg["loss"][head] if multi else cfg["loss"]
    return loss["name"] == "categorical_crossentropy"


def _loss_expr(spec: dict, needs: set) -> str:
    """The loss's Keras call, the one ``build.build_loss`` instantiates."""
    call = loss_call(spec)
    if _custom(call.target):
        needs.add(call.target)
    kw = {k: _lit(v) for k, v in call.kwargs.items()}
    return _call(_class_expr(call.target), [], kw, col=len("    loss="))


def _metric_expr(spec: dict, kind: str, onehot: bool, needs: set) -> str:
    """The metric's Keras call, the one ``build.build_metric`` instantiates."""
    call = metric_call(spec, kind, onehot)
    if _custom(call.target):
        needs.add(call.target)
    kw = {k: _lit(v) for k, v in call.kwargs.items()}
    return _call(_class_expr(call.target), [], kw, col=8)


def _compile_args(cfg: dict, task: Task, needs: set) -> dict[str, str]:
    """``loss``/``loss_weights``/``metrics`` sources, mirroring ``build.build_compile_args``.

    Laid out for a multi-line ``model.compile(...)``, whose arguments sit at column 4.
    """
    if task.multi_output:
        loss = [f"{_lit(h.name)}: {_loss_expr(cfg['loss'][h.name], needs)}" for h in task.heads]
        metrics = []
        for h in task.heads:
            items = [
                _metric_expr(m, h.kind, _onehot(cfg, h.name), needs) for m in cfg["metrics"][h.name]
            ]
            key = f"{_lit(h.name)}: "
            metrics.append(key + _seq(items, col=8 + len(key)))
        return {
            "loss": _seq(loss, col=9, brackets="{}"),
            "loss_weights": _lit(dict(cfg["loss_weights"])),
            "metrics": _seq(metrics, col=12, brackets="{}"),
        }
    head = task.heads[0]
    items = [_metric_expr(m, head.kind, _onehot(cfg, "output"), needs) for m in cfg["metrics"]]
    return {"loss": _loss_expr(cfg["loss"], needs), "metrics": _seq(items, col=12)}


def _config_json(cfg: dict) -> str:
    """The config as JSON, one top-level key per line (indented further only where a
    line would run too long). ``json.dumps`` escapes newlines, so no value can end
    the comment it is shown in."""
    rows = []
    for key, value in cfg.items():
        row = f"  {json.dumps(key)}: {json.dumps(value)}"
        if len(row) > LINE - 4:
            row = f"  {json.dumps(key)}: " + json.dumps(value, indent=2).replace("\n", "\n  ")
        rows.append(row)
    return "{\n" + ",\n".join(rows) + "\n}"


def _header(cfg: dict) -> str:
    config = _config_json(cfg)
    return "\n".join(
        [
            "# HP Lab: one training run as a standalone Keras script.",
            "#",
            "# Generated by `python -m engine export-script CONFIG.json` (or the dashboard's",
            '# "Export script") from this config, shown normalised: every default filled in.',
            "#",
            _as_comment(config),
            "#",
            "# Run it with `python this_file.py`: it needs only keras (3.x) and numpy. With",
            "# Keras on its TensorFlow backend on a CPU it reproduces HP Lab's run exactly:",
            "# same data, initial weights, batch order and updates. The data generator and",
            "# the model builder are HP Lab's own code, copied verbatim; everything after",
            '# "The run" is plain Keras.',
        ]
    )


def _imports(uses_checkpoint: bool) -> str:
    std = ["import math"] + (["import os"] if uses_checkpoint else [])
    return "\n".join([*std, "", "import keras", "import numpy as np", "from keras import ops"])


def _embedded(cfg: dict, needs: set[str]) -> list[str]:
    parts = [_module_body("data.py"), _module_body("keras_parts/models.py")]
    classes = [*schedule_classes(cfg), "UpdateSchedule"]
    parts.append(_definitions("keras_parts/schedules.py", classes))
    by_file: dict[str, list[str]] = {}
    for target in sorted(needs):
        rel, cls = _custom(target)
        by_file.setdefault(rel, []).append(cls)
    for rel, names in by_file.items():
        parts.append(_definitions(rel, names))
    if "reduce_lr_on_plateau" in cfg["callbacks"]:
        why = (
            "Keras's own ReduceLROnPlateau refuses to touch a learning-rate schedule; HP Lab's "
            "cuts\nUpdateSchedule's plateau factor instead, so it composes with any schedule."
        )
        names = ["_better", "ReduceLROnPlateau"]
        parts.append(_definitions("training/callbacks.py", names, why))
    return parts


def _section(title: str, why: str = "") -> str:
    head = f"# ---- {title} "
    return head + "-" * (LINE - len(head)) + ("\n" + _as_comment(why) if why else "")


def export_script(config: dict) -> str:
    """The standalone script for a config (validated here: raises ConfigError)."""
    cfg = validate(config)
    task = TASKS[cfg["task"]]
    shape = shape_of(cfg)
    d, m = cfg["data"], cfg["model"]
    has_val = shape.n_val > 0
    k = cfg["grad_accum_steps"]
    cbs = cfg["callbacks"]
    needs: set[str] = set()
    compile_args = _compile_args(cfg, task, needs)
    run: list[str] = []

    # -- seed
    run.append(
        _section(
            "The run",
            "One seed drives everything. Reset Keras's global state and seed Python, NumPy "
            "and\nTensorFlow exactly as HP Lab does before each run: weight initialisers "
            "draw their\nseeds from Python's `random` when they are built, so this comes "
            "before the model.",
        )
    )
    run.append(
        "\n".join(
            [
                f"SEED = {_lit(cfg['seed'])}",
                f"EPOCHS = {_lit(cfg['epochs'])}",
                f"BATCH_SIZE = {_lit(cfg['batch_size'])}",
                f"LEARNING_RATE = {_lit(cfg['learning_rate'])}",
                "",
                "keras.backend.clear_session()",
                'keras.config.set_dtype_policy("float32")',
                "keras.utils.set_random_seed(SEED)",
            ]
        )
    )

    # -- data
    split = cfg["validation_split"] or 0.0
    why = textwrap.fill(task.description, LINE - 2, break_on_hyphens=False)
    if split:
        why += f"\nThe last {split:.0%} of the training examples are held out for validation."
    run.append(_section("Data", why))
    val_target = "(x_val, y_val)" if has_val else "_"
    prefix = f"(x_train, y_train), {val_target}, (x_test, y_test) = "
    call = _call(
        "make_data",
        [_lit(task.id), "SEED"],
        {
            "n_train": _lit(d["n_train"]),
            "n_val": _lit(d["n_val"]),
            "n_test": _lit(d["n_test"]),
            "noise": _lit(d["noise"]),
            "learnable": _lit(d["learnable"]),
            "validation_split": _lit(split),
        },
        col=len(prefix),
    )
    lines = [prefix + call]
    splits = ["y_train", "y_val", "y_test"] if has_val else ["y_train", "y_test"]
    for h in task.heads:
        if _onehot(cfg, h.name):
            lines.append(
                "# categorical_crossentropy wants one-hot targets; the task's labels are "
                "class numbers."
            )
            for s in splits:
                ref = f"{s}[{_lit(h.name)}]" if task.multi_output else s
                lines.append(f"{ref} = np.eye({h.n_classes}, dtype=np.float32)[{ref}.reshape(-1)]")
    run.append("\n".join(lines))
    take_y = (
        "{name: y[rows] for name, y in y_train.items()}" if task.multi_output else "y_train[rows]"
    )
    run.append(
        f'''N_TRAIN = len(x_train)
STEPS_PER_EPOCH = math.ceil(N_TRAIN / BATCH_SIZE)


def training_batches():
    """Every epoch's batches, in HP Lab's order: epoch e visits the rows in
    epoch_order(SEED, N_TRAIN, e) in consecutive slices, the last one partial."""
    for epoch in range(EPOCHS):
        order = epoch_order(SEED, N_TRAIN, epoch)
        for start in range(0, N_TRAIN, BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            yield x_train[rows], {take_y}'''
    )

    # -- model
    heads = [(h.name, h.units, h.activation) for h in task.heads]
    why = (
        "The document's layers with HP Lab's width/depth/dropout overrides applied, then "
        "built\nby build_model (functional API, precision set per layer, float32 outputs)."
    )
    run.append(_section("Model", why))
    hl = _call(
        "hidden_layers",
        [_seq([_lit(spec) for spec in task.layers], col=4)],
        {"width": _lit(m["width"]), "depth": _lit(m["depth"]), "dropout": _lit(m["dropout"])},
        col=len("layers = "),
    )
    bm = _call(
        "build_model",
        [_lit(task.input_shape), "layers", _lit(heads)],
        {"precision": _lit(cfg["precision"]), "l2": _lit(m["l2"])},
        col=len("model = "),
    )
    run.append(f"layers = {hl}\nmodel = {bm}\nmodel.summary()")

    # -- schedule and optimizer
    why = (
        "Learning rate and optimizer. UpdateSchedule evaluates the schedule at the "
        "optimizer\nupdate number (Keras counts micro-batches under gradient accumulation) "
        "and carries\nthe factor that reduce-LR-on-plateau cuts."
    )
    run.append(_section("Optimizer", why))
    call = optimizer_call(cfg)
    opt_kw = {k: v.name if isinstance(v, Symbol) else _lit(v) for k, v in call.kwargs.items()}
    opt_lines = [
        f"base_schedule = {schedule_expression(cfg)}",
        f"schedule = UpdateSchedule(base_schedule, accum_steps={_lit(k)})",
        "optimizer = " + _call(call.target, [], opt_kw, col=12),
    ]
    if k > 1:
        opt_lines.insert(
            2,
            f"# Gradients of {k} batches are averaged into one update "
            f"(effective batch {k} × BATCH_SIZE).",
        )
    if loss_scaled(cfg["precision"]):
        opt_lines += [
            "# float16 gradients underflow: scale the loss up, and the gradients back down.",
            "optimizer = keras.optimizers.LossScaleOptimizer(optimizer)",
        ]
    run.append("\n".join(opt_lines))

    # -- compile
    why = (
        "One graph call per epoch (steps_per_execution), as HP Lab runs it: faster for "
        "small\nmodels and the same updates."
    )
    run.append(_section("Compile", why))
    ckw = {"optimizer": "optimizer", **compile_args, "steps_per_execution": "STEPS_PER_EPOCH"}
    ckw["jit_compile"] = _lit(cfg["jit_compile"])
    if cfg["run_eagerly"]:
        ckw["run_eagerly"] = "True"
    run.append(_call("model.compile", [], ckw))

    # -- callbacks
    run.append(_section("Callbacks", "HP Lab stops a run whose loss turns NaN."))
    cb_lines = []
    cb_items = ["keras.callbacks.TerminateOnNaN()"]
    if "reduce_lr_on_plateau" in cbs:
        args = ["schedule", "LEARNING_RATE"]
        kw = _kw(plateau_args(cbs))  # "auto" written out: the script has no registry
        cb_lines.append("plateau = " + _call("ReduceLROnPlateau", args, kw, col=10))
        cb_items.append("plateau")
    if "early_stopping" in cbs:
        kw = _kw(cbs["early_stopping"])
        cb_items.append(_call(_class_expr(CALLBACKS.entry("early_stopping").target), [], kw, col=4))
    if "checkpoint" in cbs:
        kw = {"save_weights_only": "True", **_kw(cbs["checkpoint"])}
        target = _class_expr(CALLBACKS.entry("checkpoint").target)
        cb_items.append(_call(target, ["CHECKPOINT"], kw, col=4))
    if "checkpoint" in cbs:
        cb_lines.insert(0, 'CHECKPOINT = "best.weights.h5"  # the best epoch\'s weights')
    cb_lines.append("callbacks = " + _seq(cb_items, col=len("callbacks = ")))
    run.append("\n".join(cb_lines))

    # -- fit
    why = (
        "Train: one fit() over every epoch's batches, so EarlyStopping and the History "
        "span\nthe whole run."
    )
    run.append(_section("Fit", why))
    fit_kw = {
        "steps_per_epoch": "STEPS_PER_EPOCH",
        "epochs": "EPOCHS",
        "shuffle": "False",
        "callbacks": "callbacks",
        "verbose": "2",
    }
    if has_val:
        fit_kw["validation_data"] = "(x_val, y_val)"
        fit_kw["validation_batch_size"] = "BATCH_SIZE"
    fit_lines = [
        "history = " + _call("model.fit", ["training_batches()"], fit_kw, col=10),
        "# Machine-readable lines, so the run can be checked against HP Lab's record of it.",
        "print(f\"FIRST_EPOCH_LOSS={history.history['loss'][0]!r}\")",
        "print(f\"EPOCH_LOSSES={[float(v) for v in history.history['loss']]!r}\")",
    ]
    if "reduce_lr_on_plateau" in cbs:
        fit_lines.append('print("learning rate cut after epochs:", plateau.cuts)')
    if "checkpoint" in cbs:
        fit_lines += [
            'if os.path.exists(CHECKPOINT) and math.isfinite(history.history["loss"][-1]):',
            "    model.load_weights(CHECKPOINT)",
        ]
    run.append("\n".join(fit_lines))

    # -- evaluate, predict
    run.append(_section("Evaluate and predict", "On the held-out test set."))
    ev = [
        "results = "
        + _call(
            "model.evaluate",
            ["x_test", "y_test"],
            {"batch_size": "BATCH_SIZE", "verbose": "0", "return_dict": "True"},
            col=len("results = "),
        ),
        "for name, value in results.items():",
        '    print(f"test {name}: {value:.4f}")',
        "",
        "predictions = model.predict(x_test, batch_size=BATCH_SIZE, verbose=0)",
    ]
    for h in task.heads:
        p = f"predictions[{_lit(h.name)}]" if task.multi_output else "predictions"
        t = f"y_test[{_lit(h.name)}]" if task.multi_output else "y_test"
        label = f"{h.name} " if task.multi_output else ""
        if h.kind == "regression":
            p, t = f"np.round({p}[:5].reshape(-1), 3)", f"np.round({t}[:5].reshape(-1), 3)"
        elif h.kind == "binary":
            p, t = f"({p}[:5].reshape(-1) >= 0.5).astype(int)", f"{t}[:5].reshape(-1).astype(int)"
        else:
            p = f"{p}[:5].argmax(axis=-1)"
            t = f"{t}[:5].argmax(axis=-1)" if _onehot(cfg, h.name) else f"{t}[:5].reshape(-1)"
        ev += [f'print("{label}predicted:", {p})', f'print("{label}target:   ", {t})']
    run.append("\n".join(ev))

    # isort wants one blank line between the imports and the comment that follows them
    head = _header(cfg) + "\n\n" + _imports("checkpoint" in cbs) + "\n\n"
    script = head + "\n\n\n".join([*_embedded(cfg, needs), _join_run(run)]).rstrip() + "\n"
    _check_imports(script)
    return script


def _join_run(run: list[str]) -> str:
    """The run reads as one program: one blank line between its parts, two around the
    generator function (as pycodestyle and ruff format want)."""
    text = run[0]
    for chunk in run[1:]:
        after_def = "\ndef " in text.rsplit("\n# ----", 1)[-1]
        text += ("\n\n\n" if after_def else "\n\n") + chunk
    return text


def _check_imports(script: str) -> None:
    """Refuse to hand out a script that would need the engine or import TensorFlow."""
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods = [node.module or ""]
        else:
            continue
        bad = [mod for mod in mods if mod.split(".")[0] not in ALLOWED_IMPORTS]
        if bad:
            raise RuntimeError(f"exported script would import {bad}: an embedded source changed")
