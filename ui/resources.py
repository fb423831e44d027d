"""Handles every session shares: the run store, the worker pool, the device, previews.

One ``RunStore`` and one ``LocalExecutor`` per server process (``st.cache_resource``):
every browser tab reads the same store and queues onto the same pool, so two tabs
never start two pools competing for the same cores. Both objects are safe to share
across threads (the store opens one SQLite connection per thread; the executor
guards its process table with a lock) and no session mutates them.

Nothing here imports TensorFlow, and nothing in this process ever does: schedule
previews (which must come from the very schedule object training builds) and LR range
tests (a few hundred updates of the form's config) are asked of the server's
``TFService`` (``engine/executor/tf_service.py``), TensorFlow processes of its own.
Asking never blocks: a page gets a ``Ticket`` and shows "preparing…" until it is done.
"""

from __future__ import annotations

import functools
import gc
import importlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from engine.errors import StoreError, StoreReadOnly
from engine.store import RunStore, default_store_path
from engine.store.db import writable
from ui.shared_reads import SharedReads
from ui.watchers import Watchers, pace_factor

log = logging.getLogger(__name__)

WORKERS_ENV = "HPLAB_WORKERS"
TF_SERVICE_ENV = "HPLAB_TF_SERVICE"


def store_path() -> str:
    """``$HPLAB_STORE`` or ``./hplab.db``, absolute so every process agrees on the file."""
    return _resolved(str(default_store_path()), os.getcwd())


@functools.lru_cache(maxsize=16)
def _resolved(path: str, cwd: str) -> str:  # noqa: ARG001 (cwd: part of the cache key)
    # Every cached resource is keyed on this path, so a page asks for it hundreds of
    # times per run; resolving symlinks each time was a tenth of a 200-run page.
    return str(Path(path).expanduser().resolve())


@st.cache_resource(show_spinner=False)
def _store(path: str) -> RunStore:
    return RunStore(path)


def store() -> RunStore:
    """The server's one ``RunStore``: the pool's own when there is a pool.

    One store object per process, created before any connection is open, is a
    correctness rule here, not tidiness: opening a second ``RunStore`` on the same
    file reads its header with a plain ``open()``/``close()``, and closing any file
    descriptor drops every POSIX lock the process holds on that file — SQLite's
    other connections in this process then lose track of the WAL index and can keep
    reading a stale snapshot (measured: runs queued from the page were invisible to
    the workers). So the pool is created first and its store is shared.
    """
    ex = executor()
    return ex.store if ex is not None else _store(store_path())


def _read_only(path: str) -> bool:
    p = Path(path)
    return p.exists() and not writable(p)


def store_problem() -> StoreError | None:
    """Why this server cannot write its store, if it cannot: the file, its folder or
    its file system is read-only (then no pool is started and every page that only
    reads keeps working), or the pool gave up on it (its workers found it read-only)."""
    path = store_path()
    if _read_only(path):
        return StoreReadOnly(path)
    ex = executor()
    return None if ex is None else ex.error


def _freeze_heap() -> None:
    """Take every object alive now out of all later garbage collections.

    Streamlit collects garbage twice after every script run, fragment runs included
    (``runner.postScriptGC``): each full collection walks every object in the server.
    Modules live as long as the server, so they move to the permanent generation
    (``gc.freeze``) and the collections only walk what the pages allocate. Measured:
    the libraries the pages draw with made each collection 0.06 s (TensorFlow, when it
    was still imported here, 0.3-0.5 s). (Garbage in reference cycles at the moment of
    freezing stays for good: one page's worth, twice.)
    """
    gc.collect()
    gc.freeze()


def settle() -> None:
    """After every run (``app.py``): the first on this server starts ``warm_up`` (unless
    the server's start did, ``app.lifespan``) and returns at once.

    Not before the page, and not in the script: pandas and pyarrow take 0.3 s on an idle
    2-core machine and seconds on a loaded one, holding the GIL most of that time, and
    the same process's event loop is what sends the page to the browser and serves it
    Streamlit's JavaScript. Imported inside the first run, they kept a cold server's
    Launch button off the screen until they were in (measured: ``benchmarks/first_load.py``).
    What needs them waits for ``libraries_ready`` (``ui.launch_view.review``)."""
    warm_up()


