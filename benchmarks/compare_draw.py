"""Drawing 200 runs × 30 epochs on Watch & compare, in Chromium: a baseline commit
against this checkout, side by side in one run (issue 10).

Two servers (``streamlit run app.py``, no workers) over copies of one store of 200
finished runs: this checkout, and the same store served by ``BASELINE`` (a commit
before the bundled charts, unpacked with ``git archive``; ``HPLAB_BENCH_BASELINE``
picks another). For each side, alternately:

1. **Click → drawn**: on the compare page (the latest sweep, 10 runs, selected), click
   "All 200 shown" and time until the Loss chart holds a curve of every run and the
   browser has finished drawing (no element still loading). This is what a person waits.
2. **Draw only**: the Loss figure that page drew (its data and layout, read back from
   the browser) drawn again with ``Plotly.newPlot`` on an empty page, timed to the next
   animation frame: the browser's share alone, without the server.

Absolute seconds move with the machine's load (printed); the ratio old / new measured
in the same run is what carries over.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

import plotly

from benchmarks.common import summary, write
from benchmarks.ui_speed import BIG, RUNS_DRAWN_JS

ROOT = Path(__file__).resolve().parents[1]

BASELINE = os.environ.get("HPLAB_BENCH_BASELINE", "f52096c")  # main before issue 10
REPEATS = int(os.environ.get("HPLAB_BENCH_REPEATS", "5"))

FIGURE_JS = """() => {
  const d = [...document.querySelectorAll('.js-plotly-plot')].find(d =>
    ((d.layout && d.layout.title && d.layout.title.text) || '').replace(/<[^>]*>/g, '')
      === 'Loss');
  return d ? JSON.stringify({data: d.data, layout: d.layout}) : null;
}"""

NEWPLOT_JS = """async (fig) => {
  const f = JSON.parse(fig), d = document.getElementById('g');
  Plotly.purge(d);
  const t0 = performance.now();
  await Plotly.newPlot(d, f.data, f.layout, {displaylogo: false});
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return {ms: performance.now() - t0, traces: f.data.length,
          legend: d.querySelectorAll('.legend .traces').length};
}"""

SETTLED_JS = "() => !document.querySelector('[data-testid=stSkeleton]')"


def baseline_tree(dest: Path) -> Path | None:
    """``BASELINE`` unpacked into ``dest`` (sharing this checkout's virtualenv)."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BASELINE],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"  no baseline ({BASELINE}): {e}", flush=True)
        return None
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def fill_with(root: Path, path: Path) -> None:
    """The same 200 runs (same seed), written by ``root``'s own store code: an older
    commit cannot open a store of a newer schema, so each side fills its own."""
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, '.'); "
        "from benchmarks.ui_speed import fill_store; "
        f"fill_store(Path({str(path)!r}), {BIG})"
    )
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


def _select(page, key: str, n: int) -> float:
    """Click the quick-pick button ``key`` and wait until ``n`` runs are drawn."""
    from browser_helpers import wait_idle

    wait_idle(page, quiet=1.0, timeout=300)
    t0 = time.perf_counter()
    # .first: the button itself (with a help tooltip the key matches a second one)
    page.locator(f".st-key-{key} button").first.click()
    page.wait_for_function(RUNS_DRAWN_JS, arg=n, polling=50, timeout=300_000)
    page.wait_for_function(SETTLED_JS, polling=50, timeout=300_000)
    return time.perf_counter() - t0


def click_to_drawn(page, url: str, total: int) -> float:
    page.goto(f"{url}/compare")
    page.wait_for_function(RUNS_DRAWN_JS, arg=10, polling=100, timeout=300_000)
    return _select(page, "compare_pick_all", total)


def main() -> None:
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS, serve
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()
    payload: dict = {"cpus": os.cpu_count(), "load_before": load0, "baseline": BASELINE}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        roots = {"new": ROOT}
        old = baseline_tree(tmp / "baseline")
        if old is not None:
            roots["old"] = old
        with sync_playwright() as p, contextlib.ExitStack() as stack:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            stack.callback(browser.close)
            pages, figures = {}, {}
            for side, root in roots.items():
                (tmp / side).mkdir()
                fill_with(root, tmp / side / "hplab.db")
                srv = stack.enter_context(serve(tmp / side, workers=0, root=root))
                ctx = browser.new_context(viewport={"width": 1440, "height": 900})
                pages[side] = (ctx.new_page(), srv.url)
            clicks: dict[str, list[float]] = {s: [] for s in roots}
            for r in range(REPEATS + 1):  # the first round loads code: not measured
                for side in roots if r % 2 == 0 else list(roots)[::-1]:
                    page, url = pages[side]
                    t = click_to_drawn(page, url, BIG)
                    figures[side] = page.evaluate(FIGURE_JS)
                    print(f"  {side}: click → {BIG} runs drawn {t:.2f} s", flush=True)
                    if r:
                        clicks[side].append(t)
            blank = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            blank.set_content("<div id=g style='width:1200px;height:420px'></div>")
            blank.add_script_tag(
                path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js")
            )
            draws: dict[str, list[dict]] = {s: [] for s in roots}
            for r in range(REPEATS + 1):
                for side in roots if r % 2 == 0 else list(roots)[::-1]:
                    d = blank.evaluate(NEWPLOT_JS, figures[side])
                    print(f"  {side}: Plotly.newPlot {d['ms']:.0f} ms", flush=True)
                    if r:
                        draws[side].append(d)
    for side in roots:
        payload[side] = {
            "click_to_drawn_s": summary(clicks[side]),
            "draw_only_s": summary([d["ms"] / 1000 for d in draws[side]]),
            "traces": draws[side][0]["traces"],
            "legend_entries": draws[side][0]["legend"],
        }
    if "old" in roots:
        payload["ratio_old_vs_new"] = {
            k: payload["old"][k]["median"] / payload["new"][k]["median"]
            for k in ("click_to_drawn_s", "draw_only_s")
        }
    payload["load_after"] = os.getloadavg()
    path = write("compare_draw", payload)
    print()
    for side in roots:
        s = payload[side]
        print(
            f"{side:>3}: click → drawn {s['click_to_drawn_s']['median']:.2f} s, draw only "
            f"{s['draw_only_s']['median']:.2f} s ({s['traces']} traces, "
            f"{s['legend_entries']} legend entries)"
        )
    if "ratio_old_vs_new" in payload:
        r = payload["ratio_old_vs_new"]
        print(
            f"old / new: click → drawn {r['click_to_drawn_s']:.1f}×, draw only "
            f"{r['draw_only_s']:.1f}×"
        )
    print(f"load average before/after: {load0} / {payload['load_after']}")
    print(f"→ {path}")


if __name__ == "__main__":
    main()
