"""Watch & compare and Run detail as a teacher meets them, in Chromium.

The runs are written into the server's store by ``browser_runs`` (a server without
workers, so nothing else touches them): a diverged run among healthy ones, identical
runs with one seed next to true seed repeats, names full of markdown and HTML.
Each test reads what the person sees: the live Plotly figures, the page's text,
element boxes at a projector's 1280×720, and every request the browser makes.
"""

from __future__ import annotations

import http.server
import itertools
import math
import re
import threading
from typing import ClassVar

import pytest
from browser_helpers import (
    free_port,
    overlap,
    wait_idle,
    wait_until,
)
from browser_runs import add_run, diverging, falling
from playwright.sync_api import expect
from test_browser_flow import no_exception

from engine.store import RunStore

pytestmark = pytest.mark.browser

REG = {"task": "regression-5", "data": {"n_train": 200, "n_test": 40}}


@pytest.fixture(autouse=True)
def _patient(page):
    """Six developers' suites share two cores here: the page draws slowly, so actions
    wait up to two minutes (a test still fails when the thing never happens)."""
    page.set_default_timeout(120_000)
    expect.set_options(timeout=60_000)


@pytest.fixture(scope="module")
def store(quiet_server):
    s = RunStore(quiet_server.store)
    yield s
    s.close()


def drawn(page, timeout: float = 120) -> None:
    """Until the script is idle and the browser has drawn every element (Streamlit shows
    grey skeletons while it loads a component's code: Plotly's takes seconds on a busy
    machine)."""
    wait_idle(page, quiet=1.0, timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stSkeleton]')", timeout=timeout * 1000
    )


def open_compare(page, srv, ids=None, *, sweep=None) -> None:
    query = f"sweep={sweep}" if sweep else f"runs={','.join(ids)}"
    page.goto(f"{srv.url}/compare?{query}")
    expect(page.get_by_role("heading", name="Watch & compare")).to_be_visible(timeout=60_000)
    expect(page.locator(".st-key-compare_chart_loss .main-svg").first).to_be_visible(
        timeout=120_000
    )
    drawn(page)
    no_exception(page)


# ----------------------------------------------------------------------------- parallel coords

PARCOORDS_JS = """() => {
  const d = document.querySelector('.st-key-compare_parallel .js-plotly-plot');
  if (!d || !d._fullData || !d._fullData.length) return null;
  const t = d._fullData[0], line = t.line;
  return {
    dims: t.dimensions.map(x => ({label: x.label, values: Array.from(x.values),
      tickvals: x.tickvals ? Array.from(x.tickvals) : null,
      ticktext: x.ticktext ? Array.from(x.ticktext) : null,
      range: x.range ? Array.from(x.range) : null})),
    color: Array.from(line.color), colorscale: line.colorscale,
    reversescale: !!line.reversescale, cmin: line.cmin, cmax: line.cmax,
  };
}"""


