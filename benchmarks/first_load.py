"""First load of a cold server (issue 10), and the server's memory (issue 11, item 11).

Two sides or more, alternated, in one run:

- **before**: the repository at ``BASELINE``, the last commit with TensorFlow in the
  Streamlit server (the setup page imported it for the schedule preview, blocking the
  script; the LR range test trained in the server), exported with ``git archive``;
  ``HPLAB_BENCH_BASELINE=a,b`` measures each of several commits (the first is "before");
- **after**: this checkout (previews and range tests in the TensorFlow service).

Each repeat starts a fresh ``streamlit run app.py`` (two workers, an empty store) and
opens Chromium on Set up runs as soon as the server answers its health check, then:

1. **launch**: page load → the Launch button visible, enabled and actionable
   (Playwright's trial click) — the target is ≤ 3 s. The page is asked every 50 ms
   (``READY``; until 2026-12-02 Playwright's ``expect`` waited, at its own intervals,
   so older readings are not comparable with newer ones: compare sides of one run);
2. **preview**: page load → the exact LR preview drawn (polled the same way);
3. **range test**: one LR range test on the default config (200 updates), click →
   its **Use** button — the first one on a cold server (after: its process may still
   be importing TensorFlow) — then **warm**: a second one (100 updates), the same way;
4. **memory**: peak RSS (``VmHWM``) of the server after all that (and the Schedule
   explorer drawn), and of each child process (workers; the service's lanes).

Absolute seconds move with the machine's load (printed with the results); the ratio
of the two sides measured in one run is what carries over.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

from benchmarks.common import alternate, summary, write
from tests.proc_helpers import memory_mib, roles

ROOT = Path(__file__).resolve().parents[1]
# main before TensorFlow left the server; HPLAB_BENCH_BASELINE=<commit> compares with
# another (e.g. the commit before a change to the first load).
BASELINES = os.environ.get("HPLAB_BENCH_BASELINE", "f52096c").split(",")
BASELINE = BASELINES[0]
# HPLAB_BENCH_LAUNCH_ONLY=1: only steps 1-2 (Launch clickable, preview drawn), no range
# tests or memory (a quicker side by side of the first load alone).
LAUNCH_ONLY = os.environ.get("HPLAB_BENCH_LAUNCH_ONLY", "") not in ("", "0")
REPEATS = int(os.environ.get("HPLAB_BENCH_REPEATS", "3"))
WORKERS = 2
TIMEOUT = 300_000  # ms: TensorFlow imports on a loaded 2-core machine
POLL = 50  # ms between two looks at the page (a person sees it within a frame or three)
LAUNCH = ".st-key-setup_launch button"
READY = f"""() => {{
    const b = document.querySelector({LAUNCH!r});
    return !!b && !b.disabled && b.getBoundingClientRect().height > 0;
}}"""
CHART = ".st-key-setup_schedule_chart .main-svg"
DRAWN = f"() => !!document.querySelector({CHART!r})"


def export_baseline(dest: Path, commit: str = BASELINE) -> Path:
    """``git archive commit`` unpacked into ``dest`` (nothing in this checkout moves)."""
    tar = dest / f"{commit}.tar"
    with tar.open("wb") as f:
        subprocess.run(["git", "archive", commit], cwd=ROOT, stdout=f, check=True)
    with tarfile.open(tar) as t:
        t.extractall(dest / commit, filter="data")
    return dest / commit


def memory(pid: int) -> dict:
    kids = roles(pid)
    return {
        "server_mib": memory_mib(pid),
        "children_mib": {f"{role}:{p}": memory_mib(p) for p, role in sorted(kids.items())},
    }


def one_cold_start(root: Path, browser) -> dict:
    from browser_helpers import serve
    from playwright.sync_api import expect

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        with serve(Path(tmp), workers=WORKERS, root=root) as srv:
            health = time.monotonic() - t0
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            t_goto = time.monotonic()
            page.goto(srv.url)
            page.wait_for_function(READY, polling=POLL, timeout=TIMEOUT)
            t_seen = time.monotonic() - t_goto
            page.locator(LAUNCH).click(trial=True, timeout=TIMEOUT)
            t_launch = time.monotonic() - t_goto
            page.wait_for_function(DRAWN, polling=POLL, timeout=TIMEOUT)
            t_preview = time.monotonic() - t_goto
            if LAUNCH_ONLY:
                page.close()
                out = {"health_s": health, "launch_s": t_launch, "preview_s": t_preview}
                out["launch_seen_s"] = t_seen
                out["launch_from_start_s"] = health + t_launch
                out["load_1min"] = os.getloadavg()[0]
                print(
                    f"  launch {t_launch:.2f} s (seen {t_seen:.2f} s), preview {t_preview:.2f} s, "
                    f"health after {health:.2f} s, load {out['load_1min']:.1f}",
                    flush=True,
                )
                return out

            page.get_by_text("Find a learning rate").click()
            t_lr = time.monotonic()
            page.locator(".st-key-setup_lrf_run button").click()
            use = page.locator(".st-key-setup_lrf_use button").first  # a rerun may hold two
            expect(use).to_be_visible(timeout=TIMEOUT)
            t_lr = time.monotonic() - t_lr
            suggestion = re.search(r"Use (\S+)", use.inner_text()).group(1)

            updates = page.locator(".st-key-setup_lrf_updates input[type=range]")
            updates.focus()
            updates.press("ArrowLeft")  # 200 → 100 updates: a test not run yet
            expect(page.locator(".st-key-setup_lrf_updates")).to_contain_text("100")
            expect(use).to_have_count(0, timeout=TIMEOUT)  # the old result is for 200
            t_warm = time.monotonic()
            page.locator(".st-key-setup_lrf_run button").click()
            expect(use).to_be_visible(timeout=TIMEOUT)
            t_warm = time.monotonic() - t_warm

            page.goto(f"{srv.url}/schedules")
            expect(page.locator(".st-key-sx_chart_update .main-svg").first).to_be_visible(
                timeout=TIMEOUT
            )
            mem = memory(srv.proc.pid)
            page.close()
    out = {
        "health_s": health,
        "launch_s": t_launch,
        "launch_from_start_s": health + t_launch,
        "preview_s": t_preview,
        "lr_test_s": t_lr,
        "lr_test_warm_s": t_warm,
        "suggestion": suggestion,
        "memory": mem,
    }
    print(
        f"  launch {t_launch:.2f} s, preview {t_preview:.2f} s, range test {t_lr:.2f} s "
        f"(warm {t_warm:.2f} s), "
        f"server VmHWM {mem['server_mib']['VmHWM']} MiB (health after {health:.1f} s)",
        flush=True,
    )
    return out


def main() -> None:
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        trees = {c: export_baseline(Path(tmp), c) for c in BASELINES}
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def side(name: str, root: Path):
            return lambda: print(f"{name}:", flush=True) or one_cold_start(root, browser)

        sides = {"before": side(f"before ({BASELINE})", trees[BASELINE])}
        sides |= {c: side(c, trees[c]) for c in BASELINES[1:]}
        sides["after"] = side("after", ROOT)
        try:
            runs = alternate(sides, REPEATS)
        finally:
            browser.close()
    load1 = os.getloadavg()

    def med(side: str, k: str) -> dict:
        return summary([r[k] for r in runs[side]])

    payload: dict = {"baseline": BASELINE, "cpus": os.cpu_count(), "workers": WORKERS}
    payload["baselines"] = BASELINES
    timed = ["launch_s", "preview_s"] + ([] if LAUNCH_ONLY else ["lr_test_s", "lr_test_warm_s"])
    extra = ["launch_seen_s", "load_1min"] if LAUNCH_ONLY else []
    for side in runs:
        keys = ("health_s", "launch_from_start_s", *timed, *extra)
        payload[side] = {k: med(side, k) for k in keys}
        if not LAUNCH_ONLY:
            payload[side]["server_vmhwm_mib"] = summary(
                [r["memory"]["server_mib"]["VmHWM"] for r in runs[side]]
            )
        payload[side]["runs"] = runs[side]
    compared = timed + ([] if LAUNCH_ONLY else ["server_vmhwm_mib"])
    payload["ratio_after_vs_before"] = {
        k: payload["after"][k]["median"] / payload["before"][k]["median"] for k in compared
    }
    for c in BASELINES[1:]:
        payload[f"ratio_after_vs_{c}"] = {
            k: payload["after"][k]["median"] / payload[c][k]["median"] for k in compared
        }
    payload["load_before"], payload["load_after"] = load0, load1
    path = write("first_load_launch" if LAUNCH_ONLY else "first_load", payload)

    print()
    for k, label in (
        ("launch_s", "page load → Launch clickable"),
        ("preview_s", "page load → exact preview drawn"),
        ("lr_test_s", "range test click → Use button"),
        ("lr_test_warm_s", "a second range test → Use"),
    ):
        if k not in timed:
            continue
        b, a = payload["before"][k], payload["after"][k]
        print(
            f"{label:<34} before {b['median']:6.2f} s [{b['min']:.2f}–{b['max']:.2f}]  "
            f"after {a['median']:6.2f} s [{a['min']:.2f}–{a['max']:.2f}]  "
            f"ratio {payload['ratio_after_vs_before'][k]:.2f}×"
        )
        for c in BASELINES[1:]:
            m = payload[c][k]
            print(
                f"{'':<34} {c} {m['median']:6.2f} s [{m['min']:.2f}–{m['max']:.2f}]  "
                f"after/{c} {payload[f'ratio_after_vs_{c}'][k]:.2f}×"
            )
    if LAUNCH_ONLY:
        print(f"load average before/after: {load0} / {load1}")
        print(f"→ {path}")
        return
    b, a = payload["before"]["server_vmhwm_mib"], payload["after"]["server_vmhwm_mib"]
    print(
        f"{'server peak RSS':<34} before {b['median']:6.0f} MiB  after {a['median']:6.0f} MiB  "
        f"ratio {payload['ratio_after_vs_before']['server_vmhwm_mib']:.2f}×"
    )
    last = runs["after"][-1]["memory"]["children_mib"]
    print("after, children VmHWM: " + ", ".join(f"{k} {v['VmHWM']} MiB" for k, v in last.items()))
    print(f"load average before/after: {load0} / {load1}")
    print(f"→ {path}")


if __name__ == "__main__":
    main()
