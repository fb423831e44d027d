"""Each clipping mode's graph code: was an update clipped, and clip one member alone.

``was_clipped(grads, norm, c)`` reads the gradients of one update and their global
norm before clipping (the optimizer itself clips, with the Keras argument the mode's
registry entry gives). ``per_member(grads, sq, norm, c)`` clips a stacked graph's
gradients ``[M, ...]`` member by member, as Keras would clip each member's own
optimizer (``sq``: each slice's squared norm ``[vars, M]``, ``norm``: ``[M]``), and
returns ``(grads, clipped [M])``.
"""

import tensorflow as tf
from keras import ops


class ClipValue:
    @staticmethod
    def was_clipped(grads, _norm, c):
        return tf.reduce_any(tf.stack([tf.reduce_max(tf.abs(g)) > c for g in grads]))

    @staticmethod
    def per_member(grads, _sq, _norm, c):
        clipped = tf.reduce_any(
            tf.stack([tf.reduce_max(tf.abs(g), axis=[1, 2]) > c for g in grads]), axis=0
        )
        return [ops.clip(g, -c, c) for g in grads], clipped


class ClipNorm:
    @staticmethod
    def was_clipped(grads, _norm, c):
        return tf.reduce_any(tf.stack([tf.norm(g) > c for g in grads]))

    @staticmethod
    def per_member(grads, sq, _norm, c):
        clipped = tf.reduce_any(tf.sqrt(sq) > c, axis=0)
        return [tf.clip_by_norm(g, c, axes=[1, 2]) for g in grads], clipped


class GlobalClipNorm:
    @staticmethod
    def was_clipped(_grads, norm, c):
        return norm > c

    @staticmethod
    def per_member(grads, _sq, norm, c):
        # keras.optimizers clip_by_global_norm, per member: a NaN norm gives a NaN scale.
        scale = c * tf.minimum(1.0 / norm, 1.0 / c)
        scale = scale + (norm - norm)
        return [g * tf.reshape(scale, [-1, 1, 1]) for g in grads], norm > c