def _rgb(c: str) -> tuple[float, float, float]:
    if c.startswith("#"):
        return tuple(int(c[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(float(v) for v in re.findall(r"[\d.]+", c)[:3])


def scale_color(value: float, scale, cmin: float, cmax: float, reverse: bool):
    """The colour Plotly gives ``value`` on ``scale`` (linear between stops)."""
    t = 0.0 if cmax == cmin else min(1.0, max(0.0, (value - cmin) / (cmax - cmin)))
    stops = [(float(p), _rgb(c)) for p, c in scale]
    if reverse:
        stops = [(1 - p, c) for p, c in reversed(stops)]
    for (p0, c0), (p1, c1) in itertools.pairwise(stops):
        if p0 <= t <= p1:
            f = 0 if p1 == p0 else (t - p0) / (p1 - p0)
            return tuple(a + (b - a) * f for a, b in zip(c0, c1, strict=True))
    return stops[-1][1]


def luminance(rgb) -> float:
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_parallel_coordinates_read_the_right_way(quiet_server, store, page):
    """Best is darkest, a diverged run is drawn as diverged, learning rates on a log axis."""
    sweep = "sw-parcoords1"
    task = {"task": "regression-10", "data": {"n_train": 200, "n_test": 40}}  # alone here
    lrs = [1e-4, 1e-3, 1e-2, 1e-1]
    floors = [0.9, 0.3, 0.05, 0.5]  # lr 1e-2 is the best run, 1e-4 the worst
    for lr, floor in zip(lrs, floors, strict=True):
        add_run(
            store,
            {**task, "optimizer": "sgd", "learning_rate": lr},
            name=f"parcoords lr {lr:g}",
            curve=falling(floor),
            sweep_id=sweep,
        )
    add_run(
        store,
        {**task, "optimizer": "sgd", "learning_rate": 1.0},
        name="parcoords lr 1 (diverges)",
        curve=diverging(3),
        sweep_id=sweep,
    )
    open_compare(page, quiet_server, sweep=sweep)
    opener = page.locator(".st-key-compare_pc_open summary")  # WebGL: drawn when asked for
    if opener.count():
        opener.click()
    pc = wait_until(lambda: page.evaluate(PARCOORDS_JS), timeout=180, what="parallel coordinates")
    no_exception(page)
    lr_dim = next(d for d in pc["dims"] if "learning_rate" in d["label"])
    target = pc["dims"][-1]
    assert len(target["values"]) == 5

    # learning rate: equal steps in log space are equal steps on the axis
    def lr_of(v):
        return 10**v if "log" in lr_dim["label"] else v

    row = {round(math.log10(lr_of(v))): i for i, v in enumerate(lr_dim["values"])}
    pos = [lr_dim["values"][row[e]] for e in (-4, -3, -2)]
    assert math.isclose(pos[1] - pos[0], pos[2] - pos[1], rel_tol=0.05), (
        f"learning-rate axis is not logarithmic: {lr_dim}"
    )

    # the diverged run sits at the axis end labelled as such, not at a value
    div = target["values"][row[0]]
    finite = [target["values"][row[e]] for e in (-4, -3, -2, -1)]
    assert all(math.isfinite(v) for v in finite) and div is not None and math.isfinite(div), target
    assert div > max(finite) or div < min(finite), f"diverged drawn among the values: {target}"
    ticks = dict(zip(target["tickvals"] or [], target["ticktext"] or [], strict=False))
    assert any("diverged" in str(t) for v, t in ticks.items() if math.isclose(v, div)), target

    # colour: the lowest val_loss is the darkest line; the diverged run has its own colour
    def color_of(e):
        return scale_color(
            pc["color"][row[e]], pc["colorscale"], pc["cmin"], pc["cmax"], pc["reversescale"]
        )

    lum = {e: luminance(color_of(e)) for e in (-4, -3, -2, -1)}
    assert min(lum, key=lum.get) == -2, f"best run is not darkest: {lum}"
    assert max(lum, key=lum.get) == -4, f"worst run is not lightest: {lum}"
    d = color_of(0)
    assert all(math.dist(d, color_of(e)) > 40 for e in (-4, -3, -2, -1)), (
        "the diverged run shares a colour with a result"
    )
    expect(page.get_by_text(re.compile("drawn darkest"))).to_be_visible()


# ----------------------------------------------------------------------------- seed groups

BANDS_JS = """() => {
  const d = document.querySelector('.st-key-compare_chart_loss .js-plotly-plot');
  return d && d.data ? d.data.map(t => ({name: t.name, meta: t.meta || {}})) : null;
}"""


def test_only_runs_that_differ_in_seed_alone_form_a_band(quiet_server, store, page):
    twin = {**REG, "optimizer": "sgd", "learning_rate": 0.02, "seed": 42}
    twins = [add_run(store, twin, name=f"sgd twin {i}") for i in (1, 2)]
    seeds = [
        add_run(
            store,
            {**REG, "optimizer": "adam", "learning_rate": 0.003, "seed": s},
            name=f"adam · seed {s}",
            curve=falling(0.1 + 0.02 * s),
        )
        for s in (1, 2)
    ]
    page.goto(f"{quiet_server.url}/compare?runs={','.join(twins + seeds)}")
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("Seed repeats")).to_be_visible(timeout=120_000)
    text = main.inner_text()
    assert text.count("over 2 seeds") == 1, text[text.find("Seed repeats") :][:400]
    assert "± 0 over" not in text
    open_compare(page, quiet_server, twins + seeds)
    traces = page.evaluate(BANDS_JS)
    bands = [t["meta"] for t in traces if t["meta"].get("runs")]
    assert bands and all(set(m["runs"]) == set(seeds) for m in bands), bands
    singles = {t["meta"].get("run_id") for t in traces if t["meta"].get("series") == "loss"}
    assert set(twins) <= singles, "identical runs were averaged as if they were seed repeats"


# ----------------------------------------------------------------------------- the first screen

# Text Streamlit cut with an ellipsis ("Latest…", "Expl…", "Seeds as me…").
TRUNCATED_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] *')]
  .filter(e => e.offsetParent && e.textContent.trim() && e.scrollWidth > e.clientWidth + 1
    && getComputedStyle(e).textOverflow === 'ellipsis')
  .map(e => e.textContent.trim())"""


def _box(page, selector):
    return page.locator(selector).first.bounding_box()


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)])
def test_the_curves_come_first_and_nothing_is_cut(quiet_server, store, page, size):
    """At a projector's size the loss chart is on the first screen, before the table;
    no button reads "Latest…" or "Expl…"; the table's toolbar leaves the search free."""
    if len(store.list_runs()) < 19:
        for i in range(19):
            add_run(
                store,
                {**REG, "learning_rate": round(0.001 * (i + 1), 4)},
                name=f"filler {i + 1}",
                sweep_id="sw-filler0001",
            )
    ids = [r["id"] for r in store.list_runs(sweep_id="sw-filler0001")][:2]
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_compare(page, quiet_server, ids)
    chart = _box(page, ".st-key-compare_chart_loss")
    assert chart is not None
    assert chart["y"] < size[1] - 250, f"the loss chart starts at y={chart['y']:.0f}"
    table = page.locator('[class*="st-key-compare_table_"]')
    if table.is_visible():
        assert _box(page, '[class*="st-key-compare_table_"]')["y"] > chart["y"], (
            "the table comes first"
        )
    assert page.evaluate(TRUNCATED_JS) == []

    # the table, opened: its hover toolbar must not sit on the search box
    opener = page.locator(".st-key-compare_runs summary")
    if opener.count() and not table.is_visible():
        opener.first.click()
    expect(table).to_be_visible(timeout=30_000)
    drawn(page)
    table.hover()
    toolbar = page.locator('[class*="st-key-compare_table_"] [data-testid="stElementToolbar"]')
    expect(toolbar.first).to_be_visible(timeout=10_000)
    search = _box(page, ".st-key-compare_f_text input")
    assert not overlap(toolbar.first.bounding_box(), search), "the toolbar covers the search"
    assert page.evaluate(TRUNCATED_JS) == []


# ----------------------------------------------------------------------------- user text


class _Probe(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):  # http.server's name
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def probe():
    """A local HTTP endpoint that records every request made to it."""
    _Probe.hits = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Probe)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{srv.server_address[1]}", _Probe.hits
    finally:
        srv.shutdown()
        srv.server_close()


