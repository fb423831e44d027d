"""The stacked fast path: several compatible configs trained as one model and one graph.

Short runs are dominated by per-model cold cost (Keras build + ``tf.function``
trace, about 1 s each here), not by arithmetic: 16 small MLPs stacked in one graph
train in about the time of one. ``stack_key`` says which configs can share a stack;
``train_stacked`` trains them and reports each member exactly as ``train()`` would
(same records, same result dict), with the same initial weights, the same batches
and the same per-member arithmetic, so curves agree within float tolerance.

Eligibility is conservative — a member must behave as it would alone:
- single-output tasks whose hidden layers (after ``model`` overrides) are all Dense:
  LSTM, BatchNorm and Dropout layers are out (dropout's random masks would differ
  from the plain path's, BatchNorm's moving statistics are not stacked);
- precision ``float32`` (no loss scaling), ``grad_accum_steps`` 1, ``jit_compile``
  and ``run_eagerly`` off, no ``checkpoint`` callback;
- optimizers whose update rule is elementwise: sgd (momentum, Nesterov), adam,
  adamw, rmsprop, adagrad, nadam, lion. Adafactor is out: it takes norms over
  whole variables, which would mix members;
- the rest of the config (task, data, model, loss, metrics, batch size, epochs,
  clipping, validation split, seed) must be equal.
Members may differ in ``learning_rate``, ``schedule`` (each member's own schedule is
evaluated), ``optimizer`` (name and hyperparameters: members sharing one optimizer
config share one Keras optimizer over their slices) and ``callbacks`` (early
stopping and reduce-LR-on-plateau run per member, as Keras's and the engine's own
callback objects). Clipping is applied per member, never across the stack.

Each member's run info also carries ``stack_size`` (the runs trained in its graph).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.config import shape_of, validate
from engine.data import epoch_order
from engine.records import RunInfo, RunResult, RunSink, TrainResult
from engine.spec.metrics import metric_direction
from engine.spec.tasks import TASKS
from engine.training import runtime
from engine.training.outcome import RunLog

if TYPE_CHECKING:  # the graph half imports TensorFlow: only where a stack trains
    from engine.training.stacked_graph import StackedEpoch, StackedEval

STACKABLE_OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam", "lion")
# Per member: these are evaluated for each member on its own, everything else is shared.
PER_MEMBER_KEYS = ("learning_rate", "optimizer", "schedule", "callbacks")


def _layer_types(task, model: dict) -> set[str]:
    """The hidden layer types after the model overrides, without importing Keras
    (``keras_parts.models.hidden_layers`` gives the same set): ``depth`` repeats
    existing blocks, ``dropout`` replaces or adds Dropout layers."""
    types = {spec["type"] for spec in task.layers}
    if model["dropout"] is not None:
        types.discard("dropout")
        if model["dropout"]:
            types.add("dropout")
    return types


def ineligible_reason(config: dict[str, Any]) -> str | None:
    """Why a config cannot join a stack, or None when it can."""
    cfg = validate(config)
    task = TASKS[cfg["task"]]
    if task.multi_output:
        return "multi-output task"
    other = sorted(_layer_types(task, cfg["model"]) - {"dense"})
    if other:
        return f"{', '.join(other)} layers (only Dense MLPs stack)"
    if cfg["precision"] != "float32":
        return f"precision {cfg['precision']} (only float32 stacks)"
    if cfg["grad_accum_steps"] != 1:
        return "gradient accumulation"
    if cfg["jit_compile"] or cfg["run_eagerly"]:
        return "jit_compile / run_eagerly"
    if cfg["optimizer"]["name"] not in STACKABLE_OPTIMIZERS:
        return f"optimizer {cfg['optimizer']['name']} (not elementwise per member)"
    if "checkpoint" in cfg["callbacks"]:
        return "checkpoint callback"
    return None


def stack_key(config: dict[str, Any]) -> str | None:
    """Configs with equal keys can be trained together by ``train_stacked``; None when
    the config cannot be stacked (see ``ineligible_reason``)."""
    cfg = validate(config)
    if ineligible_reason(cfg) is not None:
        return None
    shared = {k: v for k, v in cfg.items() if k not in PER_MEMBER_KEYS}
    return json.dumps(shared, sort_keys=True)


class _MemberModel:
    """What ``keras.callbacks.EarlyStopping`` needs of a model, for one member: its
    weights come from (and best weights go back to) the member's slices."""

    def __init__(self, member: _Member):
        self.member = member
        self.stop_training = False
        self.metrics: list = []

    def get_weights(self):
        return self.member.stack.member_weights(self.member.pos)

    def set_weights(self, weights):
        self.member.final_weights = [np.array(w) for w in weights]


