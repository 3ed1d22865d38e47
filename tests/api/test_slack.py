"""The Slack bot end to end: signed Slack payloads into ``POST /slack/events`` through FastAPI's
TestClient, the real service over the sample corpus (a scripted chat model), and a fake Slack Web
API on loopback that records what the bot sends back.

Bolt acknowledges an event at once and answers in a worker thread, so tests wait (bounded) for
the bot's calls to reach the fake, or drain Bolt's worker pool before asserting that nothing was
sent.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.i18n import languages, starter_questions, strings
from api.slack import caller_for, mount_slack, post_manager_reply, question_from
from api.slack_blocks import (
    MAX_BLOCKS,
    MAX_BUTTON_VALUE,
    MAX_CONTEXT_ELEMENTS,
    MAX_SECTION_TEXT,
    answer_blocks,
    answer_mrkdwn,
    feedback_modal,
    handoff_hint,
    parse_button_value,
    split_text,
)
from api.slack_config import SlackConfigError
from assistant.answering.messages import message
from assistant.llm import ScriptedChatModel
from assistant.models import Answer, CallerContext, Citation
from assistant.records import RecordStore
from assistant.service import build_service
from assistant.settings import SlackSettings
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackApi
from tests.helpers import make_settings

SIGNING_SECRET = "slack-signing-secret-for-tests"
REPLY = "Register the deal in the partner portal before you quote the customer [1]."
QUESTION = "How do I register a deal?"
SHARED = "CSHARED"  # a Slack Connect channel shared with the partner "acme"
_event_ids = itertools.count(1)


class SpyService:
    """The real service, remembering the questions it was asked. ``canned`` answers instead
    (stored like the service stores its own), for answers the corpus cannot produce."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.records = inner.records
        self.questions = []
        self.canned: Answer | None = None

    def answer(self, question):
        self.questions.append(question)
        if self.canned is not None:
            return self.records.save_answer(None, question.text, self.canned)
        return self.inner.answer(question)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def fake_slack():
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def slack_settings(tmp_path, fake_slack):
    return make_settings(tmp_path).model_copy(
        update={
            "slack": SlackSettings(
                signing_secret=SecretStr(SIGNING_SECRET),
                bot_token=SecretStr(fake_slack.token),
                api_url=fake_slack.base_url,
                manager_user_ids=["UMGR"],
                channel_partners={SHARED: {"partner_id": "acme", "tier": "gold", "region": "emea"}},
            )
        }
    )


def _reply_or_untranslated(messages) -> str:
    # A German question is first sent to be translated (prompts/translate.md): handing it back
    # unchanged keeps these tests about the bot's words, not about translation.
    if messages[0]["content"].startswith("Translate"):
        return messages[-1]["content"]
    return REPLY


@pytest.fixture
def service(slack_settings, sample_kb):
    records = RecordStore.from_settings(slack_settings)
    inner = build_service(
        slack_settings,
        chat_model=ScriptedChatModel(_reply_or_untranslated),
        kb=sample_kb,
        records=records,
    )
    yield SpyService(inner)
    records.dispose()


@pytest.fixture
def web(slack_settings, service):
    app = FastAPI()
    bolt = mount_slack(app, slack_settings, service)
    with TestClient(app) as client:
        yield client
    bolt.listener_runner.listener_executor.shutdown(wait=True)


def signed(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def event_body(event: dict, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_event_ids)}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}],
            "event": event,
        }
    )


def send_event(web, event: dict, event_id: str | None = None, **headers):
    body = event_body(event, event_id)
    return web.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **signed(body), **headers},
    )


def mention(text: str, *, user="U1", channel="C1", ts="1700000100.000001", thread_ts=None):
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(text: str, **extra):
    event = {
        "type": "message",
        "channel_type": "im",
        "user": "U1",
        "text": text,
        "ts": "1700000200.000001",
        "channel": "D1",
        "event_ts": "1700000200.000001",
    }
    return {**event, **extra}


def click(web, action_id: str, value: str, *, user="U1", channel="C1", thread_ts=None, locale=None):
    payload = {
        "type": "block_actions",
        "api_app_id": "A1",
        "team": {"id": "T1"},
        "user": {"id": user, **({"locale": locale} if locale else {})},
        "channel": {"id": channel},
        "message": {"ts": "1700000000.000009", "thread_ts": thread_ts},
        "trigger_id": "trig",
        "response_url": "https://hooks.slack.invalid/actions/1",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "answer_actions",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return web.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **signed(body)},
    )


def drain(web) -> None:
    """Wait until Bolt's worker threads have run every listener they were given."""
    web.app.state.slack.listener_runner.listener_executor.shutdown(wait=True)


def answered(fake, count: int = 1):
    """The bot's final answer messages (``chat.update`` calls), waiting for ``count``."""
    return fake.wait_for("chat.update", count)


def answer_id_of(update) -> str:
    return parse_button_value(button_value_of(update))[0]


def button_value_of(update) -> str:
    """What the answer's buttons carry (the answer id and the language they speak)."""
    actions = [b for b in update.args["blocks"] if b["type"] == "actions"]
    return actions[0]["elements"][0]["value"]


# -- the Events API ------------------------------------------------------------------------------


