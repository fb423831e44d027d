"""A Keras model whose train step also records, per optimizer update, the loss,
the learning rate actually applied and the global gradient norm before clipping.

Values are written into fixed-size variables inside the graph, so the fast path
(one ``tf.function`` call per epoch via ``steps_per_execution``) is kept; a
callback reads and resets them after each call.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from engine.spec.clipping import CLIP_MODES


class UpdateRecorder:
    """Buffers for the updates of one execution (held outside Keras tracking)."""

    def __init__(self, capacity: int, accum_steps: int, clipping: dict | None):
        self.capacity = capacity
        self.accum_steps = accum_steps
        self.clip_mode, self.clip_value = next(iter((clipping or {None: None}).items()))
        self.pos = tf.Variable(0, dtype=tf.int32, trainable=False)
        self.loss_sum = tf.Variable(0.0, dtype=tf.float32, trainable=False)
        self.loss = tf.Variable(tf.zeros([capacity]), trainable=False)
        self.lr = tf.Variable(tf.zeros([capacity]), trainable=False)
        self.grad_norm = tf.Variable(tf.zeros([capacity]), trainable=False)
        self.clipped = tf.Variable(tf.zeros([capacity], tf.bool), trainable=False)

    def drain(self) -> dict:
        """Return the recorded updates as NumPy arrays and reset the buffer."""
        n = int(self.pos.numpy())
        out = {
            "loss": self.loss.numpy()[:n],
            "lr": self.lr.numpy()[:n],
            "grad_norm": self.grad_norm.numpy()[:n],
            "clipped": self.clipped.numpy()[:n],
        }
        self.pos.assign(0)
        return out

    def was_clipped(self, grads, norm):
        if self.clip_mode is None:
            return tf.constant(False)
        return CLIP_MODES.entry(self.clip_mode).graph().was_clipped(grads, norm, self.clip_value)


class InstrumentedModel(keras.Model):
    """Keras's own TF ``train_step`` plus one call to record the update."""

    def attach_recorder(self, recorder: UpdateRecorder) -> None:
        object.__setattr__(self, "_hp_recorder", recorder)

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)

        # Forward pass
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            self._loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])
            scaled_loss = self.optimizer.scale_loss(loss)

        # Compute gradients
        variables = self.trainable_variables
        grads = tape.gradient(scaled_loss, variables)

        # Record what this update will do, then update weights
        self._record(loss, grads, variables)
        self.optimizer.apply(grads, variables)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _record(self, loss, grads, variables):
        rec: UpdateRecorder = self._hp_recorder
        opt = self.optimizer
        inner = getattr(opt, "inner_optimizer", opt)
        grads = [tf.cast(g, tf.float32) for g in grads]
        if inner is not opt:  # loss scaling: gradients arrive multiplied by the scale
            scale = tf.cast(opt.scale_loss(tf.constant(1.0)), tf.float32)
            grads = [g / scale for g in grads]
        rec.loss_sum.assign_add(tf.cast(loss, tf.float32))
        k = rec.accum_steps
        if k > 1:
            # Keras averages the accumulated micro-batch gradients at the update step.
            acc = [inner._accumulated_gradients[inner._get_variable_index(v)] for v in variables]
            grads = [(g + tf.cast(a, tf.float32)) / k for g, a in zip(grads, acc, strict=True)]
            is_update = tf.equal((inner._iterations + 1) % k, 0)
        else:
            is_update = tf.constant(True)
        lr = tf.cast(inner.learning_rate, tf.float32)

        # Without a tf.cond: XLA (jit_compile) cannot compile the slot writes inside a
        # conditional branch, so a micro-batch that is not an update writes its slot's
        # old values back and leaves the position where it was.
        norm = tf.linalg.global_norm(grads)
        i = tf.minimum(rec.pos, rec.capacity - 1)

        def put(var, value):
            var[i].assign(tf.where(is_update, tf.cast(value, var.dtype), var[i]))

        put(rec.loss, rec.loss_sum / k)
        put(rec.lr, lr)
        put(rec.grad_norm, norm)
        put(rec.clipped, rec.was_clipped(grads, norm))
        rec.loss_sum.assign(tf.where(is_update, 0.0, rec.loss_sum))
        rec.pos.assign_add(tf.cast(is_update, rec.pos.dtype))
