"""Tiny configs so real Keras training stays fast in the engine tests.

A module of its own, not ``conftest``: with several ``conftest.py`` files in the suite,
``from conftest import …`` gets whichever one an xdist worker imported first.
"""


def tiny(task: str = "regression", **over) -> dict:
    """A small but real run of ``task``."""
    cfg = {"task": task, "epochs": 2, "data": {"n_train": 128, "n_test": 32}}
    cfg.update(over)
    return cfg