def test_url_verification_echoes_the_challenge(web, fake_slack):
    body = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"})
    response = web.post(
        "/slack/events", content=body, headers={"Content-Type": "application/json", **signed(body)}
    )
    assert response.status_code == 200
    assert response.json() == {"challenge": "c-123"}


def test_mention_posts_a_placeholder_in_the_mentions_thread(web, fake_slack):
    assert send_event(web, mention(QUESTION, ts="1700000100.000001")).status_code == 200
    placeholder = fake_slack.wait_for("chat.postMessage")[0]
    assert placeholder.args["channel"] == "C1"
    assert placeholder.args["thread_ts"] == "1700000100.000001"
    assert placeholder.args["text"] == "Looking that up…"


def test_placeholder_is_replaced_by_the_answer_with_citations(web, fake_slack):
    send_event(web, mention(QUESTION))
    update = answered(fake_slack)[0]
    placeholder = fake_slack.calls_to("chat.postMessage")[0]
    assert update.response["ok"]
    assert update.args["ts"] == placeholder.response["ts"]
    assert "partner portal" in update.args["text"]
    blocks = update.args["blocks"]
    assert blocks[0]["type"] == "section" and "partner portal" in blocks[0]["text"]["text"]
    sources = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert sources and "[1]" in sources[0]


def test_answer_buttons_carry_the_stored_answer_id(web, fake_slack, service):
    send_event(web, mention(QUESTION))
    update = answered(fake_slack)[0]
    actions = [b for b in update.args["blocks"] if b["type"] == "actions"][0]
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["feedback_up", "feedback_down", "handoff"]
    stored = service.records.get_answer(answer_id_of(update))
    assert stored.question == QUESTION


def test_the_bot_mention_is_not_part_of_the_question(web, fake_slack, service):
    send_event(web, mention(QUESTION))
    answered(fake_slack)
    assert service.questions[0].text == QUESTION
    assert service.questions[0].history == []


def test_thread_follow_up_sends_the_thread_as_history(web, fake_slack, service):
    root = fake_slack.add_message("C1", f"<@{BOT_USER_ID}> {QUESTION}", user="U1")
    fake_slack.add_message(
        "C1", "Use the partner portal [1].", user=BOT_USER_ID, bot=True, thread_ts=root["ts"]
    )
    fake_slack.add_message("C1", "Someone else chatting", user="U2", thread_ts=root["ts"])
    follow_up = fake_slack.add_message(
        "C1", f"<@{BOT_USER_ID}> and for gold partners?", user="U1", thread_ts=root["ts"]
    )
    send_event(web, mention("and for gold partners?", ts=follow_up["ts"], thread_ts=root["ts"]))
    answered(fake_slack)
    history = [(t.role, t.content) for t in service.questions[0].history]
    assert history == [
        ("user", QUESTION),
        ("assistant", "Use the partner portal [1]."),
        ("user", "Someone else chatting"),
    ]
    placeholder = fake_slack.calls_to("chat.postMessage")[0]
    assert placeholder.args["thread_ts"] == root["ts"]


def test_direct_message_is_answered_in_the_dm(web, fake_slack, service):
    send_event(web, dm(QUESTION))
    update = answered(fake_slack)[0]
    placeholder = fake_slack.calls_to("chat.postMessage")[0]
    assert placeholder.args["channel"] == "D1" and "thread_ts" not in placeholder.args
    assert update.args["channel"] == "D1"
    assert service.questions[0].text == QUESTION


def test_bot_messages_edits_and_channel_chatter_are_not_answered(web, fake_slack, service):
    send_event(web, dm("I am a bot", bot_id="BOTHER"))
    send_event(web, dm("edited", subtype="message_changed"))
    send_event(web, dm("channel chatter", channel_type="channel", channel="C1"))
    drain(web)
    assert fake_slack.calls_to("chat.postMessage") == []
    assert service.questions == []


def test_a_bare_mention_gets_a_hint_not_an_answer(web, fake_slack, service):
    send_event(web, mention(""))
    hint = fake_slack.wait_for("chat.postMessage")[0]
    assert "Ask me a question" in hint.args["text"]
    drain(web)
    assert service.questions == []


# -- who is asking -------------------------------------------------------------------------------


def test_manager_user_asks_as_channel_manager(web, fake_slack, service):
    send_event(web, mention(QUESTION, user="UMGR"))
    answered(fake_slack)
    assert service.questions[0].caller.role == "channel_manager"


def test_slack_connect_channel_asks_as_its_partner(web, fake_slack, service):
    send_event(web, mention(QUESTION, channel=SHARED))
    answered(fake_slack)
    caller = service.questions[0].caller
    assert (caller.role, caller.partner_id, caller.tier, caller.region) == (
        "partner",
        "acme",
        "gold",
        "emea",
    )


def test_manager_in_a_shared_channel_asks_as_the_partner():
    slack = SlackSettings(manager_user_ids=["UMGR"], channel_partners={SHARED: {"tier": "gold"}})
    assert caller_for("UMGR", SHARED, slack).role == "partner"


def test_unmapped_user_without_defaults_sees_only_public_partner_content():
    caller = caller_for("U1", "C1", SlackSettings())
    assert (caller.role, caller.tier, caller.region) == ("partner", None, None)