class _Member:
    """One config's bookkeeping: its ``RunLog`` (as ``train()`` keeps one), its slice
    of the stack and its callbacks."""

    def __init__(
        self, cfg, sink: RunSink | None, should_stop: Callable[[], bool] | None, started: float
    ):
        self.cfg = cfg
        self.log = RunLog(cfg, sink, should_stop, started=started)
        self.stack = None
        self.pos = -1
        self.schedule = None
        self.optimizer = None
        self.plateau = None
        self.early = None
        self.running = True
        self.reported = False  # on_finish sent: the store shows the run as ended
        self.final_weights: list | None = None  # set when it stops before the stack does
        self.result: RunResult | None = None

    def lr_now(self) -> float:
        import keras

        return float(keras.ops.convert_to_numpy(self.schedule(self.optimizer.iterations)))

    def fail(self, exc: BaseException) -> None:
        self.running = False
        self.result = self.log.failed(exc)

    def guarded(self, fn, *args) -> None:
        """Run one member's step; an exception fails this member only (as it would
        fail its run alone), never its stack mates."""
        if self.result is not None:
            return
        try:
            fn(self, *args)
        except Exception as exc:
            self.fail(exc)


def _per_member(value, n: int, what: str) -> list:
    """One per config; None (or one callable, e.g. a worker's shutdown flag) for all."""
    if value is None or callable(value):
        return [value] * n
    value = list(value)
    if len(value) != n:
        raise ValueError(f"{what}: {len(value)} given for {n} configs")
    return value


def train_stacked(
    configs: Sequence[dict[str, Any]],
    sinks: Sequence[RunSink | None] | None = None,
    should_stop: Sequence[Callable[[], bool] | None] | Callable[[], bool] | None = None,
) -> list[TrainResult]:
    """Train configs with one ``stack_key`` together; one ``train()``-shaped result per
    config, in order. Raises ConfigError / ValueError before any work on bad or
    incompatible configs; a failure during training fails the members it reaches."""
    t0 = time.perf_counter()
    cfgs = [validate(c) for c in configs]
    if not cfgs:
        return []
    keys = [stack_key(c) for c in cfgs]
    if keys[0] is None or len(set(keys)) != 1:
        reasons = [ineligible_reason(c) for c in cfgs]
        raise ValueError(f"configs cannot share a stack: {reasons if any(reasons) else keys}")
    n = len(cfgs)
    members = [
        _Member(c, s, f, t0)
        for c, s, f in zip(
            cfgs,
            _per_member(sinks, n, "sinks"),
            _per_member(should_stop, n, "should_stop"),
            strict=True,
        )
    ]

    def report(m: _Member) -> None:
        if m.reported:
            return
        m.reported = True
        try:
            m.log.finish(m.result)
        except Exception as exc:  # one member's broken sink must not lose the others' results
            m.result.update(status="failed", error=f"{type(exc).__name__}: {exc}")

    try:
        _train(members, report)
    except Exception as exc:  # the stack itself failed: every unfinished member did
        for m in members:
            if m.result is None:
                m.fail(exc)
    for m in members:
        report(m)
    return [m.log.returned(m.result) for m in members]


