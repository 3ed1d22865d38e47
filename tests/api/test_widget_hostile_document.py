"""A document with hostile Markdown and HTML, ingested and answered by the real pipeline, shown
in the widget in a real browser: its markup stays text, its links never run script, and its
metadata (a title with a tag, a ``javascript:`` url) is as harmless as its body."""

from __future__ import annotations

import pytest
from api_helpers import scripted_reply

from api.app import create_app
from assistant.llm import ScriptedChatModel
from assistant.records import RecordStore
from assistant.service import build_service
from retrieval.knowledge_base import KnowledgeBase
from tests.helpers import write

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

HOSTILE_DOCUMENT = """---
title: "Reseller rebates <img src=x onerror=window.__pwned=1>"
url: "javascript:window.__pwned=2"
doc_type: program_rule
---
# Reseller rebates

## How rebates are paid
Resellers earn a quarterly rebate of 4 percent on certified product revenue \
<img src=x onerror="window.__pwned=3"> as described in the \
[rebate terms](javascript:window.__pwned=4) and the \
<a href="javascript:window.__pwned=5">claim form</a> **after the quarter closes**.
"""


@pytest.fixture
def app(api_settings, embedder, tmp_path):
    write(tmp_path / "docs" / "program" / "reseller-rebates.md", HOSTILE_DOCUMENT)
    kb = KnowledgeBase(api_settings, embedder)
    summary = kb.ingest([tmp_path / "docs"], sync=True)
    assert summary.files_indexed == 1, summary.files_failed
    records = RecordStore.from_settings(api_settings)
    service = build_service(
        api_settings, chat_model=ScriptedChatModel(scripted_reply), kb=kb, records=records
    )
    yield create_app(api_settings, service=service)
    records.dispose()


def test_hostile_document_markup_is_shown_as_text(browser, live_url):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{live_url}/?lang=en")
    page.click(".pa-launcher")
    page.fill("#pa-input", "How are reseller rebates paid?")
    page.press("#pa-input", "Enter")
    answer = page.locator(".pa-assistant[data-path]").last
    answer.wait_for()

    assert answer.get_attribute("data-path") in ("generated", "extractive")
    text = answer.locator(".pa-text")
    assert "<img src=x" in text.inner_text() and "<a href=" in text.inner_text()
    assert answer.locator("img, script, iframe, b").count() == 0
    hrefs = answer.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(h.startswith(("#pa-src-", "https://", "mailto:")) for h in hrefs), hrefs
    title = answer.locator(".pa-source-title")
    assert title.inner_text() == "Reseller rebates <img src=x onerror=window.__pwned=1>"
    assert answer.locator(".pa-cite").get_attribute("aria-label").startswith("Source 1: Reseller")
    for link in answer.locator("a").all():
        link.click(modifiers=["Alt"])  # following every link runs nothing either
    assert page.evaluate("window.__pwned") is None
    context.close()