def test_unmapped_user_gets_the_default_tier_and_region():
    caller = caller_for("U1", "C1", SlackSettings(default_tier="silver", default_region="na"))
    assert (caller.tier, caller.region) == ("silver", "na")


def test_misconfigured_partner_tier_gets_a_clear_notice(tmp_path, fake_slack, service):
    settings = make_settings(tmp_path).model_copy(
        update={
            "slack": SlackSettings(
                signing_secret=SecretStr(SIGNING_SECRET),
                bot_token=SecretStr(fake_slack.token),
                api_url=fake_slack.base_url,
                channel_partners={"CBAD": {"tier": "diamond"}},
            )
        }
    )
    app = FastAPI()
    mount_slack(app, settings, service)
    with TestClient(app) as client:
        send_event(client, mention(QUESTION, channel="CBAD"))
        update = answered(fake_slack)[0]
    assert "settings are incomplete" in update.args["text"]
    assert "diamond" not in update.args["text"]


# -- Block Kit -----------------------------------------------------------------------------------


def _long_answer() -> Answer:
    citations = [
        Citation(
            n=n,
            source=f"docs/guide-{n}.md",
            title=f"Guide <{n}> & more " + "x" * 400,
            section="Registration",
            page=n,
            url=f"https://partners.example.com/doc?id={n}&lang=en",
        )
        for n in range(1, 61)
    ]
    text = " ".join(
        f"Sentence number {i} about deal registration [{i % 60 + 1}]." for i in range(2000)
    )
    return Answer(answer=text, citations=citations, grounded=True, path="generated")


def test_very_long_answer_with_many_citations_fits_slacks_limits(web, fake_slack, service):
    service.canned = _long_answer()
    send_event(web, mention(QUESTION))
    update = answered(fake_slack)[0]
    assert update.response["ok"], update.response
    blocks = update.args["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "context":
            assert len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
        if block["type"] == "actions":
            assert all(len(e["value"]) <= MAX_BUTTON_VALUE for e in block["elements"])
    assert update.args["text"] and len(update.args["text"]) <= MAX_SECTION_TEXT


def test_citations_link_their_url_with_escaped_title():
    answer = Answer(
        answer="See [1].",
        citations=[
            Citation(
                n=1,
                source="a.md",
                title="Tiers <&> rules",
                section="Gold",
                page=3,
                url="https://x.example/a?b=1&c=2",
            )
        ],
    )
    context = [b for b in answer_blocks(answer) if b["type"] == "context"][0]
    assert context["elements"][0]["text"] == (
        "<https://x.example/a?b=1&amp;c=2|[1] Tiers &lt;&amp;&gt; rules — Gold, p. 3>"
    )


def test_markers_link_to_their_source_and_unsafe_urls_stay_text():
    answer = Answer(
        answer="Safe [1], unsafe [2].",
        citations=[
            Citation(n=1, source="a.md", url="https://x.example/a"),
            Citation(n=2, source="b.md", url="javascript:alert(1)"),
        ],
    )
    assert answer_mrkdwn(answer) == "Safe <https://x.example/a|[1]>, unsafe [2]."


def test_answer_text_cannot_ping_the_channel_or_forge_links():
    answer = Answer(answer="Hi <!channel> see <https://evil.example|the portal> & more")
    text = answer_mrkdwn(answer)
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "&amp; more" in text


def test_abstained_answer_shows_a_notice_and_a_primary_handoff_button():
    answer = Answer(
        answer="I can't answer this.", path="abstained", handoff_offered=True, answer_id="a1"
    )
    blocks = answer_blocks(answer)
    assert any(
        b["type"] == "context" and "Talk to a person" in b["elements"][0]["text"] for b in blocks
    )
    handoff = [e for e in blocks[-1]["elements"] if e["action_id"] == "handoff"][0]
    assert handoff["style"] == "primary"


def test_refusal_is_said_once():
    refusal = "I couldn't find this in the partner documents you have access to."
    answer = Answer(answer=refusal, path="abstained", handoff_offered=True, answer_id="a1")
    text = json.dumps(answer_blocks(answer))
    assert text.count("couldn't find") == 1 and text.count("Talk to a person") >= 1


def test_markdown_lists_bold_and_links_become_mrkdwn():
    answer = Answer(
        answer="## Steps\n**Register** the deal:\n- in the [portal](https://p.example/deals)\n"
        "* within *30 days* [1]\n1. then wait",
        citations=[Citation(n=1, source="a.md", url="https://docs.example/a")],
    )
    text = answer_mrkdwn(answer)
    assert text.splitlines() == [
        "*Steps*",
        "*Register* the deal:",
        "• in the <https://p.example/deals|portal>",
        "• within _30 days_ <https://docs.example/a|[1]>",
        "1. then wait",
    ]
    assert "**" not in text and "](" not in text


def test_markdown_links_to_unsafe_urls_stay_text():
    text = answer_mrkdwn(Answer(answer="see [the file](file:///etc/passwd) now"))
    assert text == "see the file now"


def test_buttons_carry_accessibility_labels():
    blocks = answer_blocks(Answer(answer="Yes.", answer_id="a1"))
    [actions] = [b for b in blocks if b["type"] == "actions"]
    labels = [e.get("accessibility_label") for e in actions["elements"]]
    assert all(labels) and len(set(labels)) == 3
    assert any("channel manager" in label for label in labels)


def test_split_text_never_cuts_inside_a_link():
    text = "a" * 2990 + "<https://x.example/" + "b" * 40 + "|[1]>"
    pieces = split_text(text)
    assert all(len(p) <= MAX_SECTION_TEXT for p in pieces)
    assert pieces[1].startswith("<https://x.example/")


def test_question_from_strips_the_mention_and_slack_escapes():
    assert question_from(f"<@{BOT_USER_ID}|assistant> Q&amp;A &lt;gold&gt;", BOT_USER_ID) == (
        "Q&A <gold>"
    )


# -- buttons -------------------------------------------------------------------------------------


def test_feedback_button_records_the_rating(web, fake_slack, service):
    send_event(web, mention(QUESTION))
    answer_id = answer_id_of(answered(fake_slack)[0])
    assert click(web, "feedback_up", answer_id).status_code == 200
    confirmation = fake_slack.wait_for("chat.postEphemeral")[0]
    assert confirmation.args["user"] == "U1" and "Thanks" in confirmation.args["text"]
    assert [f.rating for f in service.records.list_feedback(answer_id)] == ["up"]


def submit_comment(web, view: dict, comment: str):
    payload = {
        "type": "view_submission",
        "api_app_id": "A1",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "trigger_id": "trig-2",
        "view": {
            **view,
            "state": {
                "values": {"comment": {"text": {"type": "plain_text_input", "value": comment}}}
            },
        },
    }
    body = urlencode({"payload": json.dumps(payload)})
    return web.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **signed(body)},
    )


