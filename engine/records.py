"""What a training run reports, and the one seam through which it reports it.

``engine.training.train`` and ``engine.training.stacked`` call a ``RunSink`` as
they go; the run store's writer, the CLI's JSON printer and the tests are all
sinks. The records are ``TypedDict``s: typed for the reader and the checker, plain
JSON-able dicts at run time, so they cross process (and Ray node) boundaries
unchanged. Both training paths build them in one place,
``engine.training.outcome``. Non-finite floats (NaN/inf) are kept as floats: a
diverged curve must survive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NotRequired, Protocol, TypedDict

Status = Literal["completed", "diverged", "failed", "cancelled"]


# ---- steps and updates: the one conversion ----------------------------------------
# The store, the records and the diagnosis number updates from 1 ("the 23rd update");
# a schedule, the preview and every per-update chart axis count steps the way Keras's
# ``optimizer.iterations`` does: step 0 is the first update, so "the LR at step 1000"
# is the rate the 1001st update applies. Convert only through these two.

STEP_AXIS_TITLE = "Step (Keras optimizer.iterations)"


def step_of(update: int) -> int:
    """The Keras step (``optimizer.iterations`` as the update applies) of a 1-based update."""
    return update - 1


def update_of(step: int) -> int:
    """The 1-based update number of a Keras step."""
    return step + 1


class RunInfo(TypedDict):
    """``on_start``: the run's shape and where it trains."""

    steps_per_epoch: int
    updates_per_epoch: int
    total_updates: int
    n_train: int
    n_val: int
    n_test: int
    device: str
    precision: str
    logged: list[str]
    params: int
    baseline_loss: Any
    layer_dtypes: dict[str, str]
    global_dtype_policy: str
    warm_graph: bool  # this process had traced the graph already (no tracing epoch)
    stack_size: NotRequired[int]  # runs trained together in one stacked graph


class EpochRecord(TypedDict):
    """``on_epoch``: one finished epoch."""

    epoch: int  # 1-based
    values: dict[str, float]  # loss, val_loss, metrics as Keras logs them
    lr: float  # the rate the next update applies
    epoch_time: float  # seconds
    examples_per_sec: float
    wall_time: float  # seconds since training started
    updates: int  # updates done so far


class UpdateColumns(TypedDict):
    """``on_updates``: one execution's updates, column-wise."""

    update: list[int]  # 1-based (``step_of`` gives Keras's step)
    epoch: list[int]
    loss: list[float]
    lr: list[float]
    grad_norm: list[float]
    clipped: list[bool]


class RunResult(TypedDict):
    """``on_finish``: how the run ended and what it scored."""

    status: Status
    error: str | None
    diverged_at: int | None  # the update whose loss was first non-finite
    epochs_run: int
    best_epoch: int | None
    test: dict[str, float]
    predictions: dict[str, Any]
    duration: NotRequired[float]  # seconds; set when the result is reported
    plateau_cuts: NotRequired[list[int]]  # epochs the plateau callback cut the rate at
    traceback: NotRequired[str | None]  # a failed run's


class TrainResult(RunResult):
    """What ``train()`` and each member of ``train_stacked`` return: the result plus
    everything the sink saw."""

    info: RunInfo
    history: dict[str, list[float]]
    steps: dict[str, list]
    config: dict[str, Any]


class RunSink(Protocol):
    def on_start(self, info: RunInfo) -> None: ...

    def on_epoch(self, record: EpochRecord) -> None: ...

    def on_updates(self, columns: UpdateColumns) -> None: ...

    def on_finish(self, result: RunResult) -> None: ...


class MemorySink:
    """Collects everything in memory (the CLI's ``--json`` and tests use it)."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.epochs: list[EpochRecord] = []
        self.updates: dict[str, list] = {}
        self.result: dict[str, Any] = {}

    def on_start(self, info):
        self.info = info

    def on_epoch(self, record):
        self.epochs.append(record)

    def on_updates(self, columns):
        for k, v in columns.items():
            self.updates.setdefault(k, []).extend(v)

    def on_finish(self, result):
        self.result = result

    def history(self) -> dict[str, list[float]]:
        """Keras-style ``name -> per-epoch list`` (plus ``lr``, ``epoch_time``)."""
        out: dict[str, list[float]] = {}
        for rec in self.epochs:
            for k, v in rec["values"].items():
                out.setdefault(k, []).append(v)
            for k in ("lr", "epoch_time", "examples_per_sec"):
                out.setdefault(k, []).append(rec[k])
        return out


RecordKind = Literal["start", "epoch", "updates", "finish"]


class ForwardingSink:
    """A sink that hands every record on as ``forward(kind, payload)``: into a Ray
    actor's buffer, to several sinks, to a store writer with rules of its own.
    ``replay`` is its inverse, so a record forwarded across a process boundary lands
    in the same sink method it left."""

    def __init__(self, forward: Callable[[RecordKind, Any], None]) -> None:
        self.forward = forward

    def on_start(self, info: RunInfo) -> None:
        self.forward("start", info)

    def on_epoch(self, record: EpochRecord) -> None:
        self.forward("epoch", record)

    def on_updates(self, columns: UpdateColumns) -> None:
        self.forward("updates", columns)

    def on_finish(self, result: RunResult) -> None:
        self.forward("finish", result)


def replay(sink: RunSink, kind: RecordKind, payload: Any) -> None:
    """Hand a forwarded record to ``sink``'s method for its kind."""
    method = {
        "start": sink.on_start,
        "epoch": sink.on_epoch,
        "updates": sink.on_updates,
        "finish": sink.on_finish,
    }[kind]
    method(payload)


class MultiSink(ForwardingSink):
    """Fans records out to several sinks, in order."""

    def __init__(self, *sinks: RunSink | None) -> None:
        self.sinks = [s for s in sinks if s is not None]
        super().__init__(self._fan_out)

    def _fan_out(self, kind: RecordKind, payload: Any) -> None:
        for s in self.sinks:
            replay(s, kind, payload)
