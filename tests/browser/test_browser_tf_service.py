"""TensorFlow stays out of the Streamlit server, in Chromium against a real server.

Every test stands alone (any order, any subset). A cold server of its own: Set up runs
is usable (Launch enabled) while the exact LR preview still says it is being prepared,
and SIGTERM mid range test stops it and all its children within 5 s; Ctrl-C likewise.
On the module's server: a preview answered while another session's range test trains,
LR finder → Use ⟨lr⟩ → Launch, a cosine + warmup preview equal to the rate the run
applies, a SIGKILLed preview process replaced, and — a preview, a range test and a run
done, every page visited — no TensorFlow library in the server's memory map.

Screenshots of the preparing / ready states at 1280×720 and 1440×900 go to
``$HPLAB_SCREENSHOT_DIR`` (default: the test's temporary folder; the paths are printed)
to be looked at.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path

import pytest
from browser_helpers import choose, need_chromium, serve, wait_idle, wait_until
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from test_browser_flow import no_exception

from engine.records import step_of
from engine.store import RunStore
from tests.proc_helpers import named_children

pytestmark = pytest.mark.browser

START = 240_000  # ms for a TensorFlow process to start on a loaded 2-core machine
SIZES = ((1280, 720), (1440, 900))
STOP_LIMIT = 5.0  # seconds from SIGTERM or Ctrl-C to the server and all its children gone

CHART_JS = """(key) => {
  const d = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  return d && d.data && d.data.length ? d.data.map(t => ({
    name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || []),
    customdata: Array.from(t.customdata || [])})) : null;
}"""


def service_pid(server, lane: str) -> int | None:
    found = [p for p, comm in named_children(server.proc.pid).items() if comm == f"hplab-{lane}"]
    return found[0] if found else None


def tensorflow_libraries(pid: int) -> set[str]:
    """TensorFlow's shared objects mapped into ``pid`` (empty: never imported)."""
    paths = {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines()}
    return {p for p in paths if "tensorflow" in p.lower() and ".so" in p.rsplit("/", 1)[-1]}


# Scrolls the page so that the element's top sits ``margin`` px below the window's top
# (under the fixed navigation bar), whichever ancestor scrolls.
TOP_JS = """(e, margin) => {
  e.scrollIntoView({block: 'start'});
  let p = e.parentElement;
  while (p && !(p.scrollHeight > p.clientHeight
                && /(auto|scroll)/.test(getComputedStyle(p).overflowY))) p = p.parentElement;
  (p || document.scrollingElement).scrollBy(0, -margin);
}"""


