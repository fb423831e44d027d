"""Every view is a link, in Chromium: what a person sets up is in the address, a reload
keeps it, **Copy link** gives a URL that opens the same view in a fresh browser, and a
bad parameter in a link is named, never a traceback.

The link is read the way a person gets it: from the clipboard after a click on Copy
link (the context grants clipboard access, as a browser on localhost does), or, where
the clipboard refuses, from the box that shows the URL to copy by hand.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import choose, slide_to, wait_idle
from browser_runs import add_run, falling
from playwright.sync_api import expect
from test_browser_setup import FIRST_LOAD, LAUNCH, add_values, no_traceback, type_into

from engine.store import RunStore

pytestmark = pytest.mark.browser

TIMEOUT = 60_000
VIEW = {"width": 1280, "height": 720}
REFUSE_CLIPBOARD = (
    "if (navigator.clipboard) navigator.clipboard.writeText = "
    "() => Promise.reject(new Error('refused'));"
)


@pytest.fixture(autouse=True)
def _patient(page):
    page.set_default_timeout(120_000)
    expect.set_options(timeout=TIMEOUT)


def settled(page) -> None:
    wait_idle(page, quiet=1.0, timeout=120)


def open_page(page, url: str, heading: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=FIRST_LOAD)
    settled(page)


def copied_link(page) -> str:
    """Click Copy link and read the clipboard (granted), else the by-hand box."""
    frame = page.frame_locator(".st-key-copy_link iframe")
    frame.locator("#copy").click()
    say = frame.locator("#say")
    expect(say).to_have_text(re.compile("Copied|by hand"), timeout=TIMEOUT)
    if "Copied" in say.inner_text():
        return page.evaluate("() => navigator.clipboard.readText()")
    return frame.locator("#url").input_value()


def fresh(browser, url: str, heading: str):
    """A new browser context (no cookies, no session) opening ``url``."""
    ctx = browser.new_context(viewport=VIEW)
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    open_page(pg, url, heading)
    return ctx, pg


def mode_is(page, label: str) -> None:
    chosen = page.locator(".st-key-setup_mode").get_by_role("radio", name=label)
    expect(chosen).to_be_checked(timeout=TIMEOUT)


# ----------------------------------------------------------------------------- set up runs


def test_a_comparison_link_opens_the_same_form_in_a_fresh_browser(quiet_server, browser):
    ctx = browser.new_context(viewport=VIEW, permissions=["clipboard-read", "clipboard-write"])
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    try:
        open_page(page, quiet_server.url, "Set up runs")
        expect(page.locator(LAUNCH)).to_be_visible(timeout=FIRST_LOAD)
        page.locator(".st-key-setup_mode button", has_text="Compare one knob").click()
        page.locator(".st-key-setup_knob").click()
        page.get_by_role("option", name=re.compile("^Learning rate")).click()
        values = page.locator(".st-key-setup_values_learning_rate")
        expect(values).to_contain_text("0.0001", timeout=TIMEOUT)
        add_values(page, "setup_values_learning_rate", ["0.3"])
        settled(page)
        choose(page, "cfg-optimizer", r"\(sgd\)")  # again if a rerun closes the list
        expect(page.locator(".st-key-cfg-optimizer-sgd-momentum input")).to_be_visible()
        type_into(page, "cfg-optimizer-sgd-momentum", "0.8")
        settled(page)
        page.screenshot(path=str(quiet_server.store.parent / "setup-copy-link.png"))
        link = copied_link(page)
        assert "optimizer=sgd" in link and "mode=knob" in link, link
    finally:
        ctx.close()
    ctx2, other = fresh(browser, link, "Set up runs")
    try:
        mode_is(other, "Compare one knob")
        expect(other.locator(".st-key-setup_knob input")).to_have_value("Learning rate")
        chips = other.locator(".st-key-setup_values_learning_rate")
        for v in ("0.0001", "0.3"):
            expect(chips).to_contain_text(v)
        expect(other.locator(".st-key-cfg-optimizer input")).to_have_value(re.compile(r"\(sgd\)"))
        expect(other.locator(".st-key-cfg-optimizer-sgd-momentum input")).to_have_value("0.8")
        no_traceback(other)
    finally:
        ctx2.close()


def test_a_reload_keeps_the_setup_form(quiet_server, page):
    page.set_viewport_size(VIEW)
    open_page(page, quiet_server.url, "Set up runs")
    expect(page.locator(LAUNCH)).to_be_visible(timeout=FIRST_LOAD)
    page.locator(".st-key-setup_mode button", has_text="Compare one knob").click()
    type_into(page, "cfg-epochs", "7")
    type_into(page, "cfg-learning_rate", "0.02")
    settled(page)
    page.reload()
    expect(page.get_by_role("heading", name="Set up runs")).to_be_visible(timeout=FIRST_LOAD)
    settled(page)
    mode_is(page, "Compare one knob")
    expect(page.locator(".st-key-cfg-epochs input")).to_have_value("7")
    expect(page.locator(".st-key-cfg-learning_rate input")).to_have_value("0.02")
    no_traceback(page)


class Lag:
    """The server's messages to the page held back while ``held`` (then sent in order):
    the browser keeps the address the page last told it, so a rerun sent meanwhile
    carries an older one, as on a busy machine where the page had not yet read it."""

    def __init__(self, page) -> None:
        self.held, self.queue, self.sockets = False, [], []
        page.route_web_socket(re.compile(r"/_stcore/stream"), self._route)

    def _route(self, ws) -> None:
        server = ws.connect_to_server()
        self.sockets.append(ws)

        def to_page(message) -> None:
            if self.held:
                self.queue.append((ws, message))
            else:
                ws.send(message)

        server.on_message(to_page)

    def release(self) -> None:
        self.held = False
        queue, self.queue = self.queue, []
        for ws, message in queue:
            ws.send(message)


def test_a_late_address_does_not_undo_what_was_typed_since(quiet_server, page):
    """A rerun sent before the page's newer address reached the browser carries the
    page's older address: what was typed since stays (it went back to the defaults, as
    CI saw with warmup 40 and epochs 6 returning as 0 and 10)."""
    lag = Lag(page)
    page.set_viewport_size(VIEW)
    open_page(page, quiet_server.url, "Set up runs")
    expect(page.locator(LAUNCH)).to_be_visible(timeout=FIRST_LOAD)
    type_into(page, "cfg-epochs", "6")
    settled(page)
    expect(page).to_have_url(re.compile(r"epochs=6"))
    lag.held = True  # the page hears nothing from here: it keeps the address epochs=6
    for key, text in (("learning_rate", "0.05"), ("batch_size", "16")):
        box = page.locator(f".st-key-cfg-{key} input").first
        box.fill(text)
        box.press("Enter")
    lag.release()
    settled(page)
    for key, value in (("epochs", "6"), ("learning_rate", "0.05"), ("batch_size", "16")):
        expect(page.locator(f".st-key-cfg-{key} input")).to_have_value(value)
        expect(page).to_have_url(re.compile(f"{key}={value}"))
    no_traceback(page)


def test_a_bad_parameter_is_named_and_the_rest_of_the_link_is_used(quiet_server, page):
    open_page(
        page, f"{quiet_server.url}/?task=binary-20&learning_rate=abc&epochs=1e9&zz=1", "Set up runs"
    )
    alert = page.locator('[data-testid="stAlert"]', has_text="address could not be used")
    expect(alert).to_be_visible(timeout=TIMEOUT)
    for named in ("learning_rate: must be a number", "epochs: must be in [1, 1000]", "zz"):
        expect(alert).to_contain_text(named)
    expect(page.locator(".st-key-cfg-task input")).to_have_value(re.compile("binary-20"))
    no_traceback(page)


# ----------------------------------------------------------------------------- compare


def test_chart_options_reach_a_fresh_browser_by_the_link(quiet_server, page, browser):
    store = RunStore(quiet_server.store)
    try:
        reg = {"task": "regression-5", "data": {"n_train": 200, "n_test": 40}}
        ids = [
            add_run(
                store,
                {**reg, "learning_rate": lr},
                name=f"lr {lr}",
                curve=falling(),
                sweep_id="sw-address",
            )
            for lr in (0.01, 0.001)
        ]
    finally:
        store.close()
    page.set_viewport_size(VIEW)
    page.context.add_init_script(REFUSE_CLIPBOARD)  # the by-hand path
    open_page(page, f"{quiet_server.url}/compare?sweep=sw-address", "Watch & compare")
    expect(page.locator(".st-key-compare_chart_loss .main-svg").first).to_be_visible()
    page.locator(".st-key-compare_x button", has_text="step").click()
    settled(page)
    page.locator(".st-key-compare_log label").click()
    settled(page)
    thumb = page.locator(".st-key-compare_smooth input[type=range]")
    slide_to(thumb, 0.05)
    settled(page)
    expect(thumb).to_have_value("0.05")
    page.screenshot(path=str(quiet_server.store.parent / "compare-copy-link.png"))
    link = copied_link(page)
    frame = page.frame_locator(".st-key-copy_link iframe")
    expect(frame.locator("#say")).to_have_text("Copy it by hand")
    expect(frame.locator("#url")).to_be_visible()  # the link, selected, to copy by hand
    assert "x=update" in link and "log=true" in link and "smooth=0.05" in link, link
    assert "sweep=sw-address" in link, link
    ctx, other = fresh(browser, link, "Watch & compare")
    try:
        expect(other.locator(".st-key-compare_chart_loss .main-svg").first).to_be_visible()
        expect(other.locator(".st-key-compare_x").get_by_role("radio", name="step")).to_be_checked()
        expect(other.locator(".st-key-compare_log input")).to_be_checked()
        expect(other.locator(".st-key-compare_smooth input[type=range]")).to_have_value("0.05")
        no_traceback(other)
    finally:
        ctx.close()
    assert len(ids) == 2


def test_a_bad_chart_option_is_named(quiet_server, page):
    store = RunStore(quiet_server.store)
    try:
        add_run(
            store,
            {"task": "regression-5", "data": {"n_train": 200, "n_test": 40}},
            name="one",
            sweep_id="sw-bad",
        )
    finally:
        store.close()
    open_page(
        page, f"{quiet_server.url}/compare?sweep=sw-bad&x=sideways&smooth=5", "Watch & compare"
    )
    alert = page.locator('[data-testid="stAlert"]', has_text="address could not be used")
    expect(alert).to_be_visible(timeout=TIMEOUT)
    expect(alert).to_contain_text("x: must be one of")
    expect(alert).to_contain_text("smooth: must be in [0, 0.99]")
    no_traceback(page)


# ----------------------------------------------------------------------------- explorers


def test_an_explorer_link_sets_its_controls_and_names_a_bad_one(quiet_server, page):
    tab = "Classification%3A+loss+vs+probability"
    open_page(
        page, f"{quiet_server.url}/losses?tab={tab}&gamma=2.5&wrt=logit&delta=9", "Loss explorer"
    )
    expect(page.get_by_role("tab", name="Classification: loss vs probability")).to_have_attribute(
        "aria-selected", "true"
    )
    expect(page.locator(".st-key-lx_gamma input[type=range]")).to_have_value("2.5")
    expect(page.locator(".st-key-lx_wrt").get_by_role("radio", name="logit")).to_be_checked()
    alert = page.locator('[data-testid="stAlert"]', has_text="address could not be used")
    expect(alert).to_contain_text("delta: must be in [0.1, 5]")
    open_page(
        page,
        f"{quiet_server.url}/schedules?schedules=cosine_decay,constant&s1.decay_steps=500",
        "Schedule explorer",
    )
    expect(page.locator(".st-key-sx0 input")).to_have_value(re.compile("cosine_decay"))
    expect(page.locator(".st-key-sx1 input")).to_have_value(re.compile("constant"))
    expect(page.locator(".st-key-sx0-cosine_decay-decay_steps input")).to_have_value("500")
    no_traceback(page)
