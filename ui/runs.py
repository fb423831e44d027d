"""Runs as the dashboard shows them: table rows, progress, config diffs, seed groups.

Pure functions over the run dicts ``RunStore.list_runs``/``get_run`` return, so the
table, the progress list and the diff view can be tested without a browser and
stay consistent with one another.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from engine.config import SCALARS, shape_of
from engine.spec.callbacks import CALLBACKS
from engine.spec.losses import LOSSES
from engine.spec.metrics import metric_name
from engine.spec.optimizers import OPTIMIZERS
from engine.spec.params import Param
from engine.spec.schedules import SCHEDULES
from engine.spec.tasks import DATA_PARAMS, MODEL_PARAMS, TASKS
from ui.charts import Marker, RunCurves
from ui.diagnosis_view import diagnosis_of, table_label
from ui.literal import md
from ui.setting_text import ident, loss_label, summary  # noqa: F401 (re-exported)
from ui.watchers import pace_factor

ACTIVE = ("queued", "running")


# ----------------------------------------------------------------------------- config bits


def clip_label(clipping: Mapping[str, float] | None) -> str:
    if not clipping:
        return "none"
    ((mode, v),) = clipping.items()
    return f"{mode} {v:g}"


def primary_metric(config: Mapping[str, Any]) -> str | None:
    """The first metric the run logs (Keras' name), e.g. ``accuracy`` or ``top3_accuracy``."""
    metrics = config.get("metrics")
    if isinstance(metrics, Mapping):  # multi-output: the first head that has one
        for head, ms in metrics.items():
            if ms:
                m = ms[0] if isinstance(ms[0], Mapping) else {"name": ms[0]}
                return f"{head}_{metric_name(m['name'], m)}"
        return None
    if metrics:
        m = metrics[0] if isinstance(metrics[0], Mapping) else {"name": metrics[0]}
        return metric_name(m["name"], m)
    return None


def total_updates(run: Mapping[str, Any]) -> int | None:
    info = run.get("info") or {}
    if info.get("total_updates"):
        return int(info["total_updates"])
    try:
        return shape_of(run["config"]).total_updates
    except Exception:  # a config from an older schema: no progress fraction, not a crash
        return None


def pick(mapping: Mapping[str, Any], *keys: str) -> tuple[str | None, Any]:
    """The first of ``keys`` present (validation before training values)."""
    for k in keys:
        if k in mapping and mapping[k] is not None:
            return k, mapping[k]
    return None, None


# ----------------------------------------------------------------------------- formatting


def fmt_num(v: Any, digits: int = 4) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.{digits}g}"
    return str(v)


def plateau_text(cuts: Sequence[int]) -> str:
    """``[4, 9]`` → ``after epochs 4 and 9 (2 cuts)``: when reduce-LR-on-plateau cut the
    rate. The numbers are epochs, which a bare list reads as a count."""
    cuts = [int(c) for c in cuts]
    if len(cuts) == 1:
        return f"after epoch {cuts[0]} (once)"
    listed = ", ".join(str(c) for c in cuts[:-1]) + f" and {cuts[-1]}"
    return f"after epochs {listed} ({len(cuts)} cuts)"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


# ----------------------------------------------------------------------------- progress


