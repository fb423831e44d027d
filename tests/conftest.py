"""Suite-wide: how ``pytest -n 2`` (pytest-xdist, ``--dist loadgroup``) shares the tests.

A module's tests stay on one worker (its module-scoped server, store or Ray instance
starts once), and every test that uses Ray runs on the same worker as the others, so
two local Ray clusters never start side by side on one machine.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            group = "ray" if item.get_closest_marker("ray") else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))