def test_thumbs_down_opens_a_comment_box_whose_text_is_stored_with_the_rating(
    web, fake_slack, service
):
    send_event(web, mention(QUESTION))
    answer_id = answer_id_of(answered(fake_slack)[0])
    assert click(web, "feedback_down", answer_id).status_code == 200
    opened = fake_slack.wait_for("views.open")[0]
    assert opened.args["trigger_id"] == "trig" and opened.response["ok"], opened.response
    view = fake_slack.views[0]
    assert view["type"] == "modal" and view["callback_id"] == "feedback_comment"
    assert [f.rating for f in service.records.list_feedback(answer_id)] == ["down"]
    response = submit_comment(web, view, "  It quoted the 2025 rules, not 2026.  ")
    assert response.status_code == 200
    drain(web)
    [feedback] = service.records.list_feedback(answer_id)  # one rating, now with its comment
    assert feedback.rating == "down" and feedback.comment == "It quoted the 2025 rules, not 2026."
    assert fake_slack.calls_to("chat.postEphemeral") == []  # the box was the confirmation


def test_handoff_button_requests_a_person(web, fake_slack, service):
    send_event(web, mention(QUESTION))
    answer_id = answer_id_of(answered(fake_slack)[0])
    assert click(web, "handoff", answer_id, thread_ts="1700000100.000001").status_code == 200
    confirmation = fake_slack.wait_for("chat.postEphemeral")[0]
    assert "channel manager" in confirmation.args["text"]
    assert confirmation.args["thread_ts"] == "1700000100.000001"
    handoffs = service.records.list_handoffs(status="requested")
    assert [h.answer_id for h in handoffs] == [answer_id]


def test_handoff_replaces_the_buttons_with_a_confirmation_in_the_thread(web, fake_slack, service):
    send_event(web, mention(QUESTION))
    update = answered(fake_slack)[0]
    answer_id = answer_id_of(update)
    message = {"ts": update.args["ts"], "thread_ts": "1700000100.000001"}
    payload_message = {**message, "text": update.args["text"], "blocks": update.args["blocks"]}
    _click_with_message(web, "handoff", answer_id, payload_message)
    marked = fake_slack.wait_for("chat.update", 2)[-1]
    assert marked.response["ok"] and marked.args["ts"] == update.args["ts"]
    blocks = marked.args["blocks"]
    assert not [b for b in blocks if b["type"] == "actions"]  # nobody presses twice
    [handoff] = service.records.list_handoffs(status="requested")
    assert handoff.reference in blocks[-1]["elements"][0]["text"]
    assert blocks[0] == update.args["blocks"][0]  # the answer itself stays


def _click_with_message(web, action_id: str, value: str, message: dict):
    payload = {
        "type": "block_actions",
        "api_app_id": "A1",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "message": message,
        "trigger_id": "trig",
        "actions": [{"type": "button", "action_id": action_id, "value": value, "action_ts": "1"}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return web.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **signed(body)},
    )


