"""The dashboard's own speed and memory (issue 6, items 3 and 4).

Three measurements, each against a reference taken in the same run:

1. **Launch → first point**, in Chromium against a real server (``streamlit run
   app.py``, two workers, a temporary store): once both workers are warm, go to the
   setup page, click launch on the default config (one run) and time until the
   compare page's Loss chart holds the run's first point. A second series launches a
   graph no worker has traced yet (a new batch size each time, launched first so the
   warm launches meet a table of differing runs): the same path plus one trace,
   reported separately. A poller on the store splits each launch into
   queued / claimed / first epoch stored / drawn, so the number says what limits it.
2. **Compare page render**, server side: ``AppTest`` runs of the whole app on the
   compare page over a store of 200 finished runs × 30 epochs (losses, a metric, LR,
   epoch times; per-update series for every fourth run), with the default selection
   (the latest sweep, 10 runs) and with all 200 selected; cold (empty data cache, a
   first visit) and warm (a rerun). The reference is the same page over 10 runs.
3. **Memory**: peak RSS (``VmHWM``) of the server and of each worker after the
   launches, and again after the browser drew the 200-run page with all selected.

Absolute seconds move with the machine's load (printed with the results); the
ratios against the reference and the milestone split are what carry over.
"""

from __future__ import annotations

import math
import os
import random
import re
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

from benchmarks.common import alternate, summary, write
from tests.proc_helpers import memory_mib, roles

ROOT = Path(__file__).resolve().parents[1]

REPEATS = int(os.environ.get("HPLAB_BENCH_REPEATS", "5"))
LAUNCHES = int(os.environ.get("HPLAB_BENCH_LAUNCHES", "7"))
NEW_GRAPH_LAUNCHES = int(os.environ.get("HPLAB_BENCH_NEW_GRAPHS", "3"))
BIG, SMALL = 200, 10
EPOCHS = 30
PER_SWEEP = 10
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
METRIC = {"regression": "mae", "binary-20": "accuracy"}

# Any training-loss trace with a point on the Loss chart, of a run not in ``old``.
FIRST_POINT_JS = """(old) => [...document.querySelectorAll('.js-plotly-plot')].some(d =>
  ((d.layout && d.layout.title && d.layout.title.text) || '').replace(/<[^>]*>/g, '') === 'Loss'
  && (d.data || []).some(t => t.meta && t.meta.series === 'loss' && !t.meta.raw
      && !old.includes(t.meta.run_id) && (t.x || []).length > 0))"""

# How many runs have a drawn training-loss curve (or seed-band member) on the Loss chart.
RUNS_DRAWN_JS = """(n) => [...document.querySelectorAll('.js-plotly-plot')].some(d =>
  ((d.layout && d.layout.title && d.layout.title.text) || '').replace(/<[^>]*>/g, '') === 'Loss'
  && new Set((d.data || []).filter(t => t.meta && t.meta.series === 'loss' && !t.meta.raw
      && (t.x || []).length > 0).flatMap(t => t.meta.runs || [t.meta.run_id])).size >= n)"""


# ----------------------------------------------------------------------------- stores


