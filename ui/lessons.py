"""Lessons: a teacher's comparison as a small JSON file, read with field-named errors.

A lesson is what a Guided demo is, written as data a teacher can copy and edit
instead of Python: a title, the teacher's own text (markdown), the runs to launch
(whole configs, a base config and one knob's values, or a base and a grid), what
each run should be diagnosed as, the compare chart tab to open, an optional caveat,
which controls students may change (``locked`` ones are drawn disabled, ``hidden``
ones not at all) and an optional question the reveal panel asks.

The shipped lessons live in the top-level ``lessons/`` folder, one file each; the
file's name (without ``.json``) is the lesson's id, so ``lessons/learning-rate.json``
opens at ``/demos?demo=learning-rate``. Reading goes through the engine's JSON reader
(``engine.json_input``: size, depth and integer guards) and every run through the
engine's validator, and every problem is a ``ConfigError`` named by its place in the
file (``runs[2].config.learning_rate: must be > 0, got -1``), never a traceback. A bad
file in the folder is reported with its name while the others still load.

Pure: no Streamlit, no TensorFlow. ``ui.demos`` builds the Guided demos from here and
the reveal panel imports ``Question``.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import json_input
from engine.config import TOP_LEVEL, logged_names, validate
from engine.diagnosis.text import LABELS
from engine.errors import ConfigError, field_path, show
from engine.sweep import Choice
from engine.sweep import plan as sweep_plan
from ui.plan import MAX_RUNS, PlannedRun, fmt_value, from_configs

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"
FOLDER_ENV = "HPLAB_LESSONS"  # another lessons folder for the dashboard (a class's own)
FORMAT = "hp-lab-lesson/1"
TAG_PREFIX = "demo:"
# The compare page's tabs (``ui.navigation.COMPARE_TABS``, which imports Streamlit;
# a test keeps the two equal).
TABS = ("Loss", "Metrics", "Learning rate", "Gradients", "Speed")
KINDS = ("lowest", "label", "turn")
EXPECTABLE = tuple(lab for lab in LABELS if lab != "too_early")

KEYS = (
    "format",
    "title",
    "text",
    "source",
    "order",
    "tab",
    "caveat",
    "runs",
    "locked",
    "hidden",
    "question",
)
RUN_KEYS = ("name", "config", "expect")
FORMS = ("knob", "grid", "each")
MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_NAME = 200
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Question:
    """What the reveal panel asks before it shows the answer.

    ``lowest``: which run ends lowest on ``metric``; ``label``: which diagnosis label
    ``run`` gets (every run's when ``run`` is None); ``turn``: the epoch where ``run``'s
    ``metric`` turns up.
    """

    kind: str
    text: str  # the prompt shown to students (the teacher's markdown)
    metric: str = "val_loss"
    run: str | None = None


@dataclass(frozen=True)
class LessonRun:
    name: str  # plain text, never markdown
    config: dict  # the raw config, validated at launch like any other
    expect: tuple[str, ...]  # acceptable diagnosis labels, the one to expect first


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str  # plain text
    source: str  # plain text
    text: str  # the teacher's markdown: what to look for
    runs: tuple[LessonRun, ...]
    tab: str = "Loss"  # the compare page's chart tab where the lesson shows
    caveat: str | None = None  # a warning the page shows before launch (markdown)
    locked: tuple[str, ...] = ()  # config paths drawn disabled
    hidden: tuple[str, ...] = ()  # config paths not drawn
    question: Question | None = None
    order: int | None = None  # where the lesson sits in the list (None: after, by id)
    # the ``runs`` block as written (knob/grid/each/list), for exporting and the page
    spec: Any = field(default=None, compare=False, repr=False)

    @property
    def look_for(self) -> str:
        """The name Guided demos have always used for the lesson's text."""
        return self.text

    @property
    def tag(self) -> str:
        return f"{TAG_PREFIX}{self.id}"

    def planned(self) -> list[PlannedRun]:
        return from_configs([r.name for r in self.runs], [r.config for r in self.runs])


# ----------------------------------------------------------------------------- checks


class _Problems:
    """Problems gathered across the whole file, so a teacher fixes them in one go."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, message: str) -> None:
        if (where, message) not in self.items:
            self.items.append((where, message))

    def extend(self, items: Sequence[tuple[str, str]]) -> None:
        for f, m in items:
            self.add(f, m)


def _text(value: Any, where: str, p: _Problems, *, limit: int, one_line: bool) -> str | None:
    if not isinstance(value, str):
        p.add(where, f"must be a string, got {show(value)}")
        return None
    if not value.strip():
        p.add(where, "must not be empty")
        return None
    if len(value) > limit:
        p.add(where, f"at most {limit:,} characters, got {len(value):,}")
        return None
    if one_line and _CONTROL.search(value):
        p.add(where, "must be one line of text (no control characters)")
        return None
    return value.strip() if one_line else value


def _labels(value: Any, where: str, p: _Problems) -> tuple[str, ...] | None:
    """A label or a non-empty list of them (the first is the one to expect)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        p.add(where, f"must be a diagnosis label or a list of them, got {show(value)}")
        return None
    bad = [v for v in items if not isinstance(v, str) or v not in EXPECTABLE]
    if bad:
        p.add(where, f"{show(bad[0])} is not a label (one of {', '.join(EXPECTABLE)})")
        return None
    return tuple(dict.fromkeys(items))


def _path(value: Any, where: str, p: _Problems) -> str | None:
    """A dotted config path (``optimizer.momentum``) whose head is a config key."""
    if not isinstance(value, str) or not value.strip():
        p.add(where, f"must be a dotted config path like 'learning_rate', got {show(value)}")
        return None
    parts = value.split(".")
    if any(not s for s in parts):
        p.add(where, f"empty segment in the dotted path {show(value)}")
        return None
    if parts[0] not in TOP_LEVEL:
        p.add(where, f"unknown config key {show(parts[0])} (one of {', '.join(TOP_LEVEL)})")
        return None
    return value


def _object(value: Any, where: str, p: _Problems) -> dict | None:
    if not isinstance(value, dict):
        p.add(where, f"must be a JSON object, got {show(value)}")
        return None
    return value


def _unknown(obj: dict, allowed: Sequence[str], where: str, p: _Problems) -> None:
    for k in obj:
        if k not in allowed:
            p.add(field_path(where, k), f"unknown key (allowed: {', '.join(allowed)})")


def _list(value: Any, where: str, p: _Problems, what: str) -> list | None:
    if not isinstance(value, list) or not value:
        p.add(where, f"must be a non-empty list of {what}, got {show(value)}")
        return None
    if len(value) > MAX_RUNS:
        p.add(where, f"at most {MAX_RUNS} runs per lesson, got {len(value)}")
        return None
    return value


def _expect_each(value: Any, n: int, where: str, p: _Problems) -> list[tuple[str, ...] | None]:
    """``expect`` of a knob or grid: one label (or list of labels) per run, or one label
    for all of them."""
    if isinstance(value, str):
        one = _labels(value, where, p)
        return [one] * n
    if not isinstance(value, list) or len(value) != n:
        p.add(where, f"must list one expectation per run ({n}), got {show(value)}")
        return [None] * n
    return [_labels(v, f"{where}[{i}]", p) for i, v in enumerate(value)]


# A run before validation: its name, raw config, expectation, and how to name the
# place in the file a problem of one of its config's fields comes from.
@dataclass
class _Draft:
    name: str | None
    raw: dict | None
    expect: tuple[str, ...] | None
    where: Any  # callable: config field -> place in the file


def _run_items(items: list, where: str, base: dict | None, p: _Problems) -> list[_Draft]:
    """Explicit runs: ``[{"name", "config", "expect"}]``; with a base, each config's
    top-level keys replace the base's."""
    drafts = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        obj = _object(item, at, p)
        if obj is None:
            drafts.append(_Draft(None, None, None, None))
            continue
        _unknown(obj, RUN_KEYS, at, p)
        for k in RUN_KEYS:
            if k not in obj:
                p.add(field_path(at, k), "missing")
        name = _text(obj.get("name"), f"{at}.name", p, limit=MAX_NAME, one_line=True)
        cfg = _object(obj.get("config"), f"{at}.config", p) if "config" in obj else None
        expect = _labels(obj.get("expect"), f"{at}.expect", p) if "expect" in obj else None
        raw = None
        if cfg is not None:
            raw = copy.deepcopy({**(base or {}), **cfg})

        drafts.append(_Draft(name, raw, expect, _run_place(at, base is not None, cfg or {})))
    return drafts


def _run_place(at: str, has_base: bool, own: dict):
    """Where a run's config problem is in the file: the run's own config for a key it
    sets (or when there is no base), else the base."""

    def place(f: str) -> str:
        head = f.split(".", 1)[0].split("[", 1)[0]
        if not has_base or head in own or not f:
            return field_path(f"{at}.config", f) if f else f"{at}.config"
        return _base_place(f)

    return place


def _value_text(v: Any) -> str:
    """A knob value as a default run name says it (``learning_rate 0.01``); ``show`` for
    what a name cannot hold (a 5,000-digit integer, a deep object)."""
    if isinstance(v, bool) or v is None or isinstance(v, dict | list):
        return show(v)
    if isinstance(v, int) and v.bit_length() > 64:
        return show(v)
    return fmt_value(v)[:MAX_NAME]


def _base_place(f: str) -> str:
    return field_path("runs.base", f) if f else "runs.base"


def _touches(f: str, path: str) -> bool:
    return f == path or f.startswith(path + ".") or path.startswith(f + ".")


def _task_ok(base: dict, p: _Problems) -> bool:
    """A base without a valid task cannot expand (dotted paths start from its defaults)."""
    try:
        validate(base)
    except ConfigError as e:
        task = [(f, m) for f, m in e.problems if f == "task"]
        if task:
            p.extend([(_base_place(f), m) for f, m in task])
            return False
    return True


def _knob_runs(spec: dict, base: dict, p: _Problems) -> list[_Draft]:
    knob = _path(spec.get("knob"), "runs.knob", p)
    values = _list(spec.get("values"), "runs.values", p, "knob values")
    if knob is None or values is None:
        return []
    if knob.split(".")[0] == "task":
        p.add("runs.knob", "the task cannot vary within a lesson (one task per comparison)")
        return []
    names: list[Any] = [f"{knob} {_value_text(v)}" for v in values]
    if "names" in spec:
        given = spec["names"]
        if not isinstance(given, list) or len(given) != len(values):
            p.add("runs.names", f"must list one name per value ({len(values)}), got {show(given)}")
        else:
            names = [
                _text(n, f"runs.names[{i}]", p, limit=MAX_NAME, one_line=True)
                for i, n in enumerate(given)
            ]
    if "expect" not in spec:
        p.add("runs.expect", "missing: one diagnosis label (or list of labels) per value")
        expects: list = [None] * len(values)
    else:
        expects = _expect_each(spec["expect"], len(values), "runs.expect", p)
    if not _task_ok(base, p):
        return []
    axis = [Choice(str(i), {knob: v}) for i, v in enumerate(values)]
    drafts = []
    for i, run in enumerate(sweep_plan(base, [axis])):
        at = f"runs.values[{i}]"
        if run.problems:
            p.extend([(at, m) for _, m in run.problems])
            drafts.append(_Draft(names[i], None, expects[i], None))
            continue

        def place(f: str, at=at) -> str:
            return f"{at} ({f})" if f and _touches(f, knob) else _base_place(f)

        drafts.append(_Draft(names[i], run.raw, expects[i], place))
    return drafts


def _grid_runs(spec: dict, base: dict, p: _Problems) -> list[_Draft]:
    grid = _object(spec.get("grid"), "runs.grid", p)
    if grid is None or not grid:
        if grid is not None:
            p.add("runs.grid", "must map at least one config path to its values")
        return []
    axes, paths = [], []
    for k, vals in grid.items():
        at = field_path("runs.grid", k)
        path = _path(k, at, p)
        vals = _list(vals, at, p, "values")
        if path is None or vals is None:
            continue
        if path.split(".")[0] == "task":
            p.add(at, "the task cannot vary within a lesson (one task per comparison)")
            continue
        paths.append(path)
        axes.append([Choice(f"{path} {_value_text(v)}", {path: v}) for v in vals])
    if len(axes) != len(grid):
        return []
    n = 1
    for a in axes:
        n *= len(a)
    if n > MAX_RUNS:
        p.add("runs.grid", f"{n} runs; at most {MAX_RUNS} per lesson")
        return []
    if "expect" not in spec:
        p.add("runs.expect", "missing: a diagnosis label for every run, or one per run")
        expects: list = [None] * n
    else:
        expects = _expect_each(spec["expect"], n, "runs.expect", p)
    if not _task_ok(base, p):
        return []
    varying = [i for i, a in enumerate(axes) if len(a) > 1]
    drafts = []
    for i, (run, combo) in enumerate(
        zip(sweep_plan(base, axes), itertools.product(*axes), strict=True)
    ):
        name = (" · ".join(combo[j].label for j in varying) or "base")[:MAX_NAME]
        if run.problems:
            p.extend([(field_path("runs.grid", f), m) for f, m in run.problems])
            drafts.append(_Draft(name, None, expects[i], None))
            continue

        def place(f: str, name=name) -> str:
            hit = next((q for q in paths if f and _touches(f, q)), None)
            return f"{field_path('runs.grid', hit)} ({name})" if hit else _base_place(f)

        drafts.append(_Draft(name, run.raw, expects[i], place))
    return drafts


def _drafts(spec: Any, p: _Problems) -> list[_Draft]:
    if isinstance(spec, list):
        items = _list(spec, "runs", p, "runs")
        return _run_items(items, "runs", None, p) if items else []
    obj = _object(spec, "runs", p)
    if obj is None:
        return []
    forms = [f for f in FORMS if f in obj]
    if len(forms) != 1:
        p.add(
            "runs",
            "must be a list of runs, or an object with a base and exactly one of "
            f"{', '.join(FORMS)}" + (f" (got {', '.join(forms)})" if forms else ""),
        )
        return []
    form = forms[0]
    allowed = {
        "knob": ("base", "knob", "values", "names", "expect"),
        "grid": ("base", "grid", "expect"),
        "each": ("base", "each"),
    }[form]
    _unknown(obj, allowed, "runs", p)
    base = _object(obj.get("base", {}), "runs.base", p)
    if base is None:
        return []
    try:
        json_input.check_nesting(base, "runs.base")
    except ConfigError as e:
        p.extend(e.problems)
        return []
    if form == "knob":
        return _knob_runs(obj, base, p)
    if form == "grid":
        return _grid_runs(obj, base, p)
    items = _list(obj.get("each"), "runs.each", p, "runs")
    return _run_items(items, "runs.each", base, p) if items else []


def _runs(spec: Any, p: _Problems) -> tuple[tuple[LessonRun, ...], list[dict]]:
    """The lesson's runs, and their canonical configs (every run valid) for the checks
    that need them (the question's metric)."""
    drafts = _drafts(spec, p)
    runs, canon = [], []
    seen: dict[str, int] = {}
    for i, d in enumerate(drafts):
        if d.name is not None:
            if d.name in seen:
                p.add(
                    f"runs[{i}].name",
                    f"{show(d.name)} is also run {seen[d.name] + 1}'s name: names tell runs apart",
                )
            seen.setdefault(d.name, i)
        if d.raw is None:
            continue
        try:
            json_input.check_nesting(d.raw)
            canon.append(validate(d.raw))
        except ConfigError as e:
            p.extend([(d.where(f), m) for f, m in e.problems])
            continue
        if d.name is not None and d.expect is not None:
            runs.append(LessonRun(d.name, d.raw, d.expect))
    if len(runs) != len(drafts):
        return (), []
    return tuple(runs), canon


def _paths(value: Any, where: str, p: _Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        p.add(where, f"must be a list of config paths like 'learning_rate', got {show(value)}")
        return ()
    out = [_path(v, f"{where}[{i}]", p) for i, v in enumerate(value)]
    return tuple(dict.fromkeys(v for v in out if v is not None))


def _question(
    value: Any, runs: Sequence[LessonRun], canon: Sequence[dict], p: _Problems
) -> Question | None:
    if value is None:
        return None
    obj = _object(value, "question", p)
    if obj is None:
        return None
    _unknown(obj, ("kind", "text", "metric", "run"), "question", p)
    kind = obj.get("kind")
    if kind not in KINDS:
        p.add("question.kind", f"must be one of {', '.join(KINDS)}, got {show(kind)}")
        kind = None
    text = _text(obj.get("text"), "question.text", p, limit=MAX_TEXT, one_line=False)
    metric = obj.get("metric", "val_loss")
    if not isinstance(metric, str) or not metric:
        p.add("question.metric", f"must be a metric name like 'val_loss', got {show(metric)}")
        metric = None
    elif canon:
        logged = [set(n for x in logged_names(c) for n in (x, f"val_{x}")) for c in canon]
        if not all(metric in names for names in logged):
            shown = ", ".join(sorted(set.intersection(*logged)))
            p.add("question.metric", f"{show(metric)} is not logged by every run (one of {shown})")
            metric = None
    run = obj.get("run")
    names = [r.name for r in runs]
    if run is not None:
        if kind == "lowest":
            p.add("question.run", "a 'lowest' question compares all runs: leave run out")
            run = None
        elif not isinstance(run, str) or (runs and run not in names):
            p.add("question.run", f"must be one of the lesson's run names, got {show(run)}")
            run = None
    elif kind == "turn":
        p.add("question.run", "missing: a 'turn' question asks about one run, by its name")
    if kind is None or text is None or metric is None or (kind == "turn" and run is None):
        return None
    return Question(kind, text, metric, run)


# ----------------------------------------------------------------------------- reading


def is_lesson(document: Any) -> bool:
    """Whether an imported JSON document is a lesson rather than a config: it says so
    (``format``) or it has a title and runs and no task."""
    if not isinstance(document, dict):
        return False
    if isinstance(document.get("format"), str) and document["format"].startswith("hp-lab-lesson"):
        return True
    return "task" not in document and "title" in document and "runs" in document


def check_id(lesson_id: Any) -> str:
    if not isinstance(lesson_id, str) or not _ID.fullmatch(lesson_id):
        raise ConfigError(
            "file name",
            f"{show(lesson_id)}: a lesson's id is its file name: letters, digits, '-', '_' "
            "or '.', at most 64",
        )
    return lesson_id


def parse(document: Any, lesson_id: str) -> Lesson:
    """The lesson in a parsed JSON document, or ``ConfigError`` naming every problem by
    its place in the file."""
    check_id(lesson_id)
    p = _Problems()
    obj = _object(document, "lesson", p)
    if obj is None:
        raise ConfigError(p.items)
    try:
        json_input.check_nesting(obj, "")
    except ConfigError as e:
        raise ConfigError(e.problems) from None
    _unknown(obj, KEYS, "", p)
    if "format" in obj and obj["format"] != FORMAT:
        p.add("format", f"must be {show(FORMAT)} (or left out), got {show(obj['format'])}")
    for k in ("title", "text", "runs"):
        if k not in obj:
            p.add(k, "missing")
    title = text = None
    if "title" in obj:
        title = _text(obj["title"], "title", p, limit=MAX_TITLE, one_line=True)
    if "text" in obj:
        text = _text(obj["text"], "text", p, limit=MAX_TEXT, one_line=False)
    source = obj.get("source", "")
    if source != "":
        source = _text(source, "source", p, limit=MAX_TITLE, one_line=True)
    tab = obj.get("tab", "Loss")
    if tab not in TABS:
        p.add("tab", f"must be one of {', '.join(TABS)}, got {show(tab)}")
    caveat = obj.get("caveat")
    if caveat is not None:
        caveat = _text(caveat, "caveat", p, limit=MAX_TEXT, one_line=False)
    order = obj.get("order")
    if order is not None and (not isinstance(order, int) or isinstance(order, bool)):
        p.add("order", f"must be a whole number (where the lesson is listed), got {show(order)}")
        order = None
    elif order is not None and not -(10**6) <= order <= 10**6:
        p.add("order", f"must be within ±1,000,000, got {show(order)}")
        order = None
    runs, canon = _runs(obj.get("runs"), p) if "runs" in obj else ((), [])
    locked = _paths(obj.get("locked"), "locked", p)
    hidden = _paths(obj.get("hidden"), "hidden", p)
    question = _question(obj.get("question"), runs, canon, p)
    if p.items:
        raise ConfigError(p.items)
    return Lesson(
        lesson_id,
        title,
        source or "",
        text,
        runs,
        tab,
        caveat,
        locked,
        hidden,
        question,
        order,
        copy.deepcopy(obj["runs"]),
    )


def loads(data: bytes | str, lesson_id: str) -> Lesson:
    """A lesson from JSON text (an upload, a paste, a file's bytes)."""
    return parse(json_input.loads(data, "lesson"), lesson_id)


def id_for(filename: str) -> str:
    """The lesson id of an uploaded file's name: its stem, tidied to the id's alphabet."""
    stem = Path(str(filename)).name.removesuffix(".json")
    tidy = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-._")[:64]
    return tidy or "lesson"


def read(path: Path) -> Lesson:
    """One lesson file; ``ConfigError`` for a problem reading or in the file."""
    try:
        if path.stat().st_size > json_input.MAX_BYTES:
            raise ConfigError("file", f"larger than {json_input.MAX_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError("file", f"cannot be read ({e.strerror})") from None
    return loads(data, path.stem)


def folder() -> Path:
    """The folder the dashboard lists: ``$HPLAB_LESSONS`` or the shipped ``lessons/``."""
    return Path(os.environ.get(FOLDER_ENV) or LESSONS_DIR)


@dataclass(frozen=True)
class Catalog:
    """The lessons that loaded, in their listed order, and each bad file's problems as
    ``("lessons/foo.json: runs[2].config.learning_rate", message)``."""

    lessons: dict[str, Lesson]
    problems: list[tuple[str, str]]


def load_folder(folder: Path = LESSONS_DIR) -> Catalog:
    """Every ``*.json`` in ``folder``: the good ones, and the bad ones named."""
    found: list[Lesson] = []
    problems: list[tuple[str, str]] = []
    label = folder.name
    try:
        files = sorted(folder.glob("*.json"))
    except OSError as e:
        return Catalog({}, [(f"{label}/", f"cannot be listed ({e.strerror})")])
    for path in files:
        shown = f"{label}/{path.name}"
        try:
            found.append(read(path))
        except ConfigError as e:
            problems += [(f"{shown}: {f}" if f else shown, m) for f, m in e.problems]
    found.sort(key=lambda x: (x.order is None, x.order or 0, x.id))
    return Catalog({x.id: x for x in found}, problems)


# ----------------------------------------------------------------------------- writing


def to_document(lesson: Lesson) -> dict[str, Any]:
    """The lesson as its file holds it (key order as the shipped files)."""
    doc: dict[str, Any] = {"format": FORMAT, "title": lesson.title}
    if lesson.order is not None:
        doc["order"] = lesson.order
    doc["source"] = lesson.source
    doc["text"] = lesson.text
    doc["tab"] = lesson.tab
    if lesson.caveat:
        doc["caveat"] = lesson.caveat
    doc["runs"] = copy.deepcopy(lesson.spec)
    if lesson.locked:
        doc["locked"] = list(lesson.locked)
    if lesson.hidden:
        doc["hidden"] = list(lesson.hidden)
    if lesson.question:
        q = lesson.question
        doc["question"] = {"kind": q.kind, "text": q.text, "metric": q.metric}
        if q.run is not None:
            doc["question"]["run"] = q.run
    return doc
