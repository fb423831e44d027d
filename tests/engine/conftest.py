"""Shared helpers for engine tests: tiny configs so real Keras training stays fast."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tiny(task: str = "regression", **over) -> dict:
    """A small but real run of ``task``."""
    cfg = {"task": task, "epochs": 2, "data": {"n_train": 128, "n_test": 32}}
    cfg.update(over)
    return cfg