def shows(locator, text: str, timeout: float = 60) -> None:
    """Until ``locator`` shows ``text`` as typed. The zero-width spaces ``ui.literal`` puts in
    addresses (so markdown does not link them) are invisible and left out."""
    wait_until(
        lambda: text in locator.inner_text().replace("\u200b", ""),
        timeout=timeout,
        what=f"{text!r} shown as typed",
    )


LINKS_JS = """(host) => [...document.querySelectorAll('*')].filter(e =>
  [e.getAttribute('href'), e.getAttribute('src'), e.getAttribute('xlink:href'),
   e.getAttributeNS('http://www.w3.org/1999/xlink', 'href')]
  .some(v => v && v.includes(host))).map(e => e.outerHTML.slice(0, 200))"""

LEGEND_JS = """() => [...document.querySelectorAll('.st-key-compare_chart_loss .legendtext')]
  .map(e => e.textContent)"""


def test_names_tags_and_notes_are_plain_text(quiet_server, store, page, probe):
    host, hits = probe
    names = [
        f"![px](http://{host}/name.png)",
        f'<img src="http://{host}/html.png"> [link](http://{host}/link) http://{host}/auto',
        f'<a href="http://{host}/plotly">plotly link</a> **bold** :red[red] $x^2$',
    ]
    ids = [
        add_run(
            store,
            {**REG, "learning_rate": lr},
            name=n,
            tags=[f"![t](http://{host}/t.png)"],
            notes=f"**note** ![n](http://{host}/note.png) <b>x</b>",
            sweep_id="sw-markdown01",
        )
        for n, lr in zip(names, (0.01, 0.02, 0.03), strict=True)
    ]
    demo = add_run(
        store,
        {**REG, "optimizer": "sgd", "learning_rate": 1e-4, "epochs": 20},
        name=f"![demo](http://{host}/demo.png)",
        sweep_id="sw-markdown02",
        tags=["demo:learning-rate"],
    )
    same = [  # one name twice (a rename can do it): the legend still tells them apart
        add_run(store, {**REG, "learning_rate": lr}, name="regression · adam · lr 0.001")
        for lr in (0.001, 0.0011)
    ]

    open_compare(page, quiet_server, ids + same)
    main = page.locator('[data-testid="stMain"]')
    for n in names:
        shows(main, n)
    legend = page.evaluate(LEGEND_JS)
    assert set(legend) >= set(names), legend
    twins = [n for n in legend if n.startswith("regression · adam · lr 0.001")]
    assert len(twins) == 2 and len(set(twins)) == 2, legend
    page.locator(f".st-key-compare_explain_{ids[0]} button").first.click()
    shows(page.locator('[data-testid="stPopoverBody"]').first, names[0])
    page.keyboard.press("Escape")
    more = page.locator(".st-key-compare_more button")  # the "Tag or delete" popover
    if more.count():
        more.first.click()
    page.locator(".st-key-compare_delete button:visible").first.click()
    expect(main).to_contain_text("for good?", timeout=30_000)
    shows(main.locator('[data-testid="stAlert"]', has_text="for good?").first, names[1])
    assert page.evaluate(LINKS_JS, host) == []

    page.goto(f"{quiet_server.url}/run?run={ids[0]}")
    expect(page.get_by_role("heading", name="Run detail")).to_be_visible(timeout=60_000)
    shows(main.locator("h3").first, names[0])
    page.get_by_role("tab", name="Name, tags, notes").click()
    # The tab's click reruns the page (the open tab is in the address): a click on
    # Delete during that rerun is lost, so click once the page is quiet, until it asks.
    confirm = main.locator('[data-testid="stAlert"]', has_text="for good?")

    def asked() -> bool:
        if not confirm.count():
            wait_idle(page, quiet=0.5)
            if not confirm.count():
                page.locator(".st-key-detail_delete button").first.click()
        return confirm.count() > 0

    wait_until(asked, timeout=120, what="the delete confirmation on Run detail")
    shows(confirm.first, names[0])
    drawn(page)
    assert page.evaluate(LINKS_JS, host) == []

    page.goto(f"{quiet_server.url}/demos?demo=learning-rate")
    expect(page.get_by_role("heading", name="Guided demos")).to_be_visible(timeout=60_000)
    shows(main, f"![demo](http://{host}/demo.png)")
    drawn(page)
    no_exception(page)
    assert page.evaluate(LINKS_JS, host) == []
    assert hits == [], f"the browser fetched {hits}"
    assert demo


