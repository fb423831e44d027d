"""The documents' stateful F1 score."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="hplab")
class F1Score(keras.metrics.Metric):
    """F1 from true/false positive and false negative counts kept across batches.

    A per-batch F1 averaged over batches is not the F1 of the epoch; counts are.
    """

    def __init__(self, threshold=0.5, name="f1", **kwargs):
        super().__init__(name=name, **kwargs)
        self._direction = "up"  # as engine.spec.metrics declares it; Keras's "auto" reads it
        self.threshold = float(threshold)
        self.tp = self.add_variable(shape=(), initializer="zeros", name="tp")
        self.fp = self.add_variable(shape=(), initializer="zeros", name="fp")
        self.fn = self.add_variable(shape=(), initializer="zeros", name="fn")

    def update_state(self, y_true, y_pred, sample_weight=None):  # noqa: ARG002 (Keras's API)
        y_pred = ops.cast(ops.cast(y_pred, "float32") >= self.threshold, "float32")
        y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)), "float32")
        self.tp.assign_add(ops.sum(y_pred * y_true))
        self.fp.assign_add(ops.sum(y_pred * (1.0 - y_true)))
        self.fn.assign_add(ops.sum((1.0 - y_pred) * y_true))

    def result(self):
        precision = self.tp / (self.tp + self.fp + 1e-7)
        recall = self.tp / (self.tp + self.fn + 1e-7)
        return 2.0 * precision * recall / (precision + recall + 1e-7)

    def reset_state(self):
        for v in (self.tp, self.fp, self.fn):
            v.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}
