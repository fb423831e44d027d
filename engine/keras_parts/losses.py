"""The documents' custom losses as serializable Keras losses."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="hplab")
class WeightedMSE(keras.losses.Loss):
    """MSE that weights under-predictions (y_true > y_pred) by ``under_weight``.

    For costs that are asymmetric, e.g. under-stocking hurts more than over-stocking.
    """

    def __init__(self, under_weight=2.0, name="weighted_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.under_weight = float(under_weight)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        error = y_true - y_pred
        weights = ops.where(error > 0, self.under_weight, 1.0)
        return ops.mean(ops.cast(weights, error.dtype) * ops.square(error), axis=-1)

    def get_config(self):
        return {**super().get_config(), "under_weight": self.under_weight}


@keras.saving.register_keras_serializable(package="hplab")
class FocalLoss(keras.losses.Loss):
    """Focal loss (Lin et al.): cross-entropy scaled by (1 - p_t)^gamma.

    Unlike the document's sketch, negatives count too (weighted 1 - alpha): with a
    single sigmoid output the sketch's loss is zero for every negative example, so
    predicting "positive" everywhere would minimise it. Integer labels with a
    multi-class output are one-hot encoded here.
    """

    def __init__(self, gamma=2.0, alpha=0.25, from_logits=False, name="focal", **kwargs):
        super().__init__(name=name, **kwargs)
        self.gamma = float(gamma)
        self.alpha = float(alpha)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        eps = 1e-7
        y_pred = ops.cast(y_pred, "float32")
        if y_pred.shape[-1] == 1:  # binary
            p = ops.sigmoid(y_pred) if self.from_logits else y_pred
            p = ops.clip(p, eps, 1.0 - eps)
            y = ops.cast(ops.reshape(y_true, ops.shape(p)), "float32")
            p_t = y * p + (1.0 - y) * (1.0 - p)
            alpha_t = y * self.alpha + (1.0 - y) * (1.0 - self.alpha)
            loss = -alpha_t * ops.power(1.0 - p_t, self.gamma) * ops.log(p_t)
            return ops.mean(loss, axis=-1)
        p = ops.softmax(y_pred) if self.from_logits else y_pred
        p = ops.clip(p, eps, 1.0 - eps)
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == y_pred.shape[-1]:
            y = ops.cast(y_true, "float32")
        else:
            y = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), y_pred.shape[-1])
        loss = -self.alpha * y * ops.power(1.0 - p, self.gamma) * ops.log(p)
        return ops.sum(loss, axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "alpha": self.alpha,
            "from_logits": self.from_logits,
        }
