"""Predict, then reveal, as a class does it, in Chromium at a projector's 1280×720 against a
real server and workers: launch the learning-rate lesson, record a prediction while the
runs train (curves and diagnoses hidden), reveal while they still train (the curves and
each diagnosis appear, the grade says "so far"), and once they end the prediction is
graded for good. The two final screenshots are the README's."""

from __future__ import annotations

import re

import pytest
from browser_helpers import SCREENSHOTS, wait_idle, wait_until
from playwright.sync_api import expect
from test_browser_flow import no_exception

from engine.config import validate
from engine.store import TERMINAL, RunStore
from ui import demos, predictions

pytestmark = pytest.mark.browser

LESSON = "Learning rate: too low, about right, too high"
GUESS = "lr 0.2"
BLOCKER = {"task": "sequence", "epochs": 200}
LOSS_TRACES_JS = """() => {
  const d = document.querySelector('[class*="st-key-reveal_"] .js-plotly-plot');
  return d && d.data ? [...new Set(d.data.filter(t => t.meta && t.meta.series === 'val_loss'
    && !t.meta.raw).map(t => t.meta.run_id))] : null;
}"""


# ``top`` just under the app's fixed header (about 60 px), as a person scrolls to it.
SCROLL_TO_TOP_JS = """e => {
  e.scrollIntoView({block: 'start'});
  let p = e.parentElement;
  while (p && !['auto', 'scroll'].includes(getComputedStyle(p).overflowY)) p = p.parentElement;
  (p || document.scrollingElement).scrollBy(0, -70);
}"""


@pytest.fixture(autouse=True)
def _patient(page):
    """Shared cores: the page draws slowly, so actions wait up to two minutes."""
    page.set_default_timeout(120_000)
    expect.set_options(timeout=60_000)


def _shot(page, name: str, top: str) -> None:
    """What a projector's 1280×720 shows with the ``top`` element scrolled to the top."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The launch's toast comes and goes in seconds: not part of the picture.
    page.add_style_tag(content='[data-testid="stToastContainer"] { display: none; }')
    page.locator(top).first.evaluate(SCROLL_TO_TOP_JS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(d => d.offsetParent !== null)"
        ".every(d => d._fullLayout && Math.abs(d._fullLayout.width - d.clientWidth) < 8)",
        timeout=15_000,
    )
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_predict_then_reveal_live_then_graded(server, page):
    store = RunStore(server.store)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server.url}/demos")
    expect(page.get_by_role("heading", name="Guided demos")).to_be_visible(timeout=60_000)
    page.locator(".st-key-demos_pick label", has_text="Learning rate").click()
    expect(page.get_by_role("heading", name=LESSON)).to_be_visible(timeout=30_000)
    expect(page.get_by_text(demos.DEMOS["learning-rate"].question.text)).to_be_visible()
    wait_idle(page, quiet=1.0)
    # One long run holds one of the two workers, so the lesson's four runs (seconds each)
    # train one after another and are still training when the class reveals.
    (blocker,) = store.create_runs([validate(BLOCKER)], names=["blocker"])
    wait_until(
        lambda: store.get_run(blocker)["status"] == "running",
        timeout=120,
        what="the blocker to hold a worker",
    )
    before = {r["id"] for r in store.list_runs()}

    page.locator(".st-key-demos_launch_learning-rate button").click()
    runs = wait_until(
        lambda: [r for r in store.list_runs() if r["id"] not in before] or None,
        timeout=30,
        what="the lesson's runs to be queued",
    )
    sweep = runs[0]["sweep_id"]
    base = f"reveal_learning-rate_{sweep}"

    # --- predict: the runs train, their curves and diagnoses stay hidden
    choice = page.locator(f".st-key-{base}_run label", has_text=GUESS)
    expect(choice).to_be_visible()
    choice.click()
    page.locator(f".st-key-{base}_submit button").click()
    kept = page.get_by_text(f"Your prediction: {GUESS}")
    expect(kept).to_be_visible()
    panel = page.locator(f".st-key-{base}_kept")
    expect(panel).to_be_visible()
    main = page.locator('[data-testid="stMain"]')
    expect(main.locator(".js-plotly-plot")).to_have_count(0)
    for word in ("LR too low", "healthy", "diverged"):  # no diagnosis badge on the page
        expect(main.get_by_text(word, exact=True)).to_have_count(0)
    no_exception(page)

    # --- reveal while the runs still train: curves, diagnoses, a grade "so far"
    def training():
        now = store.list_runs(sweep_id=sweep)
        started = any(r["epochs_done"] for r in now)
        return (started and any(r["status"] not in TERMINAL for r in now)) or None

    wait_until(training, timeout=120, what="a lesson run to have trained an epoch")
    rows = page.locator(".st-key-reveal_rows")
    # the page follows, live: a training run's epoch, or "finished" (no epoch count: it
    # would tell which run stopped early)
    expect(rows).to_contain_text(re.compile(r"epoch \d+/20|finished"))
    _shot(page, "lesson-before-reveal", ".st-key-reveal_question")
    reveal = page.locator(f".st-key-{base}_reveal button")
    reveal.first.click()  # (a button with help text holds a second one in its tooltip)
    outcome = page.locator(".st-key-reveal_outcome")
    expect(outcome).to_contain_text(f"Your prediction: {GUESS}")
    try:
        expect(outcome).to_contain_text("so far")
    except AssertionError as e:  # say whether the runs had simply ended meanwhile
        statuses = [(r["name"], r["status"]) for r in store.list_runs(sweep_id=sweep)]
        raise AssertionError(f"{e}\nruns now: {statuses}") from None
    page.screenshot(path="/tmp/reveal-live.png")
    wait_until(
        lambda: page.evaluate(LOSS_TRACES_JS) or None, timeout=60, what="the reveal's loss chart"
    )
    no_exception(page)
    store.request_cancel(blocker)

    # --- the runs end: the prediction is graded for good, next to the diagnoses
    wait_until(
        lambda: all(r["status"] in TERMINAL for r in store.list_runs(sweep_id=sweep)),
        timeout=300,
        what="the lesson's runs to finish",
    )
    expect(page.get_by_text(re.compile(r"Latest launch · 4/4 finished"))).to_be_visible()
    wait_idle(page)
    done = store.list_runs(sweep_id=sweep)
    series = store.epoch_series([r["id"] for r in done])
    ans = predictions.answer({"kind": "lowest", "text": "?"}, done, series)
    assert ans.final and ans.known
    verdict = "correct" if GUESS in ans.lowest else "not correct"
    expect(outcome).not_to_contain_text("so far")
    expect(outcome).to_contain_text(re.compile(rf"(?<!not ){verdict} · lowest final val_loss: "))
    expect(outcome).to_contain_text(" = ".join(ans.lowest))
    for r in done:  # each run's diagnosis badge beside its row (the page's verdict panel)
        label = predictions.label_text((r["diagnosis"] or {}).get("label"))
        expect(main).to_contain_text(re.compile(rf"{re.escape(r['name'])}.*{re.escape(label)}"))
    finite = {
        r["id"] for r in done if predictions.final_value(r, series[r["id"]], "val_loss") is not None
    }
    wait_until(
        lambda: set(page.evaluate(LOSS_TRACES_JS) or []) >= finite or None,
        timeout=60,
        what="every finished run's validation curve",
    )
    no_exception(page)
    _shot(page, "lesson-after-reveal", ".st-key-reveal_question")
    store.close()