def shots(page, locator, tmp_path: Path, name: str, *, top: int | None = None, drawn=None) -> None:
    """What a person sees with ``locator`` in view (``top``: its top edge that many px
    from the window's top), at a projector's and a laptop's size. A rerun may replace
    the element between finding and scrolling it: found again until it holds still.
    ``drawn``: a locator visible once a chart has redrawn at the new size."""
    folder = Path(os.environ.get("HPLAB_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})

        def scrolled() -> bool:
            try:
                if top is None:
                    locator.scroll_into_view_if_needed(timeout=5_000)
                else:
                    locator.evaluate(TOP_JS, top, timeout=5_000)
            except PlaywrightError:  # detached by a rerun, not yet redrawn
                return False
            return True

        wait_until(scrolled, timeout=START / 1000, what=f"{name} to scroll into view")
        if drawn is not None:  # attached, not "visible": a flat line has no height
            expect(drawn).to_be_attached(timeout=START)
        path = folder / f"{name}-{w}x{h}.png"
        page.screenshot(path=str(path))
        print(f"\nscreenshot: {path}")
    page.set_viewport_size({"width": 1440, "height": 1000})


def open_setup(server, page) -> None:
    page.set_default_timeout(START)  # a machine shared by several suites can be slow
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Set up runs")).to_be_visible(timeout=START)


def set_number(page, key: str, value) -> None:
    """Fill a number box once no script runs, and again until the value holds once the
    page is quiet: the previous commit's rerun can redraw the box with its old value
    after it read right (CI saw warmup 40 and epochs 6 come back as 0 and 10)."""
    box = page.locator(f".st-key-{key} input")

    def held() -> bool:
        with contextlib.suppress(AssertionError):
            wait_idle(page, quiet=0.3, timeout=20)
        try:
            if box.input_value(timeout=5_000) != str(value):
                box.fill(str(value), timeout=5_000)
                box.press("Enter")
                wait_idle(page, quiet=0.3, timeout=20)
            return box.input_value(timeout=5_000) == str(value)
        except (PlaywrightError, AssertionError):
            return False

    wait_until(held, timeout=START / 1000, what=f"{key} to hold {value}")


def open_lr_finder(page) -> None:
    """Open "Find a learning rate" and wait for its controls. A rerun still drawing the
    previous choice (a task just chosen, a preview arriving) may redraw the expander
    closed after the click: opened again until its slider shows."""
    summary = page.locator("summary").filter(has_text="Find a learning rate").first
    slider = page.locator(".st-key-setup_lrf_updates input[type=range]")

    def shown() -> bool:
        try:
            if slider.count() and slider.is_visible():
                return True
            details = summary.locator("xpath=..")
            if details.get_attribute("open", timeout=5_000) is None:
                summary.click(timeout=5_000)
        except PlaywrightError:  # redrawn between finding and clicking: again
            pass
        return False

    wait_until(shown, timeout=START / 1000, what="the LR finder to open")


def set_up_a_long_range_test(page) -> None:
    """The range test of an LSTM for 400 updates up to a rate of 1e-3 (the loss never
    blows up, so all 400 run): tens of seconds on any machine."""
    choose(page, "cfg-task", r"^Sequence classification")
    open_lr_finder(page)
    updates = page.locator(".st-key-setup_lrf_updates input[type=range]")
    updates.focus()
    updates.press("End")
    expect(page.locator(".st-key-setup_lrf_updates")).to_contain_text("400", timeout=START)
    top = page.locator(".st-key-setup_lrf_range input[type=range]").last
    top.focus()
    for _ in range(4):
        top.press("ArrowLeft")
    expect(page.locator(".st-key-setup_lrf_range")).to_contain_text("0.001", timeout=START)


def run_the_long_range_test(page):
    """Click Run; the "Training: update n of up to 400" line once it shows."""
    page.locator(".st-key-setup_lrf_run button").click()
    training = page.get_by_text(re.compile(r"Training:\s*update \d+ of up to 400"))
    expect(training).to_be_visible(timeout=START)
    return training


@pytest.fixture
def own_server(tmp_path_factory):
    """A cold server for one test (asked for before ``page``, so a failure's screenshot
    is taken while it still serves)."""
    need_chromium()
    with serve(tmp_path_factory.mktemp("own"), workers=2) as srv:
        yield srv


def test_a_cold_server_works_at_once_and_sigterm_stops_it_within_5_s(own_server, page, tmp_path):
    """A cold server of its own (whatever ran before): Launch is visible and enabled
    while the exact LR preview says it is being prepared (before, the page stayed
    blank until TensorFlow had loaded); the preview then draws. Then SIGTERM (systemd,
    ``docker stop``) while a range test trains stops everything within 5 s."""
    srv = own_server
    open_setup(srv, page)
    launch = page.locator(".st-key-setup_launch button")
    # Timeouts are for a machine shared by several test suites: the order is the check.
    expect(launch).to_be_enabled(timeout=START)
    waiting = page.locator(".st-key-setup_preview_wait")
    assert page.locator(".st-key-setup_schedule_chart .main-svg").count() == 0
    expect(waiting).to_contain_text("Preparing the preview")
    launch.click(trial=True)  # actionable: visible, enabled, not covered
    no_exception(page)
    # What it looks like meanwhile: best effort, the checks above are the test (on a
    # loaded machine the preview may come in while the screenshots are taken).
    shots(page, waiting, tmp_path, "setup-preview-preparing")
    shots(page, launch, tmp_path, "setup-first-load")  # the launch bar, usable meanwhile
    if page.locator(".st-key-setup_preview_wait").count() == 0:
        print("\nnote: the preview came in while the screenshots were taken")
    chart = page.locator(".st-key-setup_schedule_chart .main-svg").first
    expect(chart).to_be_visible(timeout=START)
    expect(waiting).to_have_count(0)
    wait_idle(page)
    no_exception(page)
    line = page.locator(".st-key-setup_schedule_chart .scatterlayer .trace").first
    shots(page, chart, tmp_path, "setup-preview-ready", drawn=line)
    stops_within_the_limit(srv, page, signal.SIGTERM)


def test_a_preview_never_waits_behind_another_sessions_range_test(server, browser, page, tmp_path):
    """Session A runs a long range test; session B's new preview is drawn while A's test
    is still training (before, B's page waited for A's test behind one server lock)."""
    open_setup(server, page)
    set_up_a_long_range_test(page)

    other = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    try:
        open_setup(server, other)
        expect(other.locator(".st-key-setup_schedule_chart .main-svg").first).to_be_visible(
            timeout=START
        )
        wait_idle(other, timeout=START / 1000)
        training = run_the_long_range_test(page)
        live = page.locator(".st-key-setup_lrf_live .main-svg").first
        expect(live).to_be_visible(timeout=START)
        curve = page.locator(".st-key-setup_lrf_live .scatterlayer .trace").first
        area = page.locator(".st-key-setup_lrf_range")
        shots(page, area, tmp_path, "lr-finder-running", top=90, drawn=curve)
        assert training.count() == 1, "the range test ended before its screenshots"

        set_number(other, "cfg-epochs", 13)  # a schedule nobody previewed yet
        expect(other.get_by_text("325 updates each", exact=False)).to_be_visible(timeout=START)

        def new_preview():
            traces = other.evaluate(CHART_JS, "setup_schedule_chart")
            return traces and len(traces[0]["x"]) == 325

        wait_until(new_preview, timeout=START / 1000, what="session B's new preview")
        assert training.count() == 1, "the range test ended first: the check proved nothing"
        assert page.locator(".st-key-setup_lrf_use").count() == 0
        no_exception(other)
    finally:
        other.context.close()


def test_lr_finder_use_then_launch(server, page, tmp_path):
    """LR finder → Use ⟨lr⟩ → Launch: the launched run trains at the suggestion."""
    store = RunStore(server.store)
    before = {r["id"] for r in store.list_runs()}
    open_setup(server, page)
    open_lr_finder(page)
    run = page.locator(".st-key-setup_lrf_run button")
    run.click()
    state = page.get_by_text(
        re.compile(r"Training:\s*(update|building)|Preparing the range test|Waiting:\s*\d")
    )
    expect(state.first).to_be_visible(timeout=START)
    use = page.locator(".st-key-setup_lrf_use button").first
    expect(use).to_be_visible(timeout=START)
    label = use.inner_text()
    suggestion = float(re.search(r"Use ([0-9.e+-]+)", label).group(1))
    wait_idle(page)
    result = page.locator(".st-key-setup_lrf_chart")
    curve = result.locator(".scatterlayer .trace").first
    shots(page, result, tmp_path, "lr-finder-ready", top=90, drawn=curve)
    use.click()
    lr_box = page.locator(".st-key-cfg-learning_rate input")
    expect(lr_box).to_have_value(re.compile(rf"^{re.escape(f'{suggestion:g}')}$"), timeout=START)
    expect(use).to_be_disabled(timeout=START)  # spent: the field holds it now
    no_exception(page)
    launch = page.locator(".st-key-setup_launch button")
    expect(launch).to_be_enabled(timeout=START)
    launch.click()
    page.wait_for_url(re.compile(r"/compare\?sweep="), timeout=START)
    new = wait_until(
        lambda: [r for r in store.list_runs() if r["id"] not in before],
        timeout=30,
        what="the launched run",
    )
    assert len(new) == 1
    assert new[0]["config"]["learning_rate"] == pytest.approx(suggestion)


def test_cosine_warmup_preview_is_the_rate_the_run_applies(server, page):
    store = RunStore(server.store)
    before = {r["id"] for r in store.list_runs()}
    open_setup(server, page)
    choose(page, "cfg-schedule", r"^Cosine decay\s+\(cosine_decay\)")
    set_number(page, "cfg-schedule-cosine_decay-warmup_steps", 40)
    set_number(page, "cfg-epochs", 6)
    expect(page.get_by_text("150 updates each", exact=False)).to_be_visible(timeout=START)

    def drawn():
        traces = page.evaluate(CHART_JS, "setup_schedule_chart")
        return traces if traces and len(traces[0]["x"]) == 150 else None

    traces = wait_until(drawn, timeout=START / 1000, what="the 150-update preview")
    preview = dict(zip(traces[0]["customdata"], traces[0]["y"], strict=True))
    # Steps count like Keras's optimizer.iterations: 40 warmup steps rise from 0 (step 0,
    # the first update) to the peak at step 40, then the cosine decays to (about) zero.
    assert preview[0] == 0 and preview[39] == pytest.approx(39 / 40 * 1e-3, rel=1e-6)
    assert preview[40] == pytest.approx(1e-3, rel=1e-6) and preview[149] < 1e-5
    page.locator(".st-key-setup_launch button").click()
    page.wait_for_url(re.compile(r"/compare\?sweep="), timeout=START)
    run = wait_until(
        lambda: [r for r in store.list_runs() if r["id"] not in before], timeout=30, what="a run"
    )[0]
    wait_until(
        lambda: store.get_run(run["id"])["status"] == "completed",
        timeout=300,
        what="the run to complete",
    )
    applied = store.update_series(run["id"], max_points=None)
    got = {step_of(u): lr for u, lr in zip(applied["update"], applied["lr"], strict=True)}
    assert sorted(got) == sorted(preview)
    for u, lr in preview.items():
        assert got[u] == pytest.approx(lr, rel=1e-6, abs=1e-12), u
    wait_idle(page)
    no_exception(page)


def test_a_killed_preview_process_is_replaced(server, page):
    open_setup(server, page)
    expect(page.locator(".st-key-setup_schedule_chart .main-svg").first).to_be_visible(
        timeout=START
    )
    pid = service_pid(server, "preview")
    assert pid is not None, named_children(server.proc.pid)
    os.kill(pid, signal.SIGKILL)
    set_number(page, "cfg-epochs", 17)  # a new preview, asked of a dead process
    expect(page.get_by_text("425 updates each", exact=False)).to_be_visible(timeout=START)

    def redrawn():
        traces = page.evaluate(CHART_JS, "setup_schedule_chart")
        return traces and len(traces[0]["x"]) == 425

    wait_until(redrawn, timeout=START / 1000, what="the preview from the new process")
    new = service_pid(server, "preview")
    assert new is not None and new != pid
    no_exception(page)


def test_the_server_never_loads_tensorflow(server, page, tmp_path):
    """A preview drawn, a range test run, a run launched and every page visited: the
    Streamlit process has no TensorFlow library mapped; the service processes do (the
    check sees TensorFlow where it is). Self-contained: it does all that itself."""
    store = RunStore(server.store)
    before = {r["id"] for r in store.list_runs()}
    open_setup(server, page)
    expect(page.locator(".st-key-setup_schedule_chart .main-svg").first).to_be_visible(
        timeout=START
    )
    open_lr_finder(page)
    page.locator(".st-key-setup_lrf_run button").click()
    expect(page.locator(".st-key-setup_lrf_use button").first).to_be_visible(timeout=START)
    wait_idle(page)
    page.locator(".st-key-setup_launch button").click()
    page.wait_for_url(re.compile(r"/compare\?sweep="), timeout=START)
    runs = wait_until(
        lambda: [r for r in store.list_runs() if r["id"] not in before],
        timeout=30,
        what="the launched run",
    )
    visits = [
        ("/", "Set up runs"),
        ("/compare", "Watch & compare"),
        (f"/run?run={runs[0]['id']}", "Run detail"),
        ("/demos", "Guided demos"),
        ("/schedules", "Schedule explorer"),
        ("/losses", "Loss explorer"),
    ]
    page.set_default_timeout(START)
    for path, heading in visits:
        page.goto(f"{server.url}{path}")
        expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=START)
        if path == "/schedules":
            chart = page.locator(".st-key-sx_chart_update .main-svg").first
            expect(chart).to_be_visible(timeout=START)
            wait_idle(page)
            # the data controls above, both charts below: what the page is for
            line = page.locator(".st-key-sx_chart_update .scatterlayer .trace").first
            shots(page, chart, tmp_path, "schedule-explorer", top=250, drawn=line)
        wait_idle(page)
        no_exception(page)
    assert tensorflow_libraries(server.proc.pid) == set()
    lanes = {comm: pid for pid, comm in named_children(server.proc.pid).items()}
    assert {"hplab-preview", "hplab-jobs"} <= set(lanes), lanes
    assert tensorflow_libraries(lanes["hplab-preview"]), "the check cannot see TensorFlow"


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (workers, service lanes, their helpers)."""
    found, todo = set(), [pid]
    while todo:
        kids = set(named_children(todo.pop())) - found
        found |= kids
        todo += kids
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def stops_within_the_limit(srv, page, sig: signal.Signals) -> None:
    """Start the long range test, send ``sig`` to the server while it trains: the server
    and every process it started (workers, both TensorFlow processes) are gone within
    ``STOP_LIMIT`` s, with no traceback in its log."""
    set_up_a_long_range_test(page)
    run_the_long_range_test(page)
    procs = descendants(srv.proc.pid)
    lanes = {service_pid(srv, "preview"), service_pid(srv, "jobs")}
    assert None not in lanes and lanes <= procs, (lanes, named_children(srv.proc.pid))
    t0 = time.monotonic()
    srv.proc.send_signal(sig)
    srv.proc.wait(timeout=STOP_LIMIT + 10)
    wait_until(
        lambda: not any(alive(p) for p in procs),
        timeout=max(0.1, t0 + STOP_LIMIT + 5 - time.monotonic()),
        interval=0.05,
        what=f"every child to exit: {sorted(p for p in procs if alive(p))}",
    )
    took = time.monotonic() - t0
    print(f"\n{sig.name} with a range test training → server and children gone {took:.2f} s")
    assert took <= STOP_LIMIT, f"{took:.1f} s"
    assert "Traceback" not in srv.log.read_text(errors="replace"), srv.log_tail()


def test_ctrl_c_stops_the_server_within_5_s_while_a_range_test_trains(own_server, page):
    """Ctrl-C (SIGINT) in the terminal that runs ``make run``, mid range test."""
    open_setup(own_server, page)
    stops_within_the_limit(own_server, page, signal.SIGINT)