def test_app_home_shows_the_starter_questions(web, fake_slack):
    send_event(web, {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    published = fake_slack.wait_for("views.publish")[0]
    assert published.response["ok"], published.response
    assert published.args["user_id"] == "U1"
    home = fake_slack.views[0]
    text = json.dumps(home)
    assert home["type"] == "home" and starter_questions("en")
    assert all(question in text for question in starter_questions("en"))


def test_managers_reply_is_posted_into_the_thread_the_handoff_came_from(
    web, fake_slack, service, slack_settings
):
    send_event(web, mention(QUESTION, channel=SHARED, ts="1700000300.000001"))
    answer_id = answer_id_of(answered(fake_slack)[0])
    click(web, "handoff", answer_id, channel=SHARED, thread_ts="1700000300.000001")
    confirmation = fake_slack.wait_for("chat.postEphemeral")[0]
    [handoff] = service.records.list_handoffs(status="requested")
    manager = CallerContext(role="channel_manager", partner_id="alice")

    replied = service.reply_handoff(handoff.id, manager, "Use form <DR-1> & call me.")
    posted_before = len([c for c in fake_slack.calls if c.method == "chat.postMessage"])
    assert post_manager_reply(slack_settings, replied)

    assert handoff.reference in confirmation.args["text"]
    assert "24 hours" in confirmation.args["text"]
    assert (handoff.slack_channel, handoff.slack_thread_ts) == (SHARED, "1700000300.000001")
    post = fake_slack.wait_for("chat.postMessage", posted_before + 1)[-1]
    assert post.args["channel"] == SHARED and post.args["thread_ts"] == "1700000300.000001"
    assert "Use form &lt;DR-1&gt; &amp; call me." in post.args["text"]


def test_feedback_on_an_unknown_answer_says_so(web, fake_slack, service):
    click(web, "feedback_up", "no-such-answer")
    confirmation = fake_slack.wait_for("chat.postEphemeral")[0]
    assert "can't find that answer" in confirmation.args["text"]
    assert service.records.list_feedback() == []


def test_abstained_answer_offers_a_person_and_the_button_requests_it(web, fake_slack, service):
    send_event(web, mention("What will the weather be like on Jupiter next Tuesday?"))
    update = answered(fake_slack)[0]
    notices = [b for b in update.args["blocks"] if b["type"] == "context"]
    assert any("Talk to a person" in e["text"] for b in notices for e in b["elements"])
    click(web, "handoff", answer_id_of(update))
    fake_slack.wait_for("chat.postEphemeral")
    [handoff] = service.records.list_handoffs(status="requested")
    assert "Jupiter" in handoff.question


# -- request verification ------------------------------------------------------------------------


def _post_event(web, headers: dict):
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event": mention(QUESTION)})
    return web.post(
        "/slack/events", content=body, headers={"Content-Type": "application/json", **headers(body)}
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed(body, secret="not-the-secret"), id="forged"),
        pytest.param(lambda body: {}, id="unsigned"),
        pytest.param(lambda body: signed(body, timestamp=int(time.time()) - 301), id="replayed"),
        pytest.param(lambda body: signed(body + " "), id="tampered-body"),
    ],
)
def test_unverified_requests_get_401_and_post_nothing(web, fake_slack, service, headers):
    response = _post_event(web, headers)
    assert response.status_code == 401
    drain(web)
    assert [c.method for c in fake_slack.calls if c.method != "auth.test"] == []
    assert service.questions == []


def test_malformed_signed_body_is_a_clear_400(web, fake_slack):
    body = "{not json"
    response = web.post(
        "/slack/events", content=body, headers={"Content-Type": "application/json", **signed(body)}
    )
    assert response.status_code == 400
    assert "malformed" in response.text