def progress(run: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
    """Fraction done, a one-line status text and the ETA of one run.

    The ETA extrapolates the elapsed time over updates done, so it includes the
    run's start-up (TensorFlow tracing); early stopping can end a run sooner.
    """
    now = time.time() if now is None else now
    status = run["status"]
    total_ep = (run.get("config") or {}).get("epochs") or 0
    ep = run.get("epochs_done") or 0
    tot = total_updates(run)
    done = run.get("updates_done") or 0
    frac = min(1.0, done / tot) if tot else (ep / total_ep if total_ep else 0.0)
    if status in ("completed",):
        frac = 1.0
    eta = None
    if status == "running" and run.get("started") and frac > 0:
        elapsed = now - run["started"]
        eta = elapsed * (1.0 - frac) / frac
    _, loss = pick(run.get("last") or {}, "loss")
    _, val = pick(run.get("last") or {}, "val_loss")
    reused = (run.get("info") or {}).get("reused_from") or {}
    if status == "queued" and reused:
        text = f"queued: waiting for the identical run {md(reused.get('name'))}"
    elif status == "queued":
        text = "queued: waiting for a free worker"
    elif status == "running" and ep == 0 and done == 0:
        text = "starting: building the model and tracing the first step"
    else:
        text = f"epoch {ep}/{total_ep}"
        if loss is not None:
            text += f" · loss {fmt_num(loss)}"
        if val is not None:
            text += f" · val {fmt_num(val)}"
        if status == "running":
            text += f" · ETA {fmt_duration(eta)}"
    if status not in ACTIVE:
        started, finished = run.get("started"), run.get("finished")
        took = finished - started if started and finished else None
        text = f"{status} · " + text + (f" · took {fmt_duration(took)}" if took else "")
        if reused:  # a finished copy of an identical run (engine.store.reuse)
            text += f" · reused from {md(reused.get('name'))}"
    return {"fraction": frac, "text": text, "eta": eta, "epoch": ep, "epochs": total_ep}


# ----------------------------------------------------------------------------- polling

POLL_SECONDS = 1.5
FAST_POLL_SECONDS = 0.3
# A free worker claims a queued run within a fraction of a second: one still queued
# after this long waits behind other runs, and nothing will happen to it soon.
JUST_QUEUED_SECONDS = 3.0
# A new graph traces for a few seconds before its first epoch; a run that has shown
# nothing for longer than this is a slow one, watched at the normal pace.
FIRST_EPOCH_SECONDS = 20.0


def poll_seconds(runs: Iterable[Mapping[str, Any]], now: float, watching: int = 1) -> float | None:
    """How often the live panel re-reads the store for these runs; None: not at all.

    Fast while a run was just launched or just started and has drawn nothing yet (the
    first point is what a person waits for after clicking launch, and the wait is
    short), at the normal pace while runs train, never once all are finished; both
    slower while a class of ``watching`` sessions polls (``ui.watchers``).
    """
    base = _base_poll_seconds(runs, now)
    return None if base is None else base * pace_factor(watching)


def _base_poll_seconds(runs: Iterable[Mapping[str, Any]], now: float) -> float | None:
    interval = None
    for r in runs:
        if r["status"] not in ACTIVE:
            continue
        interval = POLL_SECONDS
        if r.get("epochs_done"):
            continue
        if r["status"] == "queued":
            since, window = r.get("created"), JUST_QUEUED_SECONDS
        else:
            since, window = r.get("started"), FIRST_EPOCH_SECONDS
        if since is not None and now - since < window:
            return FAST_POLL_SECONDS
    return interval


# ----------------------------------------------------------------------------- table


def runs_table(runs: Sequence[Mapping[str, Any]], now: float | None = None) -> pd.DataFrame:
    """One row per run with its settings and best/last results; numbers stay numbers so
    the table sorts correctly."""
    rows = []
    for r, name in zip(runs, display_names(runs), strict=True):
        cfg = r.get("config") or {}
        best, last = r.get("best") or {}, r.get("last") or {}
        loss_key, best_loss = pick(best, "val_loss", "loss")
        metric = primary_metric(cfg)
        m_key, m_best = pick(best, f"val_{metric}", metric) if metric else (None, None)
        started, finished = r.get("started"), r.get("finished")
        end = finished or (now or time.time())
        sched = ident(cfg.get("schedule")) or "constant"
        rows.append(
            {
                "id": r["id"],
                "Run": name,
                "Status": r["status"],
                "Diagnosis": table_label(diagnosis_of(r)),
                "Task": cfg.get("task") or r.get("task"),
                "Optimizer": ident(cfg.get("optimizer")),
                "LR": cfg.get("learning_rate"),
                "Batch": cfg.get("batch_size"),
                "Accum": cfg.get("grad_accum_steps"),
                "Schedule": sched,
                "Clipping": clip_label(cfg.get("clipping")),
                "Precision": cfg.get("precision"),
                "Seed": cfg.get("seed"),
                "Epochs": f"{r.get('epochs_done') or 0}/{cfg.get('epochs', '?')}",
                "Best loss": best_loss,
                "Best loss is": loss_key,
                "Best epoch": (r.get("best_epoch") or {}).get(loss_key) if loss_key else None,
                "Last loss": last.get("loss"),
                "Last val loss": last.get("val_loss"),
                "Metric": m_key,
                "Best metric": m_best,
                "Tags": ", ".join(r.get("tags") or []),
                "Created": datetime.fromtimestamp(r["created"]) if r.get("created") else None,
                "Duration (s)": (end - started) if started else None,
            }
        )
    columns = [
        "id",
        "Run",
        "Status",
        "Diagnosis",
        "Epochs",
        "Best loss",
        "Best epoch",
        "Metric",
        "Best metric",
        "Last loss",
        "Last val loss",
        "Task",
        "Optimizer",
        "LR",
        "Batch",
        "Accum",
        "Schedule",
        "Clipping",
        "Precision",
        "Seed",
        "Tags",
        "Created",
        "Duration (s)",
        "Best loss is",
    ]
    return pd.DataFrame(rows, columns=columns)


def filter_runs(
    runs: Iterable[Mapping[str, Any]],
    *,
    tasks: Sequence[str] = (),
    statuses: Sequence[str] = (),
    optimizers: Sequence[str] = (),
    tags: Sequence[str] = (),
    text: str = "",
) -> list[Mapping[str, Any]]:
    """Runs matching every given filter (an empty filter matches all); tags match any."""
    out = []
    needle = text.strip().lower()
    for r in runs:
        cfg = r.get("config") or {}
        if tasks and (cfg.get("task") or r.get("task")) not in tasks:
            continue
        if statuses and r["status"] not in statuses:
            continue
        if optimizers and ident(cfg.get("optimizer")) not in optimizers:
            continue
        if tags and not set(tags) & set(r.get("tags") or []):
            continue
        if needle and needle not in f"{r['name']} {r['id']} {r.get('notes', '')}".lower():
            continue
        out.append(r)
    return out


# ----------------------------------------------------------------------------- configs


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves; lists stay whole (a metric list is one setting)."""
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        if not obj and prefix:
            out[prefix] = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def _cell(v: Any) -> str:
    if v is _MISSING:
        return "—"
    if isinstance(v, list | dict):
        return json.dumps(v, separators=(", ", ": "))
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


_MISSING = object()


def differing_keys(
    configs: Sequence[Mapping[str, Any]], *, ignore: Iterable[str] = ()
) -> list[str]:
    flat = [flatten(c) for c in configs]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    skip = set(ignore)
    out = []
    for k in keys:
        if k in skip:
            continue
        vals = [json.dumps(f.get(k, "<missing>"), sort_keys=True, default=str) for f in flat]
        if len(set(vals)) > 1:
            out.append(k)
    return out


def config_diff(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Only the settings that differ between the runs: rows = config keys, one column per
    run. An empty frame means the runs share one config."""
    configs = [r.get("config") or {} for r in runs]
    keys = differing_keys(configs)
    flat = [flatten(c) for c in configs]
    labels = _unique_labels(runs)
    data = {
        label: [_cell(f.get(k, _MISSING)) for k in keys]
        for label, f in zip(labels, flat, strict=True)
    }
    return pd.DataFrame(data, index=pd.Index(keys, name="setting"))


def _unique_labels(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    return display_names(runs)


def display_names(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each run's name, made unique among ``runs`` by its id where names repeat.

    Names are the person's (a rename can give two runs one name, and older launches
    named every run ``regression · adam · lr 0.001``): the table, the legends and the
    diff must still tell the runs apart.
    """
    names = [r["name"] for r in runs]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return [
        n if counts[n] == 1 else f"{n} ({r['id'][:8]})" for r, n in zip(runs, names, strict=True)
    ]


def seed_group_key(config: Mapping[str, Any]) -> str:
    """Runs with equal keys are the same experiment, seeds aside."""
    rest = {k: v for k, v in config.items() if k != "seed"}
    return json.dumps(rest, sort_keys=True, default=str)


def seed_groups(runs: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Group key → run ids, for two or more runs that differ in the seed and nothing else.

    Two runs with one config *and* one seed are the same run twice (a launch repeated,
    a demo run next to the identical run set up by hand): averaging them would report
    a spread of zero "over 2 seeds". Within a group only the first run of each seed
    counts; a repeat of a seed already in the group stays a run of its own.
    """
    by_key: dict[str, dict[Any, str]] = {}
    for r in runs:
        cfg = r.get("config") or {}
        seeds = by_key.setdefault(seed_group_key(cfg), {})
        seeds.setdefault(json.dumps(cfg.get("seed")), r["id"])
    return {k: list(ids.values()) for k, ids in by_key.items() if len(ids) > 1}


def group_label(name: str) -> str:
    """``"adam · seed 43"`` → ``"adam"``: the group's name in a legend."""
    head, sep, tail = name.rpartition(" · seed ")
    return head if sep and tail.isdigit() else name


def hyperparameters(runs: Sequence[Mapping[str, Any]], *, limit: int = 8) -> list[str]:
    """Config keys worth an axis in parallel coordinates: those that vary (not the seed).

    A key only some runs have (Adam's ``beta_1`` next to SGD runs) would be an axis of
    blanks, so only keys every run sets are kept; the object's ``name`` stands for it.
    """
    configs = [r.get("config") or {} for r in runs]
    flats = [flatten(c) for c in configs]
    keys = differing_keys(configs, ignore=("seed",))
    out = [k for k in keys if all(k in f for f in flats)]
    for k in keys:
        top = k.split(".")[0]
        name = f"{top}.name"
        if any(o.split(".")[0] == top for o in out):
            continue
        # the object itself as one text axis: "adam" / "sgd", "clipnorm 1" / "none"
        out.append(name if all(name in f for f in flats) else top)
    return list(dict.fromkeys(out))[:limit]


def parallel_rows(
    runs: Sequence[Mapping[str, Any]], dims: Sequence[str], result_key: str, which: str = "best"
) -> list[dict[str, Any]]:
    rows = []
    for r in runs:
        cfg = r.get("config") or {}
        flat = flatten(cfg)
        row = {}
        for d in dims:
            v = flat[d] if d in flat else cfg.get(d)
            whole = isinstance(v, dict) or (v is None and "." not in d)  # "clipping": none
            row[d] = summary(v) if whole else _axis_value(v)
        row[result_key] = (r.get(which) or {}).get(result_key)
        rows.append(row)
    return rows


def with_result(runs: Sequence[Mapping[str, Any]], key: str, which: str = "best") -> list:
    """The runs parallel coordinates can place: a result, or diverged (drawn as such).
    A run still waiting for its first epoch has neither and is left out."""
    out = []
    for r in runs:
        v = (r.get(which) or {}).get(key)
        if r["status"] == "diverged" or (isinstance(v, int | float) and not isinstance(v, bool)):
            out.append(r)
    return out


def param_at(config: Mapping[str, Any], path: str) -> Param | None:
    """The registry ``Param`` behind a dotted config path (``optimizer.weight_decay``)."""
    top, _, rest = path.partition(".")
    if not rest:
        return SCALARS.get(top)
    if top in ("data", "model"):
        return (DATA_PARAMS if top == "data" else MODEL_PARAMS).get(rest)
    if top == "callbacks":
        cb, _, name = rest.partition(".")
        return CALLBACKS.entry(cb).params.get(name) if cb in CALLBACKS.names() else None
    registry = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "loss": LOSSES}.get(top)
    name = ident(config.get(top))
    if registry is None or name is None or name not in registry:
        return None
    return registry.entry(name).params.get(rest)


def log_dims(runs: Sequence[Mapping[str, Any]], dims: Sequence[str]) -> list[str]:
    """The dimensions to draw on a log axis: rate-like knobs (the registry marks them
    ``log``, as its sliders are), whose values span orders of magnitude."""
    out = []
    for d in dims:
        params = [param_at(r.get("config") or {}, d) for r in runs]
        if params and all(p is not None and p.log for p in params):
            out.append(d)
    return out


def _axis_value(v: Any) -> Any:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int | float) or v is None:
        return v
    return _cell(v)


