"""Explain → **Try this fix** → parent and child side by side → the verdict, in Chromium
against a real server and its worker pool.

The parent is SGD at 0.5 with clipvalue 0.5 on the regression-10 task: every update
clipped, training flat and validation zig-zagging, diagnosed "LR too high" with
"lower the learning rate" as its most promising change.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import SCREENSHOTS, wait_idle, wait_until
from playwright.sync_api import expect
from test_browser_flow import loss_points, no_exception

from engine.config import validate
from engine.store import RunStore

pytestmark = pytest.mark.browser

PARENT = {
    "task": "regression-10",
    "optimizer": "sgd",
    "learning_rate": 0.5,
    "clipping": {"clipvalue": 0.5},
    "epochs": 12,
}
SIZES = ((1280, 720), (1440, 900))


PLOTS_FIT = (
    "() => [...document.querySelectorAll('.js-plotly-plot')]"
    ".filter(d => d.offsetParent !== null)"
    ".every(d => d._fullLayout && Math.abs(d._fullLayout.width - d.clientWidth) < 8)"
)


def shoot(page, tmp_path, name: str) -> None:
    """The viewport at each size a person would use, once every chart fits its width."""
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_function(PLOTS_FIT, timeout=15_000)
        page.screenshot(path=str(tmp_path / f"{name}-{w}x{h}.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_try_this_fix_opens_parent_and_child_with_a_verdict(server, page, tmp_path):
    store = RunStore(server.store)
    (parent,) = store.create_runs([validate(PARENT)], names=["sgd 0.5 · clipvalue 0.5"])
    page.goto(f"{server.url}/compare?runs={parent}")  # the page starts the pool
    expect(page.get_by_role("heading", name="Watch & compare")).to_be_visible(timeout=60_000)
    wait_until(
        lambda: store.get_run(parent)["status"] == "completed",
        timeout=240,
        what="the parent run to finish",
    )
    diag = wait_until(
        lambda: (
            (store.get_run(parent)["diagnosis"] or {}).get("suggestions")
            and store.get_run(parent)["diagnosis"]
        ),
        timeout=30,
        what="the parent's final diagnosis",
    )
    assert diag["label"] == "lr_too_high" and diag["clipping"]["aggressive"]
    top = diag["suggestions"][0]
    wait_idle(page)
    no_exception(page)

    # --- Explain: the evidence, the clipping verdict, the suggested changes
    page.locator(f".st-key-compare_explain_{parent} button").first.click()
    fix = page.locator(f".st-key-try_fix_{parent}_0 button").filter(visible=True).first
    expect(fix).to_be_visible(timeout=30_000)
    expect(page.get_by_text("More than half the updates clipped").first).to_be_visible()
    expect(page.get_by_text("lower the learning rate instead").first).to_be_visible()
    shoot(page, tmp_path, "explain")

    # --- Try this fix: the child is queued, linked, and opened beside its parent
    fix.click()
    page.wait_for_url(re.compile(rf"/compare\?runs={parent}(%2C|,)[0-9a-f]+"), timeout=30_000)
    (child,) = wait_until(
        lambda: store.list_runs(parent_id=parent), timeout=30, what="the follow-up run"
    )
    assert child["config"] == validate({**PARENT, **top["change"]})
    wait_until(
        lambda: min(loss_points(page, [parent, child["id"]]).values()) > 0,
        timeout=180,
        interval=0.2,
        what="parent and child curves on one chart",
    )
    # The note shows while the child trains; on a slow machine the child may have ended
    # while its curve was awaited, and the verdict below replaces the note.
    waiting = page.get_by_text(re.compile(r"Waiting for the follow-up to finish"))
    wait_until(
        lambda: waiting.count() > 0 or store.get_run(child["id"])["status"] == "completed",
        timeout=60,
        what="the waiting note, or the follow-up finished",
    )

    # --- the verdict once the child ends, in numbers
    wait_until(
        lambda: store.get_run(child["id"])["status"] == "completed",
        timeout=240,
        what="the follow-up to finish",
    )
    verdict = page.get_by_text(
        re.compile(r"(Fixed: the follow-up is healthy|Better: a lower loss)")
    )
    expect(verdict).to_be_visible(timeout=60_000)
    text = verdict.inner_text()
    assert re.search(r"best val_loss [0-9.e-]+ → [0-9.e-]+ \(−?-?\d+%\)", text), text
    wait_idle(page)
    no_exception(page)
    page.keyboard.press("Escape")  # close the Explain popover, as a click elsewhere does
    expect(fix).to_be_hidden(timeout=10_000)
    shoot(page, tmp_path, "pair")
    verdict.scroll_into_view_if_needed()
    shoot(page, tmp_path, "verdict")
    # for the README: parent and child on one chart, the verdict under them
    page.evaluate("window.scrollTo(0, 0)")
    page.set_viewport_size({"width": 1440, "height": 1900})
    page.wait_for_function(PLOTS_FIT, timeout=15_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "follow-up.png"))
    print(f"\nscreenshots: {tmp_path}")


def _finished(store: RunStore, cfg: dict, name: str, val: list[float], clipped: bool = False):
    """A finished run written straight into the store (no training: these tests look at
    how the page reads runs), with per-update gradient norms and clip flags."""
    (rid,) = store.create_runs([cfg], names=[name])
    store.claim(rid, "w-browser")
    store.record_start(rid, {"updates_per_epoch": 10, "n_train": 320, "n_val": 80})
    for e, v in enumerate(val, 1):
        store.append_epoch(rid, {"epoch": e, "values": {"loss": v * 0.9, "val_loss": v}})
        ups = list(range((e - 1) * 10 + 1, e * 10 + 1))
        store.append_updates(
            rid,
            {
                "update": ups,
                "epoch": [e] * 10,
                "loss": [v] * 10,
                "lr": [0.1] * 10,
                "grad_norm": [1.0 + (u % 10) for u in ups],
                "clipped": [clipped and (1.0 + (u % 10)) > 2.0 for u in ups],
            },
        )
    store.finish(rid, {"status": "completed", "test": {}, "predictions": {}})
    return rid


def test_paired_summary_and_clip_marks(server, page, tmp_path):
    store = RunStore(server.store)
    base = validate({"task": "regression", "epochs": 3, "clipping": {"global_clipnorm": 2.0}})
    ids = []
    for seed, (a, b) in {1: (1.0, 0.9), 2: (1.4, 1.31), 3: (0.7, 0.61)}.items():
        ids.append(_finished(store, {**base, "seed": seed}, f"adam · seed {seed}", [2 * a, a, a]))
        fast = validate({**base, "learning_rate": 0.002, "seed": seed})
        ids.append(_finished(store, fast, f"adam fast · seed {seed}", [2 * b, b, b], True))
    page.goto(f"{server.url}/compare?runs={','.join(ids)}")
    expect(page.get_by_text("Paired by seed")).to_be_visible(timeout=60_000)
    line = page.get_by_text(re.compile(r"adam fast vs adam: best val_loss"))
    expect(line).to_contain_text("95 % CI")
    expect(line).to_contain_text("adam fast better")
    no_exception(page)
    shoot(page, tmp_path, "paired-val")
    # the last training loss instead: a smaller, noisier difference
    page.locator(".st-key-paired_which button", has_text="last").click()
    expect(page.get_by_text(re.compile(r"adam fast vs adam: last val_loss"))).to_be_visible(
        timeout=30_000
    )
    # the gradient-norm chart marks each clipped run's p90 and clipped share
    page.get_by_role("tab", name="Gradients").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(d => (d.data || [])"
        ".some(t => t.meta && t.meta.series === 'clip_p90'))",
        timeout=60_000,
    )
    no_exception(page)
    shoot(page, tmp_path, "gradients")
    print(f"\nscreenshots: {tmp_path}")