# The modules Set up runs (the page a server opens on) imports, in the order it does:
# imported at the server's start, they are not in its first session's first run.
FIRST_PAGE_MODULES = (
    "streamlit.emojis",  # st.set_page_config's emoji icon
    "engine.spec.sources",
    "engine.spec.tasks",
    "ui.config_import",
    "ui.form",
    "ui.launch",
    "ui.launch_view",
    "ui.navigation",
    "ui.plan_view",
    "ui.search_form",
    "ui.settings_view",
    "ui.lr_finder_view",
    "ui.preview_view",
    "ui.setting_text",
    "ui.sidebar",
    "ui.widgets",
)
# What the pages draw with: pandas (and the engine's registries), Plotly.
PAGE_LIBRARIES = ("ui.charts", "ui.runs")

_warm_lock = threading.Lock()
_warming: threading.Thread | None = None
_warmed = threading.Event()


def warm_up(modules: Sequence[str] = ()) -> None:
    """Once per process, in a thread of its own: import ``modules``, then ``_warm_up``.
    Returns at once; a second call does nothing."""
    global _warming
    with _warm_lock:
        if _warming is not None:
            return
        _warming = threading.Thread(
            target=_warm_up, args=(tuple(modules),), name="hplab-warm-up", daemon=True
        )
    _warming.start()


def _warm_up(modules: Sequence[str] = ()) -> None:
    """Import ``modules`` and the page libraries, build one chart (Plotly loads its
    validators and template on the first figure: the exact preview's first draw no
    longer pays for it), then ``_freeze_heap``. A warm-up, not a dependency: by name, so
    this module stays below the views in the import graph; a failure only logs (the
    page that needs the module imports it itself and shows the error there).

    Meanwhile a thread waiting for the GIL claims it after 1 ms instead of 5
    (``sys.setswitchinterval``): the event loop serving the browser's first requests
    waits that much less at each of its turns."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.001))
    try:
        for module in modules:
            importlib.import_module(module)
        for module in PAGE_LIBRARIES:
            importlib.import_module(module)
        charts = sys.modules["ui.charts"]
        fig = charts.schedule_figure([("warm-up", "#4338ca", {"step": [0, 1], "lr": [1.0, 1.0]})])
        importlib.import_module("plotly.io").to_json(fig, validate=False)
        _freeze_heap()
    except Exception:
        log.exception("warming up the page libraries failed")
    finally:
        sys.setswitchinterval(interval)
        _warmed.set()


def libraries_ready() -> bool:
    """Whether pandas (``ui.runs``) and Plotly can be used without an import: warmed up,
    or already imported by whoever runs the pages (a test). False during a cold
    server's first run: what needs them shows that it is being prepared."""
    if _warmed.is_set():
        return True
    runs = sys.modules.get("ui.runs")  # imported, and not half-way through its import
    return runs is not None and not getattr(runs.__spec__, "_initializing", False)


def worker_count() -> int:
    """``$HPLAB_WORKERS`` (0 = no pool in this server), default one per CPU core."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return os.cpu_count() or 1
    try:
        return max(0, int(raw))
    except ValueError:
        log.warning("%s=%r is not a whole number; using one worker per core", WORKERS_ENV, raw)
        return os.cpu_count() or 1


@st.cache_resource(show_spinner="Starting the worker pool…")
def _executor(path: str, workers: int):
    if workers <= 0:
        return None
    from engine.executor import LocalExecutor
    from ui.form import DEFAULT_TASK

    # The setup page opens on this task's defaults: trace that graph in every worker
    # before anyone clicks launch, so the first run starts drawing at once.
    ex = LocalExecutor(path, workers=workers, prewarm=[{"task": DEFAULT_TASK}]).start()
    _started.append(ex)
    return ex


def executor():
    """The server's worker pool, started on first use; None when disabled or when the
    store cannot be written (workers could claim nothing; ``store_problem`` says why)."""
    path = store_path()
    if _read_only(path):
        return None
    return _executor(path, worker_count())


def submit(
    configs: list[dict], *, names: list[str], sweep_id: str, tags: list[str], reuse: bool = False
) -> list[str]:
    """Queue validated configs. Without a pool they wait in the store for any worker
    (``python -m engine worker``): the store is the queue either way. ``reuse``: see
    ``BaseExecutor.submit``."""
    ex = executor()
    if ex is not None:
        return ex.submit(configs, names=names, sweep_id=sweep_id, tags=tags, reuse=reuse)
    return store().create_runs(configs, names=names, sweep_id=sweep_id, tags=tags, reuse=reuse)


def cancel(run_id: str | None = None, *, sweep_id: str | None = None) -> int:
    ex = executor()
    if ex is not None:
        return ex.cancel(run_id, sweep_id=sweep_id)
    return store().request_cancel(run_id, sweep_id=sweep_id)


def pool_status() -> dict[str, Any]:
    ex = executor()
    if ex is not None:
        try:
            return ex.status()
        except Exception as e:  # a pool in trouble must not take the page down
            log.warning("executor status failed: %s", e)
    queued = len(store().list_runs(status="queued"))
    running = len(store().list_runs(status="running"))
    problem = store_problem()
    return {
        "backend": "none",
        "workers": [],
        "busy": running,
        "idle": 0,
        "queued": queued,
        "problem": None if problem is None else str(problem),
    }


@st.cache_data(show_spinner=False)
def gpu_devices() -> list[str]:
    """GPUs the NVIDIA driver reports, without importing TensorFlow in this process."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.startswith("GPU")]


