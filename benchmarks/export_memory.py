"""CSV export peak memory at 1 and 100 runs: the old whole-text export vs the streamed
one, side by side in one run (tracemalloc peaks, so the numbers are Python's own
allocations; the ratio 100 runs / 1 run is what matters: flat means streamed).

The old path is kept here, verbatim in behaviour, only for this comparison.
"""

from __future__ import annotations

import csv
import io
import tempfile
import tracemalloc
from pathlib import Path

from benchmarks.common import alternate, summary, write
from engine.store import RunStore
from engine.store.schema import decode

RUNS = (1, 100)
UPDATES = 2000  # per run
EPOCHS = 20


def old_export_csv(store: RunStore, ids: list[str]) -> str:
    """The export before streaming: every row fetched, the whole file built as text."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run_id", "run_name", "series", "x_kind", "x", "value"])

    def fmt(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return str(int(v))
        return repr(float(v)) if isinstance(v, float) else str(v)

    with store._read() as conn:
        for run_id in ids:
            name = conn.execute("SELECT name FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
            for key, epoch, v, kind in conn.execute(
                "SELECT key, epoch, value, kind FROM epoch_values WHERE run_id = ?"
                " ORDER BY key, epoch",
                (run_id,),
            ):
                w.writerow([run_id, name, key, "epoch", epoch, fmt(decode(v, kind))])
            rows = conn.execute(
                "SELECT update_no, loss, loss_kind, lr, lr_kind, grad_norm, grad_norm_kind,"
                " clipped FROM updates WHERE run_id = ? ORDER BY update_no",
                (run_id,),
            ).fetchall()
            for c, (vi, ki) in zip(
                ("loss", "lr", "grad_norm"), ((1, 2), (3, 4), (5, 6)), strict=True
            ):
                for r in rows:
                    w.writerow([run_id, name, c, "update", r[0], fmt(decode(r[vi], r[ki]))])
            for r in rows:
                w.writerow([run_id, name, "clipped", "update", r[0], fmt(r[7])])
    return buf.getvalue()


def _fill(store: RunStore, n: int) -> list[str]:
    cfg = {"task": "regression", "optimizer": {"name": "adam"}, "learning_rate": 0.001}
    ids = store.create_runs([cfg] * n)
    for rid in ids:
        assert store.claim(rid, "bench") is not None
        store.append_epochs(
            rid,
            [
                {"epoch": e, "values": {"loss": 1 / e, "val_loss": 1.1 / e}, "lr": 1e-3}
                for e in range(1, EPOCHS + 1)
            ],
        )
        ups = list(range(1, UPDATES + 1))
        store.append_updates(
            rid,
            {
                "update": ups,
                "epoch": [1 + u * EPOCHS // (UPDATES + 1) for u in ups],
                "loss": [1.0 / u for u in ups],
                "lr": [1e-3] * UPDATES,
                "grad_norm": [0.5] * UPDATES,
                "clipped": [False] * UPDATES,
            },
        )
    return ids


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "bench.db")
        ids = _fill(store, max(RUNS))
        out = Path(tmp) / "out.csv"

        def streamed(sel, updates):
            with out.open("w", newline="") as f:
                store.write_csv(sel, f, updates=updates)

        def old(sel):
            out.write_text(old_export_csv(store, sel))

        results = {}
        for n in RUNS:
            sel = ids[:n]
            sides = {
                "old (whole text)": lambda sel=sel: {"peak": _peak(lambda: old(sel))},
                "streamed, --updates full": lambda sel=sel: {
                    "peak": _peak(lambda: streamed(sel, None))
                },
                "streamed, default thinning": lambda sel=sel: {
                    "peak": _peak(lambda: streamed(sel, 1000))
                },
            }
            got = alternate(sides, repeats=3)
            results[n] = {k: summary([r["peak"] for r in v]) for k, v in got.items()}
        rows = {}
        for side in results[RUNS[0]]:
            one, hundred = (results[n][side]["median"] for n in RUNS)
            rows[side] = {
                "1 run MB": one / 1e6,
                "100 runs MB": hundred / 1e6,
                "ratio": hundred / one,
            }
            print(
                f"{side:28} peak at 1 run {one / 1e6:7.2f} MB, at 100 runs {hundred / 1e6:7.2f} MB"
                f"  ({hundred / one:5.1f}×)"
            )
        old100 = results[100]["old (whole text)"]["median"]
        new100 = results[100]["streamed, --updates full"]["median"]
        print(f"100 runs, full resolution: streamed uses {new100 / old100:.3f}× the old peak")
        payload = {"runs": RUNS, "updates_per_run": UPDATES, "rows": rows}
        print(f"wrote {write('export_memory', payload)}")


if __name__ == "__main__":
    main()