# ----------------------------------------------------------------------------- run detail

RANGE_JS = """(key) => {
  const d = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  return d && d._fullLayout ? {x: d._fullLayout.xaxis.range, y: d._fullLayout.yaxis.range}
    : null;
}"""


def test_run_detail_reads_plainly(quiet_server, store, page):
    """Predicted vs true spans the data; plateau cuts read as epochs, not a count."""
    target = [-5 + 11 * i / 49 for i in range(50)]
    prediction = [t * 0.9 + 0.2 for t in target]
    rid = add_run(
        store,
        {**REG, "callbacks": {"reduce_lr_on_plateau": {"patience": 2}}},
        name="detail facts",
        predictions={"output": {"kind": "regression", "target": target, "prediction": prediction}},
        result={"plateau_cuts": [4]},
    )
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{quiet_server.url}/run?run={rid}")
    expect(page.get_by_role("heading", name="Run detail")).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="Predictions").click()
    ranges = wait_until(
        lambda: page.evaluate(RANGE_JS, "detail_pred_output"), timeout=120, what="the scatter"
    )
    lo, hi = min(target + prediction), max(target + prediction)
    for axis in ("x", "y"):
        a, b = ranges[axis]
        assert lo - 2 <= a <= lo and hi <= b <= hi + 2, f"{axis} axis spans {a:.1f}..{b:.1f}"
    page.get_by_role("tab", name="Config & export").click()
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("after epoch 4")
    expect(main).not_to_contain_text("LR plateau cuts: 4")
    no_exception(page)


