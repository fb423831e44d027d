"""Process-level TensorFlow setup and per-run isolation.

Workers call ``configure`` once (threads, GPU memory growth) before TF runs
anything; every run calls ``isolate`` first, so global Keras state (dtype policy,
seeds, graph names) from a previous run in the same process cannot leak.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_configured = False


def configure(intra_threads: int | None = None, inter_threads: int | None = None) -> str:
    """Set thread pools and GPU memory growth; returns the device description."""
    global _configured
    import tensorflow as tf

    if not _configured:
        # Every run builds a new model, so Keras's "retracing" warning is expected noise.
        tf.get_logger().setLevel("ERROR")
        try:
            if intra_threads:
                tf.config.threading.set_intra_op_parallelism_threads(intra_threads)
            if inter_threads:
                tf.config.threading.set_inter_op_parallelism_threads(inter_threads)
            for gpu in tf.config.list_physical_devices("GPU"):
                tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # TF already initialised in this process: keep its settings
            pass
        _configured = True
    return device_name()


def device_name() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    try:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    except Exception:  # pragma: no cover - depends on the driver
        return f"GPU: {gpus[0].name}"


def isolate(seed: int) -> None:
    """Reset global Keras state and seed everything for one run."""
    import keras

    keras.backend.clear_session()
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(seed)


def reseed(seed: int) -> None:
    """``isolate`` for a run on a warm (already traced) model: the same seeds and
    dtype policy, but Keras's session is kept because the warm model lives in it."""
    import keras

    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(seed)
