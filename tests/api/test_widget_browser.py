"""The portal widget in a real browser (Debian's Chromium, headless) against the real API served
by uvicorn on loopback. The service is the real one; its answer stream is paced by the test
(`PacedService`), so "text before the final event" and "Stop" are checked without timing."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import ABSTAIN_QUESTION

from api.app import create_app
from assistant.models import Handoff
from assistant.settings import ApiSettings

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
QUESTION = "What is the minimum deal size for deal registration?"
# Records the widget's progress events.
RECORD_STREAM = """
window.__stages = [];
document.addEventListener('pa:progress', e => {
  const stages = window.__stages;
  if (stages[stages.length - 1] !== e.detail.stage) stages.push(e.detail.stage);
});
"""


@pytest.fixture
def app(api_settings, paced_service):
    settings = api_settings.model_copy(
        update={"api": ApiSettings(rate_limit="1000/minute", vendor_name="Altaris")}
    )
    return create_app(settings, service=paced_service)


@pytest.fixture
def open_page(browser, live_url):
    """Opens the demo portal page (query string as given) in a fresh browser context."""
    contexts = []

    def open_(query="tier=gold&region=emea&lang=en", **context_options):
        options = {"viewport": {"width": 1100, "height": 800}, **context_options}
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(RECORD_STREAM)
        page.set_default_timeout(60_000)
        page.goto(f"{live_url}/?{query}")
        page.wait_for_function("window.PartnerAssistant && window.PartnerAssistant.instance")
        page.evaluate("window.PartnerAssistant.instance.ready")
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()


def _send(page, question: str = QUESTION):
    page.fill("#pa-input", question)
    page.press("#pa-input", "Enter")
    return page.locator(".pa-assistant").last


def _ask(page, question: str = QUESTION):
    bubble = _send(page, question)
    bubble.locator(":scope[data-path]").wait_for()
    return bubble


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / name
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")


def test_widget_answers_cites_rates_and_hands_off(page, app):
    records = app.state.records
    page.click(".pa-launcher")
    assert page.evaluate("document.activeElement.id") == "pa-input"

    answer = _ask(page)

    # Text before the final event is checked, without a race, by
    # test_first_text_shows_before_the_final_event (the server holds the final event there).
    assert int(answer.get_attribute("data-tokens")) > 1, "the answer should stream in pieces"
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
    _shot(page, "widget-answer.png")

    abstained = _ask(page, ABSTAIN_QUESTION)
    assert abstained.get_attribute("data-path") == "abstained"
    assert abstained.locator(".pa-handoff-comment textarea").is_visible()
    abstained.locator(".pa-handoff-button").click()
    done = abstained.locator(".pa-handoff-done")
    done.wait_for()
    handoff = records.get_handoff(done.get_attribute("data-handoff-id"))
    assert handoff.status == "requested"
    assert handoff.caller.partner_id == "demo-partner"
    reference = getattr(handoff, "reference", None) or handoff.id
    assert reference in done.inner_text(), "the partner sees the hand-off's reference"


def test_handoff_carries_the_comment_and_says_when_to_expect_a_reply(page, app):
    if "comment" not in Handoff.model_fields:
        pytest.skip("hand-off comments and response times come with the manager workflow")
    page.click(".pa-launcher")
    abstained = _ask(page, ABSTAIN_QUESTION)

    abstained.locator(".pa-handoff-comment textarea").fill("We need this for a tender on Friday")
    abstained.locator(".pa-handoff-button").click()
    done = abstained.locator(".pa-handoff-done")
    done.wait_for()

    handoff = app.state.records.get_handoff(done.get_attribute("data-handoff-id"))
    assert handoff.comment == "We need this for a tender on Friday"
    assert handoff.reference in done.inner_text()
    hours = app.state.settings.handoff.response_hours
    assert done.locator(".pa-handoff-eta").inner_text() == (
        f"Expected response within {hours:g} hours."
    )


def test_a_managers_reply_shows_as_a_person_after_a_reload(page, app, paced_service):
    if not hasattr(paced_service.inner, "reply_handoff"):
        pytest.skip("manager replies come with the manager workflow")
    from assistant.models import CallerContext

    page.click(".pa-launcher")
    abstained = _ask(page, ABSTAIN_QUESTION)
    abstained.locator(".pa-handoff-button").click()
    done = abstained.locator(".pa-handoff-done")
    done.wait_for()
    manager = CallerContext(role="channel_manager", partner_id="mgr")
    paced_service.inner.reply_handoff(
        done.get_attribute("data-handoff-id"), manager, "Hi, **Jupiter** is out of scope."
    )

    page.reload()
    page.evaluate("window.PartnerAssistant.instance.ready")

    reply = page.locator(".pa-person")
    assert reply.locator(".pa-person-name").inner_text() == "Channel manager"
    assert reply.locator(".pa-text strong").inner_text() == "Jupiter"


def test_abstention_is_said_once_in_a_neutral_colour(page, app):
    page.click(".pa-launcher")

    abstained = _ask(page, ABSTAIN_QUESTION)

    stored = app.state.records.get_answer(abstained.get_attribute("data-answer-id"))
    said = stored.answer.answer.strip()
    assert said and abstained.inner_text().count(said) == 1
    assert abstained.locator(".pa-error, [role=alert]").count() == 0
    colours = abstained.evaluate(
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).borderColor]"
    )
    red, green, blue = (int(v) for v in colours[0][4:-1].split(",")[:3])
    assert abs(red - blue) < 40 and abs(red - green) < 40, f"not neutral: {colours}"


def test_markup_in_an_answer_is_shown_as_text(page):
    page.click(".pa-launcher")

    answer = _ask(page)  # the scripted reply carries markup

    assert "<img" in answer.locator(".pa-text").inner_text()
    assert answer.locator(".pa-text img, .pa-text b").count() == 0
    assert page.evaluate("window.__pwned") is None


MARKDOWN = """## Deal registration
Register **every** deal in the *portal* [1]:

