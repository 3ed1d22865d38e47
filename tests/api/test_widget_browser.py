"""The portal widget in a real browser (Debian's Chromium, headless) against the real API served
by uvicorn on loopback: ask, watch the answer stream, follow a citation, rate it, get an
abstention and hand it off, and check that markup in an answer stays text."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from api_helpers import ABSTAIN_QUESTION

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Records every text the streaming bubble shows, to prove the answer arrived in pieces.
RECORD_STREAM = """
window.__streamed = [];
new MutationObserver(() => {
  const node = document.querySelector('.pa-streaming .pa-text');
  if (node && node.textContent) window.__streamed.push(node.textContent);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_url):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.add_init_script(RECORD_STREAM)
    page.set_default_timeout(60_000)
    page.goto(f"{live_url}/?tier=gold&region=emea&lang=en")
    yield page
    context.close()


def _ask(page, question: str):
    page.fill("#pa-input", question)
    page.press("#pa-input", "Enter")
    bubble = page.locator(".pa-assistant").last
    bubble.locator(":scope[data-path]").wait_for()
    return bubble


def test_widget_answers_cites_rates_and_hands_off(page, app):
    records = app.state.records
    page.click(".pa-launcher")
    assert page.evaluate("document.activeElement.id") == "pa-input"

    answer = _ask(page, "How do I register a deal?")

    assert int(answer.get_attribute("data-tokens")) > 1, "the answer should stream in pieces"
    assert page.evaluate("window.__streamed"), "text should show before the answer is final"
    assert answer.get_attribute("data-path") != "abstained"
    first_cite = answer.locator(".pa-cite").first
    first_cite.click()
    target = first_cite.get_attribute("href").lstrip("#")
    assert page.evaluate("document.activeElement.id") == target
    assert "pa-source-active" in page.get_attribute(f"#{target}", "class")

    answer.locator(".pa-vote-up").click()
    answer.locator(".pa-thanks").wait_for()
    answer_id = answer.get_attribute("data-answer-id")
    assert [f.rating for f in records.list_feedback(answer_id)] == ["up"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "widget-answer.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")

    abstained = _ask(page, ABSTAIN_QUESTION)
    assert abstained.get_attribute("data-path") == "abstained"
    abstained.locator(".pa-handoff-button").click()
    done = abstained.locator(".pa-handoff-done")
    done.wait_for()
    handoff = records.get_handoff(done.get_attribute("data-handoff-id"))
    assert handoff.status == "requested"
    assert handoff.caller.partner_id == "demo-partner"


def test_markup_in_an_answer_is_shown_as_text(page):
    page.click(".pa-launcher")

    answer = _ask(page, "How do I register a deal?")  # the scripted reply carries markup

    assert "<img" in answer.locator(".pa-text").inner_text()
    assert answer.locator(".pa-text img, .pa-text b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_follow_up_keeps_the_conversation(page, app):
    page.click(".pa-launcher")
    first = _ask(page, "How do I register a deal?")
    second = _ask(page, "How long is a registration valid?")

    stored = app.state.records.get_answer(second.get_attribute("data-answer-id"))
    first_stored = app.state.records.get_answer(first.get_attribute("data-answer-id"))
    assert stored.conversation_id == first_stored.conversation_id


def test_escape_closes_and_returns_focus_to_the_launcher(page):
    page.click(".pa-launcher")
    page.keyboard.press("Escape")

    assert page.is_hidden("#pa-panel")
    assert page.evaluate("document.activeElement.className") == "pa-launcher"


def test_suggestion_starts_a_question(page):
    page.click(".pa-launcher")
    page.locator(".pa-suggestion").first.click()

    page.locator(".pa-assistant[data-path]").wait_for()
    assert page.locator(".pa-user").count() == 1


def test_panel_fills_a_phone_screen(browser, live_url):
    context = browser.new_context(viewport={"width": 375, "height": 700}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_url}/?lang=de")
    page.click(".pa-launcher")

    box = page.locator("#pa-panel").bounding_box()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "widget-phone.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    title = page.inner_text("#pa-title")
    context.close()

    assert (box["width"], box["height"]) == (375, 700)
    assert title == "Partner-Assistent"