def test_timed_out_retry_is_not_answered_twice(web, fake_slack, service):
    send_event(
        web, mention(QUESTION), **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    drain(web)
    assert fake_slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize("reason", ["http_error", None])
def test_a_redelivered_event_is_not_answered_again(web, fake_slack, service, reason):
    event_id = f"EvRedelivered{reason}"
    assert send_event(web, mention(QUESTION), event_id=event_id).status_code == 200
    answered(fake_slack)
    retry = {"X-Slack-Retry-Num": "1"} | ({"X-Slack-Retry-Reason": reason} if reason else {})

    response = send_event(web, mention(QUESTION), event_id=event_id, **retry)
    drain(web)

    assert response.status_code == 200
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(fake_slack.calls_to("chat.update")) == 1
    assert len(service.questions) == 1


def test_another_event_with_the_same_text_is_answered(web, fake_slack, service):
    send_event(web, mention(QUESTION), event_id="EvFirst")
    answered(fake_slack)
    send_event(web, mention(QUESTION, ts="1700000100.000002"), event_id="EvSecond")

    assert len(answered(fake_slack, 2)) == 2


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-5"])
def test_a_timestamp_that_is_not_a_number_is_401_with_a_message(web, fake_slack, timestamp):
    body = event_body(mention(QUESTION))
    headers = {**signed(body), "X-Slack-Request-Timestamp": timestamp}

    response = web.post(
        "/slack/events", content=body, headers={"Content-Type": "application/json", **headers}
    )

    assert response.status_code == 401
    assert "X-Slack-Request-Timestamp" in response.text


# -- wiring --------------------------------------------------------------------------------------


def test_mount_refuses_without_a_bot_token(tmp_path):
    settings = make_settings(tmp_path).model_copy(
        update={"slack": SlackSettings(signing_secret=SecretStr(SIGNING_SECRET))}
    )
    with pytest.raises(ValueError, match="PA_SLACK_BOT_TOKEN"):
        mount_slack(FastAPI(), settings, None)


def test_the_api_never_opens_socket_mode_itself(slack_settings, service):
    """Socket Mode runs in `partner-assistant slack` (one connection), not in each API worker."""
    settings = slack_settings.model_copy(
        update={
            "slack": slack_settings.slack.model_copy(
                update={"socket_mode": True, "app_token": SecretStr("xapp-1-test")}
            )
        }
    )
    app = FastAPI()
    inner = app.router.lifespan_context
    mount_slack(app, settings, service)
    assert app.router.lifespan_context is inner


class SocketRecorder:
    """Stands in for the WebSocket side of slack_sdk's SocketModeClient: Bolt's handler hands it
    the acknowledgement for each envelope."""

    def __init__(self) -> None:
        import logging

        self.logger = logging.getLogger("socket-recorder")
        self.responses = []

    def send_socket_mode_response(self, response) -> None:
        self.responses.append(response)


def test_socket_mode_answers_without_a_signing_secret(tmp_path, fake_slack, service):
    from slack_sdk.socket_mode.request import SocketModeRequest

    from api.slack import socket_mode_handler

    settings = make_settings(tmp_path).model_copy(
        update={
            "slack": SlackSettings(
                bot_token=SecretStr(fake_slack.token),
                app_token=SecretStr("xapp-1-test"),
                socket_mode=True,
                api_url=fake_slack.base_url,
            )
        }
    )
    handler = socket_mode_handler(settings, service)
    try:
        envelope = {
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": "EvSocket1",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}],
            "event": mention(QUESTION),
        }
        recorder = SocketRecorder()
        handler.handle(
            recorder, SocketModeRequest(type="events_api", envelope_id="env-1", payload=envelope)
        )
        assert [r.envelope_id for r in recorder.responses] == ["env-1"]  # acknowledged
        update = answered(fake_slack)[0]
        assert "partner portal" in update.args["text"] and update.response["ok"]
        assert service.questions[0].text == QUESTION
    finally:
        handler.app.listener_runner.listener_executor.shutdown(wait=True)
        handler.client.close()


@pytest.mark.parametrize(
    ("command", "env", "named"),
    [
        ("serve", {"PA_SLACK_SIGNING_SECRET": "s"}, "PA_SLACK_BOT_TOKEN"),
        ("serve", {"PA_SLACK_BOT_TOKEN": "xoxb-1"}, "PA_SLACK_SIGNING_SECRET"),
        ("slack", {"PA_SLACK_BOT_TOKEN": "xoxb-1"}, "PA_SLACK_APP_TOKEN"),
        ("slack", {"PA_SLACK_APP_TOKEN": "xapp-1"}, "PA_SLACK_BOT_TOKEN"),
        (
            "slack",
            {"PA_SLACK_BOT_TOKEN": "xoxb-1", "PA_SLACK_APP_TOKEN": "xoxb-2"},
            "PA_SLACK_APP_TOKEN",
        ),
    ],
)
def test_a_partial_slack_configuration_fails_at_start_in_one_line(
    tmp_path, monkeypatch, command, env, named
):
    from typer.testing import CliRunner

    from api import cli
    from assistant.settings import get_settings

    for name in ("SIGNING_SECRET", "BOT_TOKEN", "APP_TOKEN", "SOCKET_MODE"):
        monkeypatch.delenv(f"PA_SLACK_{name}", raising=False)
    monkeypatch.setenv("PA_STORE_DIR", str(tmp_path / "store"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, [command], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_app_factory_refuses_a_partial_configuration_with_a_clear_error(tmp_path):
    from api.app import create_app
    from api.slack_config import SlackConfigError

    settings = make_settings(tmp_path).model_copy(
        update={"slack": SlackSettings(signing_secret=SecretStr(SIGNING_SECRET))}
    )
    with pytest.raises(SlackConfigError, match="PA_SLACK_BOT_TOKEN"):
        create_app(settings, service=None)


def test_the_manifest_subscribes_to_every_event_and_scope_the_bot_uses():
    import yaml

    from tests.helpers import REPO

    manifest = yaml.safe_load((REPO / "slack" / "manifest.yaml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.im", "app_home_opened"} <= events
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "im:history", "channels:history"} <= scopes
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    for url in (
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
    ):
        assert url.endswith("/slack/events")


def test_on_the_product_app_answers_are_counted_for_the_slack_channel(
    slack_settings, fake_slack, service
):
    from api.app import create_app

    app = create_app(slack_settings, service=service)
    mount_slack(app, slack_settings, service)
    with TestClient(app) as client:
        send_event(client, mention(QUESTION))
        answered(fake_slack)
        metrics = client.get("/metrics").text
    assert 'pa_answers_total{channel="slack",path="generated"} 1.0' in metrics


def test_service_is_found_on_the_app_when_mounted_before_it_exists(
    slack_settings, fake_slack, service
):
    app = FastAPI()
    mount_slack(app, slack_settings, None)
    app.state.service = service
    with TestClient(app) as client:
        send_event(client, mention(QUESTION))
        update = answered(fake_slack)[0]
    assert "partner portal" in update.args["text"]


# -- a hostile document ---------------------------------------------------------------------------

HOSTILE_DOCUMENT = """---
title: "Rebates <script>alert(1)</script> <!channel> <@U123>"
doc_type: program_rule
---
# Reseller rebates

## How rebates are paid
Resellers earn a quarterly rebate of 4 percent on certified revenue <script>alert(2)</script> \
paid by <@U123> after the quarter closes <!channel> <!here> <https://evil.example|the portal>.
"""


@pytest.fixture
def hostile_web(slack_settings, embedder, tmp_path):
    from api_helpers import scripted_reply

    from retrieval.knowledge_base import KnowledgeBase
    from tests.helpers import write

    write(tmp_path / "docs" / "program" / "reseller-rebates.md", HOSTILE_DOCUMENT)
    kb = KnowledgeBase(slack_settings, embedder)
    assert kb.ingest([tmp_path / "docs"], sync=True).files_indexed == 1
    records = RecordStore.from_settings(slack_settings)
    service = build_service(
        slack_settings, chat_model=ScriptedChatModel(scripted_reply), kb=kb, records=records
    )
    app = FastAPI()
    bolt = mount_slack(app, slack_settings, service)
    with TestClient(app) as client:
        yield client
    bolt.listener_runner.listener_executor.shutdown(wait=True)
    records.dispose()


def test_a_documents_markup_and_mentions_reach_slack_as_text(hostile_web, fake_slack):
    send_event(hostile_web, mention("How are reseller rebates paid?"))
    update = answered(fake_slack)[-1]

    posted = json.dumps([update.args["text"], update.args["blocks"]])
    assert "rebate" in posted
    for raw in ("<script>", "<!channel>", "<!here>", "<@U123>", "<https://evil.example"):
        assert raw not in posted
    assert "&lt;script&gt;" in posted and "&lt;@U123&gt;" in posted


# -- several workers ------------------------------------------------------------------------------


def test_a_redelivery_to_another_worker_is_not_answered_again(slack_settings, service, fake_slack):
    import uuid

    import redis

    prefix = f"pa-test-{uuid.uuid4().hex}"
    api = slack_settings.api.model_copy(
        update={"shared_state_url": "redis://127.0.0.1:6379/0", "shared_state_prefix": prefix}
    )
    settings = slack_settings.model_copy(update={"api": api})
    workers = [FastAPI(), FastAPI()]
    for worker in workers:
        mount_slack(worker, settings, service)
    try:
        with TestClient(workers[0]) as one, TestClient(workers[1]) as two:
            send_event(one, mention(QUESTION), event_id="EvShared")
            answered(fake_slack)
            retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
            assert send_event(two, mention(QUESTION), event_id="EvShared", **retry).is_success
            drain(one)
            drain(two)
    finally:
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)

    assert len(service.questions) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


# -- the partner's language ----------------------------------------------------------------------

GERMAN_UNANSWERABLE = "Wie wird das Wetter auf dem Jupiter am nächsten Dienstag?"
DE = strings("slack", "de")
EN = strings("slack", "en")


def _buttons(update) -> list[dict]:
    [actions] = [b for b in update.args["blocks"] if b["type"] == "actions"]
    return actions["elements"]


def _context_texts(blocks) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]


def test_a_german_question_gets_german_buttons_and_the_german_refusal(web, fake_slack, service):
    send_event(web, mention(GERMAN_UNANSWERABLE))
    update = answered(fake_slack)[0]
    placeholder = fake_slack.calls_to("chat.postMessage")[0]

    assert placeholder.args["text"] == DE("placeholder")
    assert update.args["blocks"][0]["text"]["text"] == message("abstain", "de")
    assert handoff_hint(DE) in _context_texts(update.args["blocks"])
    buttons = _buttons(update)
    assert [b["text"]["text"] for b in buttons] == ["👍", "👎", "Mit einer Person sprechen"]
    assert [b["accessibility_label"] for b in buttons] == [
        DE("helped"),
        DE("notHelped"),
        DE("handoffLabel"),
    ]
    assert all(b["value"].endswith("|de") for b in buttons)
    assert "Talk to a person" not in json.dumps(update.args["blocks"])
    assert service.questions[0].caller.language == "de"


def test_an_english_question_keeps_the_english_words(web, fake_slack, service):
    send_event(web, mention(QUESTION))
    update = answered(fake_slack)[0]

    assert fake_slack.calls_to("chat.postMessage")[0].args["text"] == "Looking that up…"
    buttons = _buttons(update)
    assert [(b["text"]["text"], b["accessibility_label"]) for b in buttons] == [
        ("👍", "This answer helped"),
        ("👎", "This answer did not help; add a comment"),
        ("Talk to a person", "Ask your channel manager to follow up on this question"),
    ]
    assert buttons[0]["value"] == f"{answer_id_of(update)}|en"


def test_the_comment_box_and_the_handoff_confirmation_speak_the_answers_language(
    web, fake_slack, service, slack_settings
):
    send_event(web, mention(GERMAN_UNANSWERABLE, ts="1700000400.000001"))
    update = answered(fake_slack)[0]
    value = button_value_of(update)

    click(web, "feedback_down", value)
    fake_slack.wait_for("views.open")
    view = fake_slack.views[0]
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Was lief schief?",
        "Senden",
        "Überspringen",
    )
    assert view["blocks"][0]["label"]["text"] == DE("commentLabel")

    posted = {"ts": update.args["ts"], "thread_ts": "1700000400.000001"}
    posted |= {"text": update.args["text"], "blocks": update.args["blocks"]}
    _click_with_message(web, "handoff", value, posted)
    confirmation = fake_slack.wait_for("chat.postEphemeral")[0]
    [handoff] = service.records.list_handoffs(status="requested")
    assert confirmation.args["text"] == (
        "Ich habe Ihre Frage an Ihren Channel Manager weitergegeben "
        f"(Referenz `{handoff.reference}`); Sie erhalten innerhalb von 24 Stunden eine Antwort "
        "in diesem Thread."
    )
    marked = fake_slack.wait_for("chat.update", 2)[-1].args["blocks"]
    assert _context_texts(marked)[-1] == DE("handoffMarked", ref=handoff.reference)
    assert handoff_hint(DE) not in _context_texts(marked)  # the hint went with the buttons

    manager = CallerContext(role="channel_manager", partner_id="alice")
    assert post_manager_reply(slack_settings, service.reply_handoff(handoff.id, manager, "Ja."))
    reply = fake_slack.calls_to("chat.postMessage")[-1]
    assert reply.args["text"].startswith("*Antwort Ihres Channel Managers*")


