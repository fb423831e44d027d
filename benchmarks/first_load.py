"""First load of a cold server (issue 10), and the server's memory (issue 11, item 11).

Two sides, alternated, in one run:

- **before**: the repository at ``BASELINE``, the last commit with TensorFlow in the
  Streamlit server (the setup page imported it for the schedule preview, blocking the
  script; the LR range test trained in the server), exported with ``git archive``;
- **after**: this checkout (previews and range tests in the TensorFlow service).

Each repeat starts a fresh ``streamlit run app.py`` (two workers, an empty store) and
opens Chromium on Set up runs as soon as the server answers its health check, then:

1. **launch**: page load → the Launch button visible, enabled and actionable
   (Playwright's trial click) — the target is ≤ 3 s;
2. **preview**: page load → the exact LR preview drawn;
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
BASELINE = os.environ.get("HPLAB_BENCH_BASELINE", "f52096c")
# HPLAB_BENCH_LAUNCH_ONLY=1: only steps 1-2 (Launch clickable, preview drawn), no range
# tests or memory (a quicker side by side of the first load alone).
LAUNCH_ONLY = os.environ.get("HPLAB_BENCH_LAUNCH_ONLY", "") not in ("", "0")
REPEATS = int(os.environ.get("HPLAB_BENCH_REPEATS", "3"))
WORKERS = 2
TIMEOUT = 300_000  # ms: TensorFlow imports on a loaded 2-core machine


def export_baseline(dest: Path) -> Path:
    """``git archive BASELINE`` unpacked into ``dest`` (nothing in this checkout moves)."""
    tar = dest / "baseline.tar"
    with tar.open("wb") as f:
        subprocess.run(["git", "archive", BASELINE], cwd=ROOT, stdout=f, check=True)
    with tarfile.open(tar) as t:
        t.extractall(dest / "tree", filter="data")
    return dest / "tree"


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
            launch = page.locator(".st-key-setup_launch button")
            expect(launch).to_be_enabled(timeout=TIMEOUT)
            launch.click(trial=True, timeout=TIMEOUT)
            t_launch = time.monotonic() - t_goto
            chart = page.locator(".st-key-setup_schedule_chart .main-svg").first
            expect(chart).to_be_visible(timeout=TIMEOUT)
            t_preview = time.monotonic() - t_goto
            if LAUNCH_ONLY:
                page.close()
                out = {"health_s": health, "launch_s": t_launch, "preview_s": t_preview}
                out["launch_from_start_s"] = health + t_launch
                print(f"  launch {t_launch:.2f} s, preview {t_preview:.2f} s", flush=True)
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
        old = export_baseline(Path(tmp))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            runs = alternate(
                {
                    "before": lambda: print("before:", flush=True) or one_cold_start(old, browser),
                    "after": lambda: print("after:", flush=True) or one_cold_start(ROOT, browser),
                },
                REPEATS,
            )
        finally:
            browser.close()
    load1 = os.getloadavg()

    def med(side: str, k: str) -> dict:
        return summary([r[k] for r in runs[side]])

    payload: dict = {"baseline": BASELINE, "cpus": os.cpu_count(), "workers": WORKERS}
    timed = ["launch_s", "preview_s"] + ([] if LAUNCH_ONLY else ["lr_test_s", "lr_test_warm_s"])
    for side in runs:
        payload[side] = {k: med(side, k) for k in ("health_s", "launch_from_start_s", *timed)}
        if not LAUNCH_ONLY:
            payload[side]["server_vmhwm_mib"] = summary(
                [r["memory"]["server_mib"]["VmHWM"] for r in runs[side]]
            )
        payload[side]["runs"] = runs[side]
    compared = timed + ([] if LAUNCH_ONLY else ["server_vmhwm_mib"])
    payload["ratio_after_vs_before"] = {
        k: payload["after"][k]["median"] / payload["before"][k]["median"] for k in compared
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