# ----------------------------------------------------------------------------- offline


@pytest.mark.parametrize("path", ["", "compare", "run", "demos", "schedules", "losses"])
def test_no_request_leaves_this_machine(quiet_server, store, page, path):
    """Every page works offline: fonts, icons and the favicon come from the server."""
    if not store.list_runs():
        add_run(store, REG, name="offline run")
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.goto(f"{quiet_server.url}/{path}")
    expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=90_000)
    drawn(page, timeout=180)
    local = re.compile(rf"^({re.escape(quiet_server.url)}|http://127\.0\.0\.1:|data:|blob:)")
    assert [u for u in seen if not local.match(u)] == []


def test_run_detail_keeps_its_run_through_a_rename_and_the_tabs(quiet_server, store, page):
    """The Run picker is the person's choice: renaming the run shown (its label in the
    picker changes) and clicking through the tabs keeps that run, never the newest."""
    older = add_run(store, {**REG, "learning_rate": 0.004}, name="older run")
    newest = add_run(store, {**REG, "learning_rate": 0.005}, name="newest run")
    page.goto(f"{quiet_server.url}/run?run={older}")
    main = page.locator('[data-testid="stMain"]')
    shows(main.locator("h3").first, "older run")
    page.get_by_role("tab", name="Name, tags, notes").click()
    box = page.locator(".st-key-detail_name input")
    wait_until(lambda: box.input_value() == "older run", timeout=60, what="the name box")
    wait_idle(page, quiet=0.5)
    box.fill("older run, renamed")
    box.press("Enter")
    wait_idle(page, quiet=0.5)
    page.locator(".st-key-detail_save_name button").click()
    shows(main.locator("h3").first, "older run, renamed")
    for tab in ("Curves", "Config & export", "Name, tags, notes", "Curves"):
        wait_idle(page, quiet=0.5)
        page.get_by_role("tab", name=tab).click()
        wait_idle(page, quiet=0.5)
        assert "newest run" not in main.locator("h3").first.inner_text(), tab
    shows(main.locator("h3").first, "older run, renamed")
    assert f"run={older}" in page.url and newest not in page.url
    # Back on the fields: the saved name, and an unsaved note kept through another tab.
    page.get_by_role("tab", name="Name, tags, notes").click()
    wait_until(lambda: box.input_value() == "older run, renamed", timeout=60, what="the saved name")
    notes = page.locator(".st-key-detail_notes textarea")
    wait_idle(page, quiet=0.5)
    notes.fill("not saved yet")
    page.locator(".st-key-detail_name input").click()  # the note's blur sends it
    wait_idle(page, quiet=0.5)
    page.get_by_role("tab", name="Curves").click()
    wait_idle(page, quiet=0.5)
    page.get_by_role("tab", name="Name, tags, notes").click()
    wait_until(lambda: notes.input_value() == "not saved yet", timeout=60, what="the kept note")
    assert box.input_value() == "older run, renamed"
    shows(main.locator("h3").first, "older run, renamed")