def result_keys(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Losses and metrics that have a best value, validation first."""
    keys: list[str] = []
    for r in runs:
        keys += [k for k in (r.get("best") or {}) if k not in keys]
    return sorted(keys, key=lambda k: (not k.startswith("val_"), k != "val_loss", k != "loss", k))


# ----------------------------------------------------------------------------- curves


def curves_for(
    run: Mapping[str, Any],
    epochs: Mapping[str, Mapping[str, list]],
    updates: Mapping[str, list] | None,
    color: str,
    *,
    group: str | None = None,
    name: str | None = None,
) -> RunCurves:
    """A run's store data shaped for ``ui.charts``, with its best epoch and the
    diagnosis' findings (overfitting onset and gap, divergence, loss spikes) marked.
    ``name`` is how the charts call it (``display_names``: unique among the runs shown)."""
    cfg = run.get("config") or {}
    info = run.get("info") or {}
    upe = info.get("updates_per_epoch")
    n_train = info.get("n_train")
    if upe is None or n_train is None:
        try:
            shape = shape_of(cfg)
            upe = upe or shape.updates_per_epoch
            n_train = n_train or shape.n_train
        except Exception:  # incomplete config: the epoch axis still works
            upe, n_train = upe or 1.0, n_train or 0
    markers = _best_marker(run)
    found = (diagnosis_of(run) or {}).get("markers") or {}
    overfit = found.get("overfit_from")
    if overfit:
        markers.append(
            Marker(
                key="val_loss",
                label=f"overfitting from epoch {overfit}",
                epoch=int(overfit),
                symbol="triangle-up",
            )
        )
    if found.get("diverged_at_update"):
        at = int(found["diverged_at_update"])
        markers.append(Marker(key="*", label=f"diverged at update {at}", update=at, kind="line"))
    markers += [
        Marker(key="loss", label=f"loss spike at update {u}", update=int(u), symbol="triangle-down")
        for u in found.get("spike_updates") or []
    ]
    return RunCurves(
        run_id=run["id"],
        name=name or run["name"],
        color=color,
        epochs=dict(epochs),
        updates=dict(updates) if updates else None,
        updates_per_epoch=float(upe or 1.0),
        batch_size=int(cfg.get("batch_size") or 1),
        accum=int(cfg.get("grad_accum_steps") or 1),
        n_train=int(n_train or 0),
        clipping=cfg.get("clipping"),
        markers=markers,
        group=group,
        group_label=group_label(run["name"]) if group else None,
        gap_from=int(overfit) if overfit else None,
    )


def _best_marker(run: Mapping[str, Any]) -> list[Marker]:
    """A star on the run's best epoch: validation loss when it has one, else training."""
    best_epoch = run.get("best_epoch") or {}
    for key in ("val_loss", "loss"):
        if best_epoch.get(key):
            e = best_epoch[key]
            return [Marker(key=key, label=f"best {key} (epoch {e})", epoch=e)]
    return []


def metric_keys(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Metric series the runs log (train names; ``val_`` twins are drawn with them)."""
    out: list[str] = []
    for r in runs:
        for k in (r.get("info") or {}).get("logged") or []:
            if k != "loss" and k not in out:
                out.append(k)
        for k in r.get("last") or {}:
            base = k[4:] if k.startswith("val_") else k
            if base not in out and base != "loss" and base not in _EXTRAS:
                out.append(base)
    return out


_EXTRAS = ("lr", "epoch_time", "examples_per_sec", "wall_time", "updates")


def task_title(task_id: str | None) -> str:
    t = TASKS.get(task_id or "")
    return t.title if t else (task_id or "?")