def has_gpu() -> bool:
    return bool(gpu_devices())


def tf_service_enabled() -> bool:
    """``$HPLAB_TF_SERVICE`` (``0`` = this server starts no TensorFlow process: no exact
    previews, no range test); on by default, whatever ``HPLAB_WORKERS`` says."""
    return os.environ.get(TF_SERVICE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


@st.cache_resource(show_spinner=False)
def _tf_service(enabled: bool):
    if not enabled:
        return None
    from engine.executor.tf_service import TFService

    svc = TFService().start()
    _started.append(svc)
    return svc


# The pool and the TensorFlow service, in the order this process started them.
_started: list[Any] = []


def stop_started() -> None:
    """Stop what this process started, the last first, each within the time its own
    ``atexit`` hook allows (which then does nothing). For ``app.lifespan``: uvicorn
    ends a SIGTERMed server by raising the signal again once it has shut down, and a
    process killed by its signal runs no ``atexit`` hooks (its workers outlived it)."""
    from engine.executor import local, tf_service

    limits = {local.LocalExecutor: local.ATEXIT_STOP_TIMEOUT}
    while _started:
        obj = _started.pop()
        try:
            obj.stop(timeout=limits.get(type(obj), tf_service.ATEXIT_STOP_TIMEOUT))
        except Exception:  # one that will not stop must not keep the other running
            log.exception("stopping %r failed", obj)


def tf_service():
    """The server's TensorFlow service, started on first use; None when disabled."""
    return _tf_service(tf_service_enabled())


def _session_id() -> str | None:
    """The browser session asking: a session's newer range test replaces its older."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def schedule_preview(cfg: dict):
    """A ``Ticket`` for the exact learning rate of every update of a validated config
    (None: no service). Never waits: ``ticket.pending`` until the service answered."""
    svc = tf_service()
    if svc is None:
        return None
    return svc.submit("preview", {"config": cfg}, key=json.dumps(cfg, sort_keys=True))


def tf_import_seconds() -> float | None:
    """How long the preview process took from its start to its first answer (its
    TensorFlow load; None: not ready yet, or no service)."""
    svc = tf_service()
    if svc is None:
        return None
    return svc.status()["lanes"]["preview"]["start_seconds"]


# What the range test ignores (engine/lr_finder.py): it sweeps its own rates with no
# schedule, callbacks or accumulation for its own number of updates.
LR_FIND_IGNORES = ("learning_rate", "schedule", "callbacks", "epochs", "grad_accum_steps")


def lr_find_key(cfg: dict, *, min_lr: float, max_lr: float, updates: int) -> str:
    """The range test's inputs as JSON. Settings the test ignores are left out, so
    choosing its suggestion (a new ``learning_rate``) keeps its result on screen."""
    rest = {k: v for k, v in cfg.items() if k not in LR_FIND_IGNORES}
    return json.dumps(
        {"config": rest, "min_lr": min_lr, "max_lr": max_lr, "updates": updates},
        sort_keys=True,
    )


def lr_range_test(cfg: dict, *, min_lr: float, max_lr: float, updates: int):
    """Queue ``engine.lr_finder.lr_find`` on a validated config in the service's job
    process; a ``Ticket`` (None: no service). The same inputs answer from the
    service's cache; this session's older queued test is dropped."""
    svc = tf_service()
    if svc is None:
        return None
    payload = {"config": cfg, "min_lr": min_lr, "max_lr": max_lr, "updates": updates}
    key = lr_find_key(cfg, min_lr=min_lr, max_lr=max_lr, updates=updates)
    return svc.submit("lr_find", payload, key=key, owner=_session_id(), retry=True)


def lr_range_ticket(key: str):
    """Where the range test of ``lr_find_key(...)`` stands (None: not asked, or gone)."""
    svc = tf_service()
    return None if svc is None else svc.ticket("lr_find", key)


def can_export_script() -> bool:
    """Whether ``engine.export_script`` is there (without importing it)."""
    return importlib.util.find_spec("engine.export_script") is not None


def export_script_for(cfg: dict) -> str | None:
    """The standalone Keras script, or None while ``engine.export_script`` is unavailable."""
    try:
        from engine.export_script import export_script
    except ImportError:
        return None
    return export_script(cfg)


class _EpochCache:
    """Finished runs' epoch series, keyed on (store, run, finish time), least recently
    used out first. One per server: a finished run never changes, so every session and
    every poll reads the same lists; they are shared, never copied, and nothing that
    draws them mutates them. (``st.cache_data`` would unpickle a copy per run per
    rerun: 200 copies for a 200-run comparison.)"""

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> dict | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value: dict) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


@st.cache_resource(show_spinner=False)
def _epoch_cache() -> _EpochCache:
    return _EpochCache()


@st.cache_resource(show_spinner=False)
def live_reads() -> SharedReads:
    """The server's reads shared by live panels (``ui.shared_reads``)."""
    return SharedReads()


@st.cache_resource(show_spinner=False)
def _watchers() -> Watchers:
    return Watchers()


def watching(active: bool) -> int:
    """How many sessions poll live runs now, this one counted while ``active`` (its
    live panel polls) and dropped once it stops: the class size that paces the poll."""
    sid = _session_id()
    if not active:
        _watchers().leave(sid)
        return 1
    return _watchers().seen(sid)


def live_pace(seconds: float, active: bool) -> float | None:
    """A live fragment's ``run_every``: ``seconds``, slower while a class watches
    (``ui.watchers``); None while nothing it shows is active."""
    n = watching(active)
    return seconds * pace_factor(n) if active else None


def shared_list_runs() -> list:
    """``store().list_runs()`` for a live poll: shared across sessions, ≤ 1 s old."""
    return live_reads().get(("runs", store_path()), lambda: store().list_runs())


@st.cache_data(show_spinner=False, max_entries=512)
def _final_updates(path: str, run_id: str, finished: float) -> dict:  # noqa: ARG001
    # path and finished are the cache key: another store, or the run finished again.
    return store().update_series(run_id)


def _finished_key(path: str, run: dict) -> tuple | None:
    from engine.store import TERMINAL

    if run["status"] in TERMINAL and run.get("finished"):
        return (path, run["id"], run["finished"])
    return None


def _epoch_series(ids: list[str]) -> dict[str, dict]:
    """One store query for all ``ids``; a run deleted meanwhile reads as empty."""
    s = store()
    try:
        return s.epoch_series(ids)
    except KeyError:
        out = {}
        for i in ids:
            try:
                out[i] = s.epoch_series(i)[i]
            except KeyError:
                out[i] = {}
        return out


def series_for(
    runs: Sequence[dict], *, updates: bool = True, shared: bool = False
) -> dict[str, tuple[dict, dict | None]]:
    """Each run's epoch series and per-update columns (downsampled by the store on read),
    keyed by run id.

    Finished runs come from a server-wide cache; every other run's epochs are read in
    one query, so a 200-run comparison costs one round trip, not 200. Per-update
    columns (thousands of rows per run) are read only when a chart that shows them is
    open, and cached for finished runs. ``shared``: a live poll, whose read of the
    unfinished runs may be up to ``ui.shared_reads.TTL_SECONDS`` old and is shared with
    every other session polling the same runs.
    """
    path = store_path()
    cache = _epoch_cache()
    epochs: dict[str, dict] = {}
    done: dict[str, tuple] = {}  # finished, not cached yet: id -> its cache key
    live: list[str] = []
    for r in runs:
        key = _finished_key(path, r)
        hit = cache.get(key) if key else None
        if hit is not None:
            epochs[r["id"]] = hit
        elif key:
            done[r["id"]] = key
        else:
            live.append(r["id"])
    # A finished run is read here, after its status said finished, and cached for good;
    # a shared read may predate its last epochs (CI drew a completed run's empty chart
    # for ever), so only unfinished runs are read shared.
    if done:
        epochs |= _epoch_series(list(done))
        for rid, key in done.items():
            cache.put(key, epochs[rid])
    if live and shared:
        epochs |= live_reads().get(("epochs", path, tuple(live)), lambda: _epoch_series(live))
    elif live:
        epochs |= _epoch_series(live)
    out: dict[str, tuple[dict, dict | None]] = {}
    for r in runs:
        ups = None
        if updates:
            key = _finished_key(path, r)
            ups = _final_updates(*key) if key else store().update_series(r["id"])
        out[r["id"]] = (epochs[r["id"]], ups)
    return out


def run_series(run: dict, *, updates: bool = True) -> tuple[dict, dict | None]:
    """``series_for`` of one run."""
    return series_for([run], updates=updates)[run["id"]]