@pytest.fixture
def spanish_web(slack_settings, service):
    """The bot with ``PA_SLACK_DEFAULT_LANGUAGE=es``."""
    slack = slack_settings.slack.model_copy(update={"default_language": "es"})
    app = FastAPI()
    bolt = mount_slack(app, slack_settings.model_copy(update={"slack": slack}), service)
    with TestClient(app) as client:
        yield client
    bolt.listener_runner.listener_executor.shutdown(wait=True)


def test_a_button_without_a_language_speaks_the_users_locale(spanish_web, fake_slack, service):
    send_event(spanish_web, mention(QUESTION))
    answer_id = answer_id_of(answered(fake_slack)[0])

    click(spanish_web, "feedback_up", answer_id, locale="fr-FR")  # a message from before
    confirmation = fake_slack.wait_for("chat.postEphemeral")[0]

    assert confirmation.args["text"] == strings("slack", "fr")("feedbackThanks")


def test_a_button_without_a_language_or_locale_speaks_the_default_language(
    spanish_web, fake_slack, service
):
    click(spanish_web, "handoff", "no-such-answer")
    confirmation = fake_slack.wait_for("chat.postEphemeral")[0]

    assert confirmation.args["text"] == strings("slack", "es")("handoffGone")


def test_a_buttons_language_wins_over_the_users_locale(web, fake_slack, service):
    send_event(web, mention(QUESTION))
    answer_id = answer_id_of(answered(fake_slack)[0])

    click(web, "feedback_up", f"{answer_id}|ja", locale="de-DE")
    confirmation = fake_slack.wait_for("chat.postEphemeral")[0]

    assert confirmation.args["text"] == strings("slack", "ja")("feedbackThanks")
    assert [f.rating for f in service.records.list_feedback(answer_id)] == ["up"]


