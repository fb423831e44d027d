"""Print a diagnosis-suite case's curves, and nothing of the engine's answer, so a case
can be labelled by reading it first: ``python tests/engine/print_curves.py NAME ...``
(no name lists the cases). Per epoch: training and validation loss (and accuracy when
logged), and the spread of that epoch's per-update losses; then how often clipping bit.
"""

from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]


def _f(v) -> str:
    return "nan" if v is None or not math.isfinite(v) else f"{v:.4g}"


def show(name: str, config: dict) -> None:
    from engine.training.train import train

    r = train(config)
    h, steps, info = r["history"], r["steps"], r["info"]
    acc = next((k for k in h if k.endswith("accuracy") and not k.startswith("val_")), None)
    keys = [k for k in ("loss", "val_loss", acc, f"val_{acc}") if k and k in h]
    print(f"=== {name} [{r['status']}] trivial loss {_f(info.get('baseline_loss'))}")
    print("epoch " + " ".join(f"{k:>12}" for k in keys) + "   per-update loss min / median / max")
    ups = steps.get("loss") or []
    per = max(1, round(len(ups) / max(1, len(h["loss"]))))
    for i in range(len(h["loss"])):
        seg = [v for v in ups[i * per : (i + 1) * per] if v is not None and math.isfinite(v)]
        spread = f"{_f(min(seg))} / {_f(statistics.median(seg))} / {_f(max(seg))}" if seg else ""
        print(f"{i + 1:>5} " + " ".join(f"{_f(h[k][i]):>12}" for k in keys) + f"   {spread}")
    clipped = steps.get("clipped") or []
    if config.get("clipping") and clipped:
        print(f"clipped {sum(map(bool, clipped))} of {len(clipped)} updates")


def main(names: list[str]) -> None:
    from test_diagnosis_suite import BY_NAME

    if not names:
        print("\n".join(BY_NAME))
        return
    for name in names:
        show(name, BY_NAME[name].config)


if __name__ == "__main__":
    main(sys.argv[1:])
