"""The manager dashboard (/manage) in a real browser (Debian's Chromium, headless) against the
real API served by uvicorn on loopback: sign in with a manager API key, see the hand-off queue,
reply to a hand-off and close it, read feedback with its comment and the gap topics, open the
conversation with the reply in it. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import ABSTAIN_QUESTION, MANAGER

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def seeded(client, partner_headers):
    """A partner's abstained question handed to a person, and a thumbs-down with a comment."""
    abstained = client.post(
        "/v1/chat", json={"question": ABSTAIN_QUESTION}, headers=partner_headers
    ).json()
    handoff = client.post(
        "/v1/handoffs",
        json={"answer_id": abstained["answer_id"], "comment": "Need it for a bid"},
        headers=partner_headers,
    ).json()
    answered = client.post(
        "/v1/chat", json={"question": "How do I register a deal?"}, headers=partner_headers
    ).json()
    client.post(
        "/v1/feedback",
        json={"answer_id": answered["answer_id"], "rating": "down", "comment": "Too vague"},
        headers=partner_headers,
    )
    return handoff


@pytest.fixture
def page(browser, live_url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{live_url}/manage")
    yield page
    context.close()


def _sign_in(page, credential: str) -> None:
    page.fill("#m-credential", credential)
    page.click("#m-login-form button[type=submit]")


def test_manager_replies_to_and_closes_a_handoff_from_the_dashboard(page, seeded, app):
    _sign_in(page, MANAGER["X-API-Key"])
    row = page.locator(f"#m-queue tr[data-handoff-id='{seeded['id']}']")
    row.wait_for()
    assert seeded["reference"] in row.inner_text()
    assert "Need it for a bid" in row.inner_text()
    page.locator("#m-topics tbody tr").first.wait_for()
    page.locator("#m-feedback tr[data-rating='down']").wait_for()
    assert "Too vague" in page.inner_text("#m-feedback")
    assert page.locator("#m-rate-chart svg polyline").count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "manage-queue.png"), full_page=True)

    row.locator(".m-reply-text").fill("Jupiter is not a sales territory; call me.")
    row.locator(".m-reply").click()
    page.locator(
        f"#m-queue tr[data-handoff-id='{seeded['id']}'][data-status='answered']"
    ).wait_for()
    answered = app.state.records.get_handoff(seeded["id"])
    assert answered.reply == "Jupiter is not a sales territory; call me."
    assert answered.assignee == "channel_manager"

    page.locator(f"#m-queue tr[data-handoff-id='{seeded['id']}'] .m-conversation-link").click()
    page.locator("#m-messages .m-manager").wait_for()
    assert "Jupiter is not a sales territory" in page.inner_text("#m-messages")
    page.screenshot(path=str(ARTIFACTS / "manage-conversation.png"), full_page=True)

    page.locator(f"#m-queue tr[data-handoff-id='{seeded['id']}'] .m-close").click()
    page.locator(f"#m-queue tr[data-handoff-id='{seeded['id']}']").wait_for(state="detached")
    assert app.state.records.get_handoff(seeded["id"]).status == "closed"
    page.select_option("#m-queue-filters select[name=status]", "closed")
    page.click("#m-queue-filters button[type=submit]")
    page.locator(f"#m-queue tr[data-handoff-id='{seeded['id']}'][data-status='closed']").wait_for()
    page.screenshot(path=str(ARTIFACTS / "manage-closed.png"), full_page=True)


def test_a_partner_token_cannot_open_the_dashboard(page, auth, seeded):
    _sign_in(page, auth.issue_token("acme", tier="gold", region="emea"))

    page.locator("#m-login-error:not(:empty)").wait_for()
    assert page.is_hidden("#m-main")
    assert "HO-" not in page.content()