def test_app_home_speaks_the_default_language(spanish_web, fake_slack):
    send_event(spanish_web, {"type": "app_home_opened", "user": "U1", "tab": "home"})
    fake_slack.wait_for("views.publish")
    home = fake_slack.views[0]

    assert home["blocks"][0]["text"]["text"] == "Asistente para partners"
    assert all(q in json.dumps(home, ensure_ascii=False) for q in starter_questions("es"))
    assert starter_questions("es") != starter_questions("en")


def test_a_short_question_is_answered_around_the_default_language(spanish_web, fake_slack):
    send_event(spanish_web, mention("MDF?"))  # too short to tell its language
    answered(fake_slack)

    assert fake_slack.calls_to("chat.postMessage")[0].args["text"] == (
        strings("slack", "es")("placeholder")
    )


def test_a_german_placeholder_is_not_part_of_the_history(web, fake_slack, service):
    root = fake_slack.add_message("C1", f"<@{BOT_USER_ID}> {GERMAN_UNANSWERABLE}", user="U1")
    fake_slack.add_message(
        "C1", DE("placeholder"), user=BOT_USER_ID, bot=True, thread_ts=root["ts"]
    )
    follow_up = fake_slack.add_message("C1", "Und morgen?", user="U1", thread_ts=root["ts"])
    send_event(web, mention("Und morgen?", ts=follow_up["ts"], thread_ts=root["ts"]))
    answered(fake_slack)

    assert [t.role for t in service.questions[0].history] == ["user"]


@pytest.mark.parametrize("language", languages())
def test_every_languages_words_fit_slacks_limits(language):
    """Slack refuses a modal whose title, submit or close text is over 24 characters, and a
    button whose text or accessibility label is over 75."""
    t = strings("slack", language)
    view = feedback_modal("f1", language)
    assert all(len(view[k]["text"]) <= 24 for k in ("title", "submit", "close"))
    answer = Answer(answer="…", path="abstained", answer_id="a1", language=language)
    [actions] = [b for b in answer_blocks(answer) if b["type"] == "actions"]
    for button in actions["elements"]:
        assert len(button["text"]["text"]) <= 75 and len(button["accessibility_label"]) <= 75
    assert t("handoff") in handoff_hint(t)


def test_an_unknown_default_language_refuses_to_start(slack_settings):
    slack = slack_settings.slack.model_copy(update={"default_language": "xx"})
    with pytest.raises(SlackConfigError, match="PA_SLACK_DEFAULT_LANGUAGE"):
        mount_slack(FastAPI(), slack_settings.model_copy(update={"slack": slack}))
