"""tf.data input pipelines: the fast path, and the same batches as exported scripts.

Each epoch's order comes from ``engine.data.epoch_order`` (NumPy), so a standalone
script that indexes its arrays with the same order sees the same batches.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from engine.data import epoch_order


def _gather(arrays, idx):
    return tf.nest.map_structure(lambda a: tf.gather(a, idx), arrays)


def train_dataset(x, y, batch_size: int, seed: int, epochs: int) -> tuple[tf.data.Dataset, int]:
    """Batches of all epochs in sequence; returns the dataset and batches per epoch."""
    n = len(x)
    xt = tf.constant(x)
    yt = tf.nest.map_structure(tf.constant, y)

    def orders():
        for e in range(epochs):
            yield epoch_order(seed, n, e).astype(np.int32)

    idx = tf.data.Dataset.from_generator(orders, output_signature=tf.TensorSpec([n], tf.int32))
    idx = idx.flat_map(lambda p: tf.data.Dataset.from_tensor_slices(p).batch(batch_size))
    ds = idx.map(
        lambda i: (tf.gather(xt, i), _gather(yt, i)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return ds.prefetch(tf.data.AUTOTUNE), math.ceil(n / batch_size)


def eval_dataset(x, y, batch_size: int) -> tf.data.Dataset:
    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .batch(batch_size)
        .cache()
        .prefetch(tf.data.AUTOTUNE)
    )