def _build(members: list[_Member]):
    """Data, template model, stacked variables and per-member callbacks, in the plain
    path's order (the template is built right after ``isolate`` as train() builds its
    model, so every member starts from the weights its run alone would have)."""
    import keras

    from engine.keras_parts import build
    from engine.keras_parts.models import build_model, hidden_layers
    from engine.keras_parts.schedules import UpdateSchedule
    from engine.spec.callbacks import plateau_args
    from engine.training.callbacks import ReduceLROnPlateau
    from engine.training.outcome import run_info
    from engine.training.stacked_graph import Objective, StackedMLP, StackedSchedule
    from engine.training.train import load_data

    cfg = members[0].cfg
    device = runtime.configure()
    runtime.isolate(cfg["seed"])
    task = TASKS[cfg["task"]]
    head = task.heads[0]
    shape = shape_of(cfg)
    (x, y), val, test = load_data(cfg)
    m = cfg["model"]
    layers = hidden_layers(task.layers, m["width"], m["depth"], m["dropout"])
    if any(s["type"] != "dense" for s in layers):  # stack_key and hidden_layers disagree
        raise RuntimeError(f"not an MLP: {[s['type'] for s in layers]}")
    template = build_model(
        task.input_shape, layers, [(head.name, head.units, head.activation)], "float32", m["l2"]
    )
    # A stack's graph is always traced for it; stack_size: the runs trained in it.
    info = RunInfo(
        **run_info(cfg, task, shape, template, device, y, val, warm_graph=False),
        stack_size=len(members),
    )

    groups: dict[str, list[_Member]] = {}
    for mem in members:
        groups.setdefault(json.dumps(mem.cfg["optimizer"], sort_keys=True), []).append(mem)
    specs, pos = [], 0
    for group in groups.values():
        for mem in group:
            mem.pos = pos
            mem.schedule = UpdateSchedule(build.build_base_schedule(mem.cfg), accum_steps=1)
            pos += 1
        schedule = StackedSchedule([mem.schedule for mem in group])
        # Clipping is the stack's own, per member: the optimizer's would mix members.
        optimizer = build.build_optimizer({**group[0].cfg, "clipping": None}, schedule)
        for mem in group:
            mem.optimizer = optimizer
        specs.append((len(group), optimizer, schedule))
    objective = Objective(
        cfg["loss"], cfg["metrics"], head.kind, build.onehot_labels(cfg), len(members)
    )
    data = {"x": x, "y": y}
    if val is not None:
        data.update(xv=val[0], yv=val[1])
    stack = StackedMLP(
        template.get_weights(),
        head.activation,
        specs,
        objective,
        m["l2"],
        cfg["clipping"],
        cfg["batch_size"],
        data,
    )
    for mem in members:
        mem.stack = stack
        cbs = mem.cfg["callbacks"]
        if "reduce_lr_on_plateau" in cbs:
            mem.plateau = ReduceLROnPlateau(
                mem.schedule, mem.cfg["learning_rate"], **plateau_args(cbs)
            )
        if "early_stopping" in cbs:
            params = dict(cbs["early_stopping"])
            params["mode"] = _early_stopping_mode(params, objective)
            mem.early = keras.callbacks.EarlyStopping(**params)
            mem.early.set_model(_MemberModel(mem))
    return stack, info, shape, test


def _early_stopping_mode(params: dict, objective) -> str:
    """Keras infers "auto" from the compiled model's metric objects; the members have
    no compiled model, so read the direction their registry entry declares (the one the
    Keras objects carry); a value the run does not log stays "auto" and fails as it
    does in the plain path."""
    if params["mode"] != "auto":
        return params["mode"]
    name = params["monitor"].removeprefix("val_")
    if name == "loss":
        return "min"
    direction = metric_direction(name) if objective.metric(name) is not None else None
    return {"up": "max", "down": "min"}.get(direction, "auto")


