"""The TensorFlow half of the stacked fast path: M same-shape MLPs as one graph.

Member m's Dense kernel is slice m of an ``[M, in, out]`` variable (bias
``[M, 1, out]``), so one batched matmul runs every member. The loss that is
differentiated is the sum of the members' mean losses: its gradient with respect to
slice m is exactly member m's own gradient, and no member's value enters another's
(norms, clipping, metrics and records are all computed per slice), so a NaN stays
where it started. Keras's own optimizers do the updates — their update rules are
elementwise, and a schedule returning an ``[M, 1, 1]`` rate broadcasts over the
slices — so each member follows the same arithmetic as ``train()``'s. Members with
different optimizers live in separate variable groups (one Keras optimizer each)
that are concatenated for the forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from engine.keras_parts.build import build_loss, build_metric
from engine.keras_parts.schedules import Constant, UpdateSchedule
from engine.spec.clipping import CLIP_MODES

EVAL_ACTIVATIONS = 1 << 22


@dataclass(frozen=True)
class StackedEpoch:
    """One stacked epoch, per member along the last axis."""

    values: dict[str, np.ndarray]  # loss, metrics, val_*: [M] each
    updates: dict[str, np.ndarray]  # loss, lr, grad_norm, clipped: [updates, M] each
    train_seconds: float  # the training part of the epoch (validation excluded)
    lr_next: np.ndarray  # [M]: the rate each member's next update applies


@dataclass(frozen=True)
class StackedEval:
    """A held-out set's scores ([M] each) and predictions ([n, M, units])."""

    values: dict[str, np.ndarray]
    predictions: np.ndarray


class StackedSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Each member's own ``UpdateSchedule`` at the shared iteration, shaped [M, 1, 1].

    The members' ``UpdateSchedule`` objects are the ones ``train()`` would build, so
    their ``factor`` variables are what reduce-LR-on-plateau cuts, and the epoch
    record's "lr" is read from them exactly as the plain path reads its own.
    """

    def __init__(self, members: list[UpdateSchedule]):
        self.members = list(members)
        if any(s.accum_steps != 1 for s in self.members):
            raise ValueError("stacked runs take no gradient accumulation")
        bases = [s.base for s in self.members]
        # Constant(lr)(step) is float32(lr) + 0: a constant vector is the same value
        # without M schedule evaluations per update.
        self._peaks = (
            np.array([b.learning_rate for b in bases], np.float32)
            if all(isinstance(b, Constant) for b in bases)
            else None
        )

    def rates(self, step):
        if self._peaks is not None:
            base = tf.constant(self._peaks)
        else:
            update = ops.cast(step, "int64")
            base = tf.stack([ops.cast(s.base(update), "float32") for s in self.members])
        factors = tf.stack([s.factor.value for s in self.members])
        return base * factors

    def __call__(self, step):
        return tf.reshape(self.rates(step), [-1, 1, 1])

    def get_config(self):  # pragma: no cover - never serialised
        raise NotImplementedError("a stacked schedule lives only inside one stacked run")


@dataclass
class Group:
    """Members sharing one optimizer configuration: one variable per layer, one optimizer."""

    size: int
    kernels: list
    biases: list
    optimizer: object
    schedule: StackedSchedule

    @property
    def variables(self):
        return [v for pair in zip(self.kernels, self.biases, strict=True) for v in pair]


class Objective:
    """The run's loss and metrics evaluated per member on stacked predictions.

    Mean-type metrics (mae, accuracy, top-k, ...) are one vectorised per-sample
    function over all members; stateful ones (AUC, precision, recall, F1) are one
    Keras metric object per member, so each keeps its own confusion counts.
    """

    def __init__(self, loss_spec, metric_specs, kind: str, onehot: bool, n_members: int):
        self.n = n_members
        self.loss = build_loss(loss_spec)
        self.loss.reduction = "none"  # per-sample values; the per-member mean is ours
        self._build = lambda spec: build_metric(spec, kind, onehot)
        self.mean_metrics = []  # (name, metric) used for its per-sample function only
        self._stateful = []  # (name, spec)
        for spec in metric_specs:
            m = self._build(spec)
            if isinstance(m, keras.metrics.MeanMetricWrapper):
                self.mean_metrics.append((m.name, m))
            else:
                self._stateful.append((m.name, spec))

    def metric(self, name: str):
        """A fresh metric object of this run by its logged name, or None."""
        specs = [spec for n, spec in self._stateful if n == name]
        if specs:
            return self._build(specs[0])
        return dict(self.mean_metrics).get(name)

    @property
    def stateful_names(self) -> list[str]:
        return [name for name, _ in self._stateful]

    def stateful_set(self) -> list[list]:
        """Fresh per-member objects for the stateful metrics: [metric][member]."""
        return [[self._build(spec) for _ in range(self.n)] for _, spec in self._stateful]

    def member_losses(self, y, p):
        """Mean loss per member ([M]) of flattened predictions ``p`` ([M·b, units])."""
        values = tf.reshape(tf.cast(self.loss(y, p), tf.float32), [self.n, -1])
        return tf.reduce_sum(values, axis=1) / tf.cast(tf.shape(values)[1], tf.float32)

    def mean_metric_sums(self, y, p) -> list:
        """Per member, the sum over the batch of each mean-type metric's per-sample value."""
        out = []
        for _, metric in self.mean_metrics:
            # MeanMetricWrapper keeps its per-sample function in ``_fn``: calling it
            # on all members at once is what its update_state does for one.
            values = tf.cast(metric._fn(y, p, **metric._fn_kwargs), tf.float32)
            if values.shape.rank > 1:
                values = tf.reduce_mean(values, axis=list(range(1, values.shape.rank)))
            out.append(tf.reduce_sum(tf.reshape(values, [self.n, -1]), axis=1))
        return out


