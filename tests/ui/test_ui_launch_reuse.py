"""The launch path reuses identical runs unless "Train again even if an identical run
exists" is ticked (ui/launch_view.py; the store side is tests/store/test_store_reuse.py).

No worker pool here: the first launch stays queued, so a second identical launch waits
for it (``reused_from`` set) instead of queueing a second training.
"""

from __future__ import annotations

from ui_helpers import open_app

from engine.store import RunStore
from ui.launch_view import TRAIN_AGAIN


def _launch_again(at):
    at.switch_page("pages/setup.py").run()
    at.number_input(key="cfg-epochs").set_value(3).run()
    at.button(key="setup_launch").click().run()
    assert not at.exception


def test_launching_the_same_run_twice_trains_it_once(store_path):
    at = open_app()
    at.number_input(key="cfg-epochs").set_value(3).run()
    at.button(key="setup_launch").click().run()
    _launch_again(at)
    first, second = sorted(RunStore(store_path).list_runs(), key=lambda r: r["created"])
    assert first["config"] == second["config"] and first["sweep_id"] != second["sweep_id"]
    assert second["reused_from"] == first["id"] and first["reused_from"] is None


def test_train_again_queues_a_fresh_run(store_path):
    at = open_app()
    at.number_input(key="cfg-epochs").set_value(3).run()
    at.button(key="setup_launch").click().run()
    at.switch_page("pages/setup.py").run()
    at.checkbox(key=TRAIN_AGAIN).check().run()
    at.number_input(key="cfg-epochs").set_value(3).run()
    at.button(key="setup_launch").click().run()
    assert not at.exception
    runs = RunStore(store_path).list_runs()
    assert len(runs) == 2 and all(r["reused_from"] is None for r in runs)