1. Open `Deals > New`
2. Fill in the customer
   - the end customer, not the reseller
3. Submit before the ~~quote~~ first meeting

| Tier | Protection |
|:-----|-----------:|
| Gold | 90 days |
| Silver | 60 days |

See [the guide](https://partners.example.com/deals?a=1&b=2) or mail <mailto:deals@example.com>.

```
curl -X POST /deals
```
"""
HOSTILE = """<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">
[click me](javascript:window.__pwned=3) [data](data:text/html,<script>alert(1)</script>)
![pixel](https://tracker.example/p.png) <a href="javascript:alert(1)">raw link</a>
[x](https://ok.example/"onmouseover="window.__pwned=4) **<b>bold tag</b>** `<i>code</i>`
| a | <iframe src=javascript:alert(1)> |
|---|---|
| <svg onload=window.__pwned=5> | [y](vbscript:msgbox) |
"""


def _render(page, text: str):
    """Markdown rendered by the widget's own renderer into a detached node, returned as HTML."""
    return page.evaluate(
        """text => {
          const box = document.createElement('div');
          box.id = 'md-probe';
          box.appendChild(PartnerAssistant.renderMarkdown(text, {
            cite: n => n === 1 ? Object.assign(document.createElement('a'), {className: 'cite'}) : null
          }));
          document.body.appendChild(box);
          return box.innerHTML;
        }""",
        text,
    )


def test_markdown_renders_lists_bold_tables_links_and_code(page):
    _render(page, MARKDOWN)
    probe = page.locator("#md-probe")

    assert probe.locator("h4").inner_text() == "Deal registration"
    assert probe.locator("strong").inner_text() == "every"
    assert probe.locator("em").inner_text() == "portal"
    assert probe.locator(".cite").count() == 1
    assert probe.locator("ol > li").count() == 3
    assert probe.locator("ol > li ul > li").inner_text() == "the end customer, not the reseller"
    assert probe.locator("ol > li code").inner_text() == "Deals > New"
    assert probe.locator("del").inner_text() == "quote"
    assert probe.locator("th").all_inner_texts() == ["Tier", "Protection"]
    assert probe.locator("tbody tr").count() == 2
    assert "pa-align-right" in probe.locator("tbody td").nth(1).get_attribute("class")
    guide = probe.locator("a", has_text="the guide")
    assert guide.get_attribute("href") == "https://partners.example.com/deals?a=1&b=2"
    assert "noopener" in guide.get_attribute("rel")
    assert probe.locator("a[href='mailto:deals@example.com']").count() == 1
    assert probe.locator("pre code").inner_text() == "curl -X POST /deals"
    assert "**" not in probe.inner_text()


def test_hostile_markdown_and_html_stay_text(page):
    html = _render(page, HOSTILE)
    probe = page.locator("#md-probe")

    assert probe.locator("script, img, iframe, svg, b, i").count() == 0
    hrefs = probe.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(h.startswith(("https://", "mailto:")) for h in hrefs), hrefs
    assert not any('"' in h for h in hrefs), hrefs
    assert (
        "on"
        not in " ".join(
            probe.locator("*").evaluate_all(
                "nodes => nodes.flatMap(n => [...n.attributes].map(a => a.name))"
            )
        ).split()
    )
    text = probe.inner_text()
    assert "<script>" in text and "<b>bold tag</b>" in text and "<i>code</i>" in text
    assert "click me" in text and "javascript:" not in "".join(hrefs)
    assert page.evaluate("window.__pwned") is None
    assert "<img" not in html and "<script" not in html  # tags only ever as escaped text


def test_first_text_shows_before_the_final_event(page, paced_service):
    paced_service.release.clear()  # the server holds the final event until we let it go
    page.click(".pa-launcher")

    bubble = _send(page)
    page.wait_for_function(
        "document.querySelector('.pa-streaming .pa-text')?.textContent.length > 10"
    )

    assert not paced_service.finished.is_set(), "the final event is still held on the server"
    assert bubble.get_attribute("data-path") is None
    assert page.locator(".pa-stop").is_visible() and page.locator(".pa-send").is_hidden()
    bubble.locator(":scope[data-stage=checking]").wait_for()  # progress goes on after the text
    paced_service.release.set()
    bubble.locator(":scope[data-path]").wait_for()
    stages = page.evaluate("window.__stages")
    assert stages[:3] == ["searching", "reading", "writing"], stages
    assert "checking" in stages
    assert page.locator(".pa-send").is_visible()


def test_progress_stage_is_shown_in_the_partners_language(open_page, paced_service):
    paced_service.release.clear()
    page = open_page("tier=gold&region=emea&lang=de")
    page.click(".pa-launcher")

    bubble = _send(page)
    bubble.locator(":scope[data-stage=checking]").wait_for()
    status = bubble.locator(".pa-status").inner_text()
    paced_service.release.set()

    assert status == "Antwort wird mit den Quellen abgeglichen…"


def test_stop_cancels_the_answer_on_the_server(page, paced_service, app):
    paced_service.release.clear()
    page.click(".pa-launcher")
    bubble = _send(page)
    page.wait_for_function("document.querySelector('.pa-streaming .pa-text')?.textContent")

    page.click(".pa-stop")
    bubble.locator(".pa-stopped-note").wait_for()

    assert paced_service.closed.wait(20), "Stop should close the answer stream on the server"
    assert not paced_service.finished.is_set()
    assert bubble.get_attribute("data-path") == "stopped"
    assert bubble.locator(".pa-retry").is_visible()
    assert page.locator(".pa-send").is_visible()


def test_retry_after_an_error_asks_the_same_question(page, paced_service):
    paced_service.fail_next = True
    page.click(".pa-launcher")

    failed = _send(page, "How long is a deal registration valid?")
    failed.locator(".pa-error").wait_for()
    failed.locator(".pa-retry").click()
    answer = page.locator(".pa-assistant[data-path]").last
    answer.wait_for()

    assert page.locator(".pa-user .pa-text").all_inner_texts() == [
        "How long is a deal registration valid?"
    ]
    assert page.locator(".pa-failed").count() == 0
    assert answer.get_attribute("data-answer-id")


def test_offline_keeps_the_question_until_the_connection_is_back(page):
    page.click(".pa-launcher")
    page.context.set_offline(True)
    page.locator(".pa-offline").wait_for()

    page.fill("#pa-input", QUESTION)
    page.press("#pa-input", "Enter")
    assert page.locator(".pa-user").count() == 0
    assert page.input_value("#pa-input") == QUESTION

    page.context.set_offline(False)
    page.locator(".pa-offline").wait_for(state="hidden")
    page.press("#pa-input", "Enter")
    page.locator(".pa-assistant[data-path]").wait_for()
    assert page.locator(".pa-user .pa-text").inner_text() == QUESTION


def test_reload_keeps_the_conversation(page, app):
    page.click(".pa-launcher")
    first = _ask(page)
    first_id = first.get_attribute("data-answer-id")

    page.reload()
    page.wait_for_function("window.PartnerAssistant && window.PartnerAssistant.instance")
    page.evaluate("window.PartnerAssistant.instance.ready")

    assert page.is_visible("#pa-panel"), "the panel stays open across the reload"
    restored = page.locator(f".pa-assistant[data-answer-id='{first_id}']")
    assert restored.locator(".pa-cite").count() >= 1
    assert page.locator(".pa-user .pa-text").all_inner_texts() == [QUESTION]
    second = _ask(page, "How long is a registration valid?")
    stored = app.state.records.get_answer(second.get_attribute("data-answer-id"))
    assert stored.conversation_id == app.state.records.get_answer(first_id).conversation_id


def test_new_conversation_forgets_the_stored_one(page):
    page.click(".pa-launcher")
    _ask(page)
    page.click(".pa-new")
    page.reload()
    page.evaluate("window.PartnerAssistant.instance.ready")

    assert page.locator(".pa-message").count() == 0
    assert page.evaluate("sessionStorage.getItem('pa.conversation')") is None


def test_citation_shows_the_cited_passage_and_is_announced_as_its_source(page):
    page.click(".pa-launcher")
    answer = _ask(page)

    cite = answer.locator(".pa-cite").first
    source = answer.locator(".pa-source").first
    title = source.locator("a, .pa-source-title").first.inner_text()
    assert cite.get_attribute("aria-label") == f"Source 1: {title}"
    quote = source.locator(".pa-quote")
    assert quote.is_hidden()
    cite.click()

    assert quote.is_visible()
    passage = quote.inner_text()
    assert len(passage) > 20 and passage[:20] in answer.locator(".pa-text").inner_text()
    assert source.locator(".pa-quote-toggle").get_attribute("aria-expanded") == "true"


def test_copy_puts_the_answer_and_its_sources_on_the_clipboard(open_page):
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    page.click(".pa-launcher")
    answer = _ask(page)

    answer.locator(".pa-copy").click()
    page.wait_for_function("document.querySelector('.pa-copy.pa-copied')")
    copied = page.evaluate("navigator.clipboard.readText()")

    assert answer.locator(".pa-text").inner_text().split()[0] in copied
    assert "Sources:" in copied and "[1] " in copied


def test_thumbs_down_asks_for_a_comment_and_stores_it(page, app):
    page.click(".pa-launcher")
    answer = _ask(page)

    answer.locator(".pa-vote-down").click()
    comment = answer.locator(".pa-feedback-comment textarea")
    assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
    comment.fill("The deadline for EMEA is missing")
    answer.locator(".pa-feedback-comment button").click()
    answer.locator(".pa-comment-saved").wait_for()

    stored = app.state.records.list_feedback(answer.get_attribute("data-answer-id"))
    assert [(f.rating, f.comment) for f in stored] == [("down", "The deadline for EMEA is missing")]


def test_new_answer_is_scrolled_to_its_start(open_page):
    page = open_page(viewport={"width": 375, "height": 360}, is_mobile=True)
    page.click(".pa-launcher")
    _ask(page)
    answer = _ask(page, "How long is a registration valid?")

    log_box = page.locator(".pa-log").bounding_box()
    question_box = page.locator(".pa-user").last.bounding_box()
    answer_box = answer.bounding_box()
    assert answer_box["height"] + question_box["height"] > log_box["height"], "needs a long answer"
    assert log_box["y"] - 1 <= question_box["y"] <= log_box["y"] + 40, "the question is on top"


def test_greeting_scope_and_labelled_launcher(page):
    launcher = page.locator(".pa-launcher")
    assert launcher.inner_text() == "Ask the assistant"
    launcher.click()

    assert page.locator(".pa-greeting").is_visible()
    assert page.locator(".pa-scope").inner_text() == (
        "Answers come from the Altaris partner program documents; a person can take over."
    )


def test_embed_attributes_set_accent_position_and_label(open_page):
    page = open_page("lang=en&accent=%23aa3300&position=left&launcher=Partner%20help")
    launcher = page.locator(".pa-launcher")

    assert launcher.inner_text() == "Partner help"
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(170, 51, 0)"
    assert launcher.bounding_box()["x"] < 100
    launcher.click()
    assert page.locator("#pa-panel").bounding_box()["x"] < 100


def test_ui_language_comes_from_the_token_and_can_be_switched(open_page):
    page = open_page("lang=ja")
    page.click(".pa-launcher")
    assert page.inner_text("#pa-title") == "パートナーアシスタント"
    assert page.input_value(".pa-lang") == "ja"
    _shot(page, "widget-ja.png")

    page.select_option(".pa-lang", "fr")
    page.wait_for_function(
        "document.querySelector('#pa-title').textContent !== 'パートナーアシスタント'"
    )
    assert page.inner_text("#pa-title") == "Assistant partenaires"
    page.wait_for_function("document.querySelector('.pa-suggestion')?.textContent.includes('?')")
    assert "affaire" in " ".join(page.locator(".pa-suggestion").all_inner_texts())

    page.reload()
    page.evaluate("window.PartnerAssistant.instance.ready")
    assert page.inner_text("#pa-title") == "Assistant partenaires", "the choice survives a reload"


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("de", "Partner-Assistent"),
        ("es", "Asistente para partners"),
        ("fr", "Assistant partenaires"),
    ],
)
def test_every_shipped_language_names_the_panel(open_page, lang, title):
    page = open_page(f"lang={lang}")
    assert page.inner_text("#pa-title") == title


def test_keyboard_only_flow(page, app):
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "pa-launcher"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "pa-input"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    answer = page.locator(".pa-assistant[data-path]").last
    answer.wait_for()

    def tab_to(selector: str) -> None:
        for _ in range(60):
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    tab_to(".pa-cite")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.classList.contains('pa-source')")
    tab_to(".pa-vote-up")
    page.keyboard.press("Enter")
    answer.locator(".pa-thanks").wait_for()
    assert [
        f.rating for f in app.state.records.list_feedback(answer.get_attribute("data-answer-id"))
    ] == ["up"]
    page.keyboard.press("Escape")
    assert page.is_hidden("#pa-panel")
    assert page.evaluate("document.activeElement.className") == "pa-launcher"


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


def test_panel_fills_a_phone_screen(open_page):
    page = open_page("lang=de", viewport={"width": 375, "height": 700}, is_mobile=True)
    page.click(".pa-launcher")

    box = page.locator("#pa-panel").bounding_box()
    _ask(page, "Wie registriere ich einen Deal?")
    _shot(page, "widget-phone.png")

    assert (box["width"], box["height"]) == (375, 700)
    assert page.inner_text("#pa-title") == "Partner-Assistent"


def test_dark_mode_follows_the_system(open_page):
    page = open_page(color_scheme="dark")
    page.click(".pa-launcher")
    _ask(page)
    _shot(page, "widget-dark.png")

    background = page.locator("#pa-panel").evaluate("p => getComputedStyle(p).backgroundColor")
    text = page.locator(".pa-assistant .pa-text").first.evaluate("t => getComputedStyle(t).color")
    channels = [int(v) for v in background[4:-1].split(",")[:3]]
    assert max(channels) < 60, background
    assert min(int(v) for v in text[4:-1].split(",")[:3]) > 180, text
