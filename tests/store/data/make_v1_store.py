"""Write ``v1_store.db``: a schema-v1 run store as HP Lab up to schema v1 wrote it.

Run it from a checkout whose ``engine/store/schema.py`` has ``SCHEMA_VERSION = 1``
(e.g. commit f52096c): ``PYTHONPATH=<that checkout> python make_v1_store.py OUT.db``.
It trains one real tiny run through ``StoreSink`` (epoch and per-update curves, test
metrics, predictions, diagnosis) and adds runs in every other state, tags, notes, a
sweep and a diverged run whose NaN must survive, so the migration test can require
that nothing is lost.
"""

import sqlite3
import sys

from engine.store import SCHEMA_VERSION, RunStore, StoreSink
from engine.training.train import train

assert SCHEMA_VERSION == 1, "run this with the v1 code"
path = sys.argv[1]
store = RunStore(path)
ok = {"task": "regression-5", "epochs": 4, "data": {"n_train": 120}}
nan = {"task": "regression-5", "learning_rate": 5.0, "epochs": 3, "data": {"n_train": 120}}
ids = store.create_runs([ok, nan], names=["trained · sgd", "diverged · lr 5"], sweep_id="sw-v1")
for rid, cfg in zip(ids, (ok, nan), strict=True):
    assert store.claim(rid, "maker") is not None
    train(cfg, sink=StoreSink(store, rid))
store.set_tags(ids[0], ["keep", "v1"])
store.set_notes(ids[0], "notes survive\nthe migration")
queued, cancelled, failed, interrupted = store.create_runs(
    [{"task": "binary-20"}] * 4, names=["queued", "cancelled", "failed", "interrupted"]
)
store.request_cancel(cancelled)
store.claim(failed, "maker")
store.fail_run(failed, "worker died (test fixture)")
store.claim(interrupted, "maker")
store.recover_interrupted()
store.close()
conn = sqlite3.connect(path)
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
conn.execute("PRAGMA journal_mode = DELETE")
conn.execute("VACUUM")
conn.close()
print(path)