def _train(members: list[_Member], report: Callable[[_Member], None]) -> None:
    from engine.training.evaluation import predictions

    stack, info, shape, test = _build(members)
    cfg = members[0].cfg
    for mem in members:
        mem.guarded(lambda m: m.log.start(RunInfo(**info)))
    t_start = time.perf_counter()
    for epoch in range(cfg["epochs"]):
        running = [m for m in members if m.running and m.result is None]
        if not running:
            break
        t_epoch = time.perf_counter()
        out = stack.run_epoch(epoch_order(cfg["seed"], shape.n_train, epoch).astype(np.int32))
        for mem in running:
            mem.guarded(_after_epoch, out, epoch, t_epoch, t_start)
        stopped = [m for m in running if not m.running or m.result is not None]
        if stopped:  # cancelled, diverged or stopped early: ended now, not with the stack
            _close(stack, stopped, test, predictions, report)
    _close(stack, [m for m in members if not m.reported], test, predictions, report)


def _close(stack, done: list[_Member], test, predictions, report) -> None:
    """Test-set results and ``on_finish`` for members whose training is over."""
    for mem in done:
        if mem.early is not None:
            mem.guarded(lambda m: m.early.on_train_end())
    live = [m for m in done if m.result is None]
    for mem in live:
        if mem.log.diverged_at is None and mem.final_weights is not None:
            stack.set_member_weights(mem.pos, mem.final_weights)
    evaluated = None
    if test is not None and any(m.log.diverged_at is None for m in live):
        evaluated = stack.evaluate(*test)
    for mem in live:
        mem.guarded(_finish, evaluated, test, predictions)
    for mem in done:
        report(mem)


def _after_epoch(mem: _Member, out: StackedEpoch, epoch: int, t_epoch: float, t_start: float):
    """``RunRecorder.on_train_batch_end`` then the callbacks' ``on_epoch_end``, for one
    member of the epoch the stack just ran."""
    p, log, upd = mem.pos, mem.log, out.updates
    log.updates(
        epoch + 1, upd["loss"][:, p], upd["lr"][:, p], upd["grad_norm"][:, p], upd["clipped"][:, p]
    )
    log.poll_stop()
    # Keras logs each side's names sorted, train side first.
    train_side = sorted(k for k in out.values if not k.startswith("val_"))
    names = train_side + sorted(set(out.values) - set(train_side))
    values = {k: float(out.values[k][p]) for k in names}
    if mem.plateau is not None:
        mem.plateau.on_epoch_end(epoch, values)
    if mem.early is not None:
        mem.early.on_epoch_end(epoch, values)
    now = time.perf_counter()
    log.epoch(
        epoch + 1,
        values,
        # A plateau cut made just now shows in the member's schedule, not in lr_next.
        mem.lr_now() if mem.plateau is not None else float(out.lr_next[p]),
        epoch_time=now - t_epoch,
        train_seconds=out.train_seconds,
        wall_time=now - t_start,
    )
    stopped = mem.early is not None and mem.early.model.stop_training
    if log.poll_stop() or stopped:
        mem.running = False
        if log.diverged_at is None:
            mem.final_weights = mem.stack.member_weights(p)


def _finish(mem: _Member, evaluated: StackedEval | None, test, predictions) -> None:
    test_metrics, preds = {}, {}
    if mem.log.evaluates_test and evaluated is not None:
        p = mem.pos
        test_metrics = {k: float(evaluated.values[k][p]) for k in sorted(evaluated.values)}
        preds = predictions(TASKS[mem.cfg["task"]], mem.cfg, test[1], evaluated.predictions[:, p])
    mem.result = mem.log.result(
        test=test_metrics,
        predictions=preds,
        plateau_cuts=mem.plateau.cuts if mem.plateau else [],
    )
