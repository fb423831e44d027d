"""Learning-rate schedules the documents define, and the wrapper every run uses.

Keras evaluates a schedule at the optimizer's raw iteration count, which with
``gradient_accumulation_steps=k`` counts micro-batches, not updates.
``UpdateSchedule`` divides by k so that "step" always means "optimizer update",
and multiplies by a plateau factor so that reduce-LR-on-plateau composes with
any schedule (Keras's own callback refuses to touch a schedule).
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="hplab")
class Constant(keras.optimizers.schedules.LearningRateSchedule):
    """A fixed rate held in a variable, so a traced train step can be reused for
    another rate (a warm worker re-running a compiled model) without retracing."""

    def __init__(self, learning_rate):
        self.learning_rate = float(learning_rate)
        self.value = keras.Variable(
            self.learning_rate, trainable=False, dtype="float32", name="constant_lr"
        )

    def set(self, learning_rate):
        self.learning_rate = float(learning_rate)
        self.value.assign(self.learning_rate)

    def __call__(self, step):
        return ops.cast(self.value, "float32") + 0.0 * ops.cast(step, "float32")

    def get_config(self):
        return {"learning_rate": self.learning_rate}


@keras.saving.register_keras_serializable(package="hplab")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to ``peak_lr``, then cosine decay to ``alpha × peak_lr``.

    The document's version keeps following the cosine after ``total_steps``, so the
    rate rises again; here it holds at the floor.
    """

    def __init__(self, peak_lr, warmup_steps, total_steps, alpha=0.0):
        self.peak_lr = float(peak_lr)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.alpha = float(alpha)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = ops.cast(self.peak_lr, "float32")
        warmup = peak * step / max(self.warmup_steps, 1)
        decay_steps = max(self.total_steps - self.warmup_steps, 1)
        progress = ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        decayed = peak * ((1.0 - self.alpha) * cosine + self.alpha)
        return ops.where(step < self.warmup_steps, warmup, decayed)

    def get_config(self):
        return {
            "peak_lr": self.peak_lr,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "alpha": self.alpha,
        }


@keras.saving.register_keras_serializable(package="hplab")
class UpdateSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``base(iteration // accum_steps) × factor``; ``factor`` is cut on plateaus."""

    def __init__(self, base, accum_steps=1, factor=1.0):
        self.base = base
        self.accum_steps = int(accum_steps)
        self.factor = keras.Variable(
            float(factor), trainable=False, dtype="float32", name="plateau_factor"
        )

    def __call__(self, step):
        update = ops.floor_divide(ops.cast(step, "int64"), self.accum_steps)
        return ops.cast(self.base(update), "float32") * self.factor

    def get_config(self):
        return {
            "base": keras.saving.serialize_keras_object(self.base),
            "accum_steps": self.accum_steps,
            "factor": float(self.factor.numpy()),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["base"] = keras.saving.deserialize_keras_object(config["base"])
        return cls(**config)