def _sq_norms(grads):
    """Per member, the squared L2 norm of each gradient slice: [vars, M]."""
    return tf.stack([tf.reduce_sum(tf.square(g), axis=[1, 2]) for g in grads])


def clip_per_member(grads, mode: str | None, value: float | None):
    """Keras's clipping applied to each member's slices alone.

    Returns (clipped grads, global norm before clipping [M], clipped flag [M]). The
    optimizer's own clipnorm / global_clipnorm would take norms across members.
    """
    sq = _sq_norms(grads)
    norm = tf.sqrt(tf.reduce_sum(sq, axis=0))
    if mode is None:
        return grads, norm, tf.zeros_like(norm, dtype=tf.bool)
    c = tf.constant(value, tf.float32)
    grads, clipped = CLIP_MODES.entry(mode).graph().per_member(grads, sq, norm, c)
    return grads, norm, clipped


class StackedMLP:
    """Variables, forward pass, one-call-per-epoch training and evaluation of a stack."""

    def __init__(
        self,
        weights: list[np.ndarray],
        output_activation: str | None,
        groups: list[tuple[int, object, StackedSchedule]],
        objective: Objective,
        l2: float,
        clipping: dict | None,
        batch_size: int,
        data: dict,
    ):
        """``weights``: the template model's [kernel, bias, ...] (every member starts
        from them); ``groups``: (size, built-less optimizer, schedule) in stack order;
        ``data``: "x", "y" and optionally "xv", "yv" as NumPy arrays."""
        self.n = sum(size for size, _, _ in groups)
        self.n_layers = len(weights) // 2
        self.out_act = keras.activations.get(output_activation) if output_activation else None
        self.objective = objective
        self.l2 = float(l2)
        self.clip_mode, self.clip_value = next(iter((clipping or {None: None}).items()))
        self.bs = int(batch_size)
        self.groups: list[Group] = []
        for g, (size, optimizer, schedule) in enumerate(groups):
            kernels, biases = [], []
            for layer in range(self.n_layers):
                k, b = weights[2 * layer], weights[2 * layer + 1]
                kernels.append(
                    keras.Variable(
                        np.broadcast_to(k, (size, *k.shape)).copy(), name=f"g{g}_k{layer}"
                    )
                )
                biases.append(
                    keras.Variable(
                        np.broadcast_to(b, (size, 1, *b.shape)).copy(), name=f"g{g}_b{layer}"
                    )
                )
            group = Group(size, kernels, biases, optimizer, schedule)
            optimizer.build(group.variables)
            self.groups.append(group)
        self.x = tf.constant(data["x"])
        self.y = tf.constant(data["y"])
        self.has_val = data.get("xv") is not None
        if self.has_val:
            self.xv = tf.constant(data["xv"])
            self.yv = tf.constant(data["yv"])
        self.steps = -(-len(data["x"]) // self.bs)
        self._train_metrics = objective.stateful_set()
        self._eval_metrics = objective.stateful_set()
        # Evaluation batches only change float summation order, so they are as large
        # as memory comfortably allows (a few million activations), never below Keras's.
        widest = max(w.shape[-1] for w in weights)
        self.eval_chunk = max(self.bs, EVAL_ACTIVATIONS // (self.n * widest))
        self._epoch_fn = tf.function(self._epoch, reduce_retracing=True)

    # ---- the graph ---------------------------------------------------------------

    def _layer(self, i: int):
        if len(self.groups) == 1:
            return self.groups[0].kernels[i], self.groups[0].biases[i]
        return (
            tf.concat([g.kernels[i] for g in self.groups], axis=0),
            tf.concat([g.biases[i] for g in self.groups], axis=0),
        )

    def _forward(self, xb):
        """Flattened predictions [M·b, units], activated as Keras's output layer does
        (its sigmoid/softmax tags the logits that cross-entropy then uses)."""
        h = xb[None]
        for i in range(self.n_layers):
            k, b = self._layer(i)
            h = tf.matmul(h, k) + b
            if i < self.n_layers - 1:
                h = tf.nn.relu(h)
        p = tf.reshape(h, [-1, h.shape[-1]])
        return self.out_act(p) if self.out_act is not None else p

    def _tile(self, yb):
        """Targets repeated for every member, matching the flattened predictions."""
        shape = tf.shape(yb)
        tiled = tf.broadcast_to(yb[None], tf.concat([[self.n], shape], 0))
        return tf.reshape(tiled, tf.concat([[-1], shape[1:]], 0))

    def _reg(self):
        """L2 on hidden kernels per member, as the template's regularizers compute it."""
        if not self.l2:
            return 0.0
        total = 0.0
        for i in range(self.n_layers - 1):
            k, _ = self._layer(i)
            total = total + self.l2 * tf.reduce_sum(tf.square(k), axis=[1, 2])
        return total

    def _batch(self, xb, yb):
        y = self._tile(yb)
        p = self._forward(xb)
        return self.objective.member_losses(y, p) + self._reg(), y, p

    def _accumulate(self, acc, metrics, loss, y, p, yb, b):
        """Add one batch to (loss total, count, mean-metric totals) and stateful metrics."""
        loss_total, count, sums = acc
        bf = tf.cast(b, tf.float32)
        sums = [s + v for s, v in zip(sums, self.objective.mean_metric_sums(y, p), strict=True)]
        p3 = tf.reshape(p, [self.n, b, -1])
        for per_member in metrics:
            for m, metric in enumerate(per_member):
                metric.update_state(yb, p3[m])
        return loss_total + loss * bf, count + bf, sums

    def _empty_acc(self):
        zeros = tf.zeros([self.n])
        return zeros, tf.constant(0.0), [zeros for _ in self.objective.mean_metrics]

    def _results(self, acc, metrics, prefix=""):
        loss_total, count, sums = acc
        out = {f"{prefix}loss": tf.math.divide_no_nan(loss_total, count)}
        for (name, _), s in zip(self.objective.mean_metrics, sums, strict=True):
            out[f"{prefix}{name}"] = tf.math.divide_no_nan(s, count)
        for name, per_member in zip(self.objective.stateful_names, metrics, strict=True):
            out[f"{prefix}{name}"] = tf.stack([tf.cast(m.result(), tf.float32) for m in per_member])
        return out

    def _reset(self, metrics):
        for per_member in metrics:
            for m in per_member:
                m.reset_state()

    def _step(self, xb, yb):
        variables = [v for g in self.groups for v in g.variables]
        with tf.GradientTape() as tape:
            loss, y, p = self._batch(xb, yb)
            total = tf.reduce_sum(loss)
        grads = tape.gradient(total, variables)
        lrs, norms, flags, at = [], [], [], 0
        for g in self.groups:
            n_vars = len(g.variables)
            gg, norm, clipped = clip_per_member(
                grads[at : at + n_vars], self.clip_mode, self.clip_value
            )
            at += n_vars
            lrs.append(g.schedule.rates(g.optimizer.iterations))
            g.optimizer.apply(gg, g.variables)
            norms.append(norm)
            flags.append(clipped)
        return loss, y, p, tf.concat(lrs, 0), tf.concat(norms, 0), tf.concat(flags, 0)

    def _epoch(self, order):
        """One epoch in one call: every batch in ``order``, then validation."""
        start = tf.timestamp()
        n = tf.shape(order)[0]
        self._reset(self._train_metrics)
        acc = self._empty_acc()
        records = [
            tf.TensorArray(tf.float32, size=self.steps),
            tf.TensorArray(tf.float32, size=self.steps),
            tf.TensorArray(tf.float32, size=self.steps),
            tf.TensorArray(tf.bool, size=self.steps),
        ]
        for s in tf.range(self.steps):
            idx = order[s * self.bs : tf.minimum((s + 1) * self.bs, n)]
            xb, yb = tf.gather(self.x, idx), tf.gather(self.y, idx)
            loss, y, p, lr, norm, clipped = self._step(xb, yb)
            acc = self._accumulate(acc, self._train_metrics, loss, y, p, yb, tf.shape(idx)[0])
            records = [
                r.write(s, v) for r, v in zip(records, (loss, lr, norm, clipped), strict=True)
            ]
        values = self._results(acc, self._train_metrics)
        train_seconds = tf.timestamp() - start
        # The rate the next update will apply: the epoch record's "lr".
        lr_next = tf.concat([g.schedule.rates(g.optimizer.iterations) for g in self.groups], 0)
        updates = {
            k: r.stack()
            for k, r in zip(("loss", "lr", "grad_norm", "clipped"), records, strict=True)
        }
        if self.has_val:
            acc, _ = self._eval_pass(self.xv, self.yv, predict=False)
            values.update(self._results(acc, self._eval_metrics, prefix="val_"))
        return {
            "values": values,
            "updates": updates,
            "train_seconds": train_seconds,
            "lr_next": lr_next,
        }

    def _eval_pass(self, x, y, predict: bool):
        """Loss and metrics over (x, y) in order, optionally with the predictions."""
        self._reset(self._eval_metrics)
        acc = self._empty_acc()
        n = tf.shape(x)[0]
        c = self.eval_chunk
        chunks = (n + c - 1) // c
        preds = tf.TensorArray(tf.float32, size=chunks, infer_shape=False)
        for i in tf.range(chunks):
            xb = x[i * c : tf.minimum((i + 1) * c, n)]
            yb = y[i * c : tf.minimum((i + 1) * c, n)]
            loss, yt, p = self._batch(xb, yb)
            acc = self._accumulate(acc, self._eval_metrics, loss, yt, p, yb, tf.shape(xb)[0])
            if predict:
                preds = preds.write(
                    i, tf.transpose(tf.reshape(p, [self.n, tf.shape(xb)[0], -1]), [1, 0, 2])
                )
        return acc, (preds.concat() if predict else None)

    def _evaluate_with_predictions(self, x, y):
        acc, preds = self._eval_pass(x, y, predict=True)
        return self._results(acc, self._eval_metrics), preds

    # ---- Python side ---------------------------------------------------------------

    def run_epoch(self, order: np.ndarray) -> StackedEpoch:
        """Train one epoch in a single graph call; everything comes back as NumPy."""
        out = tf.nest.map_structure(
            lambda t: t.numpy(), self._epoch_fn(tf.constant(order, tf.int32))
        )
        return StackedEpoch(
            values=out["values"],
            updates=out["updates"],
            train_seconds=float(out["train_seconds"]),
            lr_next=out["lr_next"],
        )

    def evaluate(self, x, y) -> StackedEval:
        """Loss, metrics ([M] each) and predictions ([n, M, units]) on a held-out set.

        Run eagerly: it runs once per stack, over a few large batches, which costs far
        less than tracing it (tenths of a second)."""
        values, preds = self._evaluate_with_predictions(tf.constant(x), tf.constant(y))
        return StackedEval(
            values={k: v.numpy() for k, v in values.items()}, predictions=preds.numpy()
        )

    def _where(self, pos: int) -> tuple[Group, int]:
        for g in self.groups:
            if pos < g.size:
                return g, pos
            pos -= g.size
        raise IndexError(pos)

    def member_weights(self, pos: int) -> list[np.ndarray]:
        """Member ``pos``'s weights in the template model's layout (kernel, bias, ...)."""
        g, i = self._where(pos)
        out = []
        for k, b in zip(g.kernels, g.biases, strict=True):
            out += [k.numpy()[i], b.numpy()[i, 0]]
        return out

    def set_member_weights(self, pos: int, weights: list[np.ndarray]) -> None:
        g, i = self._where(pos)
        for layer, (k, b) in enumerate(zip(g.kernels, g.biases, strict=True)):
            kv, bv = k.numpy(), b.numpy()
            kv[i] = weights[2 * layer]
            bv[i, 0] = weights[2 * layer + 1]
            k.assign(kv)
            b.assign(bv)