def _curves(cfg: dict, rng: random.Random, upe: int) -> tuple[list[dict], dict]:
    """30 epochs of plausible records (one run in five overfits), and per-update columns."""
    metric = METRIC[cfg["task"]]
    floor, speed = rng.uniform(0.02, 0.3), rng.uniform(0.1, 0.8)
    overfit = rng.random() < 0.2
    records, t = [], 0.0
    for e in range(1, cfg["epochs"] + 1):
        loss = floor + 1.5 / (1 + speed * e) + rng.gauss(0, 0.01)
        val = loss + 0.05 + (0.01 * max(0, e - 10) ** 1.3 if overfit else 0.0)
        score = 1 / (1 + loss) if metric == "accuracy" else loss**0.5
        epoch_time = 0.05 + rng.random() * 0.01
        t += epoch_time
        records.append(
            {
                "epoch": e,
                "values": {
                    "loss": loss,
                    "val_loss": val,
                    metric: score,
                    f"val_{metric}": score * 0.98,
                },
                "lr": cfg["learning_rate"],
                "epoch_time": epoch_time,
                "examples_per_sec": 800 / epoch_time,
                "wall_time": t,
                "updates": e * upe,
            }
        )
    ups = list(range(1, cfg["epochs"] * upe + 1))
    updates = {
        "update": ups,
        "epoch": [(u - 1) // upe + 1 for u in ups],
        "loss": [records[(u - 1) // upe]["values"]["loss"] * rng.uniform(0.8, 1.25) for u in ups],
        "lr": [cfg["learning_rate"]] * len(ups),
        "grad_norm": [rng.uniform(0.2, 2.0) for _ in ups],
        "clipped": [False] * len(ups),
    }
    return records, updates


def fill_store(path: Path, n_runs: int, *, updates_every: int = 4) -> list[str]:
    """``n_runs`` finished runs in sweeps of ten (alternating tasks), written through the
    store's API as a worker would write them, each with its stored diagnosis."""
    from browser_runs import start_like_a_worker

    from engine.config import validate
    from engine.diagnosis import diagnose
    from engine.store import RunStore

    store = RunStore(path)
    rng = random.Random(0)
    ids: list[str] = []
    for s in range(math.ceil(n_runs / PER_SWEEP)):
        task = ("regression", "binary-20")[s % 2]
        n = min(PER_SWEEP, n_runs - len(ids))
        configs = [
            validate(
                {
                    "task": task,
                    "epochs": EPOCHS,
                    "optimizer": OPTIMIZERS[(s + i) % len(OPTIMIZERS)],
                    "learning_rate": round(10 ** rng.uniform(-4, -1), 6),
                    "seed": 40 + i % 3,
                }
            )
            for i in range(n)
        ]
        names = [f"{c['task']} {c['optimizer']['name']} lr={c['learning_rate']:g}" for c in configs]
        for rid, cfg in zip(
            store.create_runs(configs, names=names, sweep_id=f"sw-bench{s:05d}"),
            configs,
            strict=True,
        ):
            upe = start_like_a_worker(
                store, rid, cfg, "w-bench", ["loss", METRIC[task]], warm_graph=True
            )
            records, updates = _curves(cfg, rng, upe)
            store.append_epochs(rid, records)
            with_updates = len(ids) % updates_every == 0
            if with_updates:
                store.append_updates(rid, updates)
            store.finish(
                rid,
                {
                    "status": "completed",
                    "epochs_run": EPOCHS,
                    "test": {"loss": records[-1]["values"]["val_loss"]},
                    "duration": records[-1]["wall_time"],
                },
            )
            history: dict[str, list] = {}
            for rec in records:
                for k, v in rec["values"].items():
                    history.setdefault(k, []).append(v)
            store.set_diagnosis(
                rid, diagnose(history, updates if with_updates else None, status="completed")
            )
            ids.append(rid)
    store.close()
    return ids


def merge_store(src: Path, dst: Path) -> None:
    """Copy every run of ``src`` into the live store ``dst`` in one transaction.

    Runs written through the API would pass through ``queued``, where the server's
    workers would claim them; copied rows arrive finished."""
    from engine.store.schema import TABLES

    con = sqlite3.connect(dst, timeout=30)
    try:
        con.execute("ATTACH DATABASE ? AS src", (str(src),))
        with con:
            for table in TABLES:
                if table == "meta":
                    continue
                cols = [r[1] for r in con.execute(f"PRAGMA src.table_info({table})")]
                names = ", ".join(c for c in cols if c != "seq")
                con.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM src.{table}")
    finally:
        con.close()


# ----------------------------------------------------------------------------- 2. render


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def render_once(path: Path) -> dict:
    """The compare page over ``path``: cold then warm, default selection then all."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["HPLAB_STORE"] = str(path)
    st.cache_data.clear()  # a first visit: no finished run's series cached yet
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page("pages/compare.py")
    out = {"default_cold": _timed(at.run)}
    assert not at.exception, at.exception
    out["default_warm"] = _timed(at.run)
    out["default_selected"] = len(at.session_state["compare_ids"])
    at.button(key="compare_pick_all").click()
    out["all_first"] = _timed(at.run)
    out["all_warm"] = _timed(at.run)
    out["all_selected"] = len(at.session_state["compare_ids"])
    assert not at.exception, at.exception
    return out


def render_bench(tmp: Path, repeats: int) -> dict:
    os.environ["HPLAB_WORKERS"] = "0"
    paths = {"big": tmp / "big.db", "small": tmp / "small.db"}
    t0 = time.perf_counter()
    fill_store(paths["big"], BIG)
    fill_store(paths["small"], SMALL)
    print(f"  stores filled in {time.perf_counter() - t0:.1f} s", flush=True)
    render_once(paths["small"])  # imports and first-use costs, not measured
    sides = alternate({k: (lambda p=p: render_once(p)) for k, p in paths.items()}, repeats)
    out: dict = {}
    for side, rows in sides.items():
        out[side] = {
            k: summary([r[k] for r in rows])
            for k in ("default_cold", "default_warm", "all_first", "all_warm")
        }
        out[side]["selected"] = {
            "default": rows[0]["default_selected"],
            "all": rows[0]["all_selected"],
        }
    out["ratio_big_vs_small"] = {
        k: out["big"][k]["median"] / out["small"][k]["median"]
        for k in ("default_cold", "default_warm", "all_first", "all_warm")
    }
    return out


# ----------------------------------------------------------------------------- 3. memory


def memory(server_pid: int) -> dict:
    kids = dict(sorted(roles(server_pid).items()))
    return {
        "server_mib": memory_mib(server_pid),
        "workers_mib": [memory_mib(p) for p, role in kids.items() if role == "worker"],
        "tf_service_mib": [memory_mib(p) for p, role in kids.items() if role != "worker"],
    }


# ----------------------------------------------------------------------------- 1. launch


class Milestones(threading.Thread):
    """Polls the store (its own connection) and stamps when a new run is queued,
    claimed, and has its first epoch stored."""

    def __init__(self, store_path: Path, old: set[str], t0: float) -> None:
        super().__init__(daemon=True)
        from engine.store import RunStore

        self.store, self.old, self.t0 = RunStore(store_path), old, t0
        self.stamps: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and "epoch" not in self.stamps:
            new = [r for r in self.store.list_runs() if r["id"] not in self.old]
            now = time.perf_counter() - self.t0
            if new:
                r = new[0]
                self.stamps.setdefault("queued", now)
                if r["status"] != "queued":
                    self.stamps.setdefault("claimed", now)
                if r["epochs_done"]:
                    self.stamps.setdefault("epoch", now)
            self.done.wait(0.01)
        self.store.close()


def wait_warm(store, *, timeout: float = 300) -> float:
    """Until two default runs queued together are taken by two different workers, each
    finding the graph traced: both workers are past their prewarm and idle. The probes
    are deleted afterwards."""
    from browser_helpers import wait_until

    from engine.config import validate
    from ui.form import DEFAULT_TASK

    cfg = validate({"task": DEFAULT_TASK})
    t0 = time.perf_counter()
    while True:
        ids = store.create_runs([cfg, cfg], names=["warm probe 1", "warm probe 2"])

        def finished(ids=ids):
            runs = [store.get_run(i) for i in ids]
            return all(r["status"] == "completed" for r in runs) and runs

        runs = wait_until(finished, timeout=timeout, what="the warm-up probes")
        store.delete_runs(ids)
        if len({r["worker_id"] for r in runs}) == 2 and all(r["info"]["warm_graph"] for r in runs):
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout:
            raise AssertionError("workers not warm in time")


def launch_once(page, srv, store, *, batch_size: int | None = None) -> dict:
    from browser_helpers import wait_idle, wait_until
    from playwright.sync_api import expect

    page.goto(srv.url)
    expect(page.get_by_role("heading", name="Set up runs")).to_be_visible(timeout=60_000)
    if batch_size is not None:
        box = page.locator(".st-key-cfg-batch_size input")
        box.fill(str(batch_size))
        box.press("Enter")
        expect(box).to_have_value(str(batch_size))
    launch = page.locator(".st-key-setup_launch button")
    expect(launch).to_have_text(re.compile("Launch 1 run"), timeout=60_000)
    expect(launch).to_be_enabled()
    wait_idle(page, quiet=1.0)
    old = {r["id"] for r in store.list_runs()}
    t0 = time.perf_counter()
    poller = Milestones(srv.store, old, t0)
    poller.start()
    launch.click()
    page.wait_for_url(re.compile(r"/compare\?sweep="), timeout=60_000)
    t_page = time.perf_counter() - t0
    page.wait_for_function(FIRST_POINT_JS, arg=sorted(old), polling=20, timeout=120_000)
    t_drawn = time.perf_counter() - t0
    poller.done.set()
    poller.join()
    (run,) = [r for r in store.list_runs() if r["id"] not in old]
    if batch_size is not None:
        assert run["config"]["batch_size"] == batch_size, run["config"]["batch_size"]
    run = wait_until(
        lambda: (r := store.get_run(run["id"]))["status"] == "completed" and r,
        timeout=300,
        what="the launched run to complete",
    )
    out = {"drawn": t_drawn, "compare_url": t_page, **poller.stamps}
    if "epoch" in out:  # the page's share: from the epoch in the store to the point drawn
        out["drawn_after_epoch"] = t_drawn - out["epoch"]
    out["warm_graph"] = bool((run["info"] or {}).get("warm_graph"))
    return out


def browser_bench(tmp: Path) -> dict:
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS, serve, wait_idle, wait_until
    from playwright.sync_api import expect, sync_playwright

    from engine.store import RunStore

    out: dict = {}
    with serve(tmp, workers=2) as srv, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        page.goto(srv.url)  # the first session starts the pool (and its prewarm)
        expect(page.get_by_role("heading", name="Set up runs")).to_be_visible(timeout=120_000)
        wait_until(srv.store.exists, timeout=60, what="the store file")
        store = RunStore(srv.store)
        out["warm_wait_s"] = wait_warm(store)
        print(f"  workers warm after {out['warm_wait_s']:.1f} s", flush=True)

        # New graphs first: the warm launches then meet a table of runs that differ (as a
        # person's store does), with parallel coordinates on the page.
        cold = []
        for i in range(NEW_GRAPH_LAUNCHES):
            cold.append(launch_once(page, srv, store, batch_size=33 + i))
            print(f"  new graph {i + 1}: {_milestones(cold[-1])}", flush=True)
        warm = []
        for i in range(LAUNCHES):
            warm.append(launch_once(page, srv, store))
            print(f"  launch {i + 1}: {_milestones(warm[-1])}", flush=True)
        for name, rows in (("launch_warm", warm), ("launch_new_graph", cold)):
            out[name] = {
                k: summary([r[k] for r in rows if k in r])
                for k in ("queued", "claimed", "epoch", "compare_url", "drawn", "drawn_after_epoch")
            }
            out[name]["warm_graph"] = [r["warm_graph"] for r in rows]
        out["memory_after_launches"] = memory(srv.proc.pid)

        # 200 finished runs join the store; the browser draws all of them at once.
        fill_store(tmp / "big.db", BIG)
        merge_store(tmp / "big.db", srv.store)
        total = len(store.list_runs())
        page.goto(f"{srv.url}/compare")
        expect(page.locator(".st-key-compare_pick_all button")).to_be_visible(timeout=60_000)
        wait_idle(page, quiet=1.0)
        t0 = time.perf_counter()
        page.locator(".st-key-compare_pick_all button").click()
        page.wait_for_function(RUNS_DRAWN_JS, arg=total, polling=50, timeout=300_000)
        out["browser_all_drawn_s"] = time.perf_counter() - t0
        out["browser_all_runs"] = total
        wait_idle(page, quiet=1.0, timeout=300)
        out["memory_after_200"] = memory(srv.proc.pid)
        store.close()
        browser.close()
    return out


def _milestones(r: dict) -> str:
    keys = ("queued", "claimed", "epoch", "compare_url", "drawn")
    return ", ".join(f"{k} {r[k]:.2f}" for k in keys if k in r) + f" (warm {r['warm_graph']})"


# ----------------------------------------------------------------------------- report


def _row(label: str, s: dict) -> str:
    return f"{label:<46} {s['median']:7.3f} s  [{s['min']:.3f}–{s['max']:.3f}, n={s['n']}]"


def main(parts: list[str]) -> None:
    """``parts``: ``render`` and/or ``browser`` (default both; a partial run writes
    ``ui_speed_<part>.json`` so it never overwrites a full run's results)."""
    parts = parts or ["render", "browser"]
    load0 = os.getloadavg()
    payload: dict = {"cpus": os.cpu_count(), "load_before": load0}
    if "render" in parts:
        print("compare page render (AppTest)", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            payload["render"] = render_bench(Path(tmp), REPEATS)
        payload["load_after_render"] = os.getloadavg()
    if "browser" in parts:
        print("browser: launch → first point, memory", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            payload["browser"] = browser_bench(Path(tmp))
    payload["load_after"] = os.getloadavg()
    path = write("ui_speed" if len(parts) == 2 else f"ui_speed_{parts[0]}", payload)

    print()
    if "browser" in payload:
        b = payload["browser"]
        for name, label in (("launch_warm", "warm graph"), ("launch_new_graph", "new graph")):
            print(_row(f"launch → first point ({label})", b[name]["drawn"]))
            print(_row("  first epoch in the store (worker)", b[name]["epoch"]))
            print(_row("  then drawn (page)", b[name]["drawn_after_epoch"]))
        print(f"200 runs all selected, drawn in the browser: {b['browser_all_drawn_s']:.2f} s")
        for when in ("memory_after_launches", "memory_after_200"):
            m = b[when]
            print(
                f"{when}: server VmHWM {m['server_mib']['VmHWM']} MiB, workers "
                + ", ".join(f"{w['VmHWM']} MiB" for w in m["workers_mib"])
            )
    if "render" in payload:
        r = payload["render"]
        for side, n in (("big", BIG), ("small", SMALL)):
            for k in ("default_cold", "default_warm", "all_first", "all_warm"):
                print(_row(f"compare render {n} runs, {k}", r[side][k]))
        print(
            "ratio 200 vs 10 runs: "
            + ", ".join(f"{k} {v:.2f}×" for k, v in r["ratio_big_vs_small"].items())
        )
    print(f"load average before/after: {load0} / {payload['load_after']}")
    print(f"→ {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
