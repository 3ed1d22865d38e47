"""The Slack bot: partners and channel managers ask the assistant where they already work.

A channel like any other (see STYLE.md): it turns a Slack message into a :class:`Question`, asks
the same `AssistantService` as the API, and turns the :class:`Answer` back into Block Kit
(:mod:`api.slack_blocks`). Built on slack_bolt:

- ``POST /slack/events`` takes the Events API and button clicks; Bolt verifies Slack's request
  signature (and refuses timestamps older than five minutes) before anything runs;
- each event is answered once: a redelivery (``X-Slack-Retry-Num``) of an ``event_id`` already
  seen, by this worker or another one sharing ``PA_API_SHARED_STATE_URL``, is acknowledged and
  dropped;
- a mention in a channel is answered in its thread, a direct message in the DM; a follow-up in a
  thread sends the thread (``conversations.replies``) as history;
- the bot posts "Looking that up…" at once and replaces it with the answer (``chat.update``),
  because an answer takes longer than the three seconds Slack waits for its acknowledgement;
- 👍/👎 record feedback (👎 then opens a comment box whose text is stored with the rating);
  "Talk to a person" requests a hand-off, confirms privately and replaces the buttons with a
  line saying a person was asked;
- the App Home tab shows what the bot is for and the starter questions.

It speaks the partner's language (the ``"slack"`` strings of :mod:`api.i18n`): an answer's
buttons and hints in the answer's ``language``; what a click says back (thanks, the comment box,
the hand-off confirmation) in the language its buttons carry, else the user's ``locale`` when the
payload has one, else ``PA_SLACK_DEFAULT_LANGUAGE``; notices before an answer exists ("Looking
that up…", busy) in the question's detected language; the App Home in the default language.

Who asks decides what may be retrieved, and that comes only from settings (:func:`caller_for`).

Two ways to run it (settings checked by :mod:`api.slack_config`): mounted on the API
(``create_app`` calls :func:`mount_slack`; Bolt checks signatures), or standalone in Socket Mode
(``partner-assistant slack`` calls :func:`run_socket_mode`: one connection, however many API
workers run)::

    mount_slack(app, settings, service)     # service may be None until the app's lifespan
    run_socket_mode(settings, service)      # blocks; Ctrl-C stops it
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import nullcontext
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI, Request, Response
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from starlette.concurrency import run_in_threadpool

from api.i18n import languages, pick_language, starter_questions
from api.shared_state import SharedState
from api.slack_blocks import (
    COMMENT_BLOCK,
    COMMENT_INPUT,
    FEEDBACK_COMMENT,
    FEEDBACK_DOWN,
    FEEDBACK_UP,
    HANDOFF,
    MAX_COMMENT,
    answer_blocks,
    answer_text,
    escape,
    feedback_modal,
    handoff_requested_blocks,
    home_view,
    notice_blocks,
    parse_button_value,
    slack_strings,
    split_text,
)
from api.slack_config import check_http, check_socket_mode
from api.throttling import QueueFull
from assistant.answering.language import detect_language
from assistant.models import Answer, CallerContext, Handoff, Question, Turn
from assistant.settings import Settings, SlackSettings
from retrieval.access import AccessError

log = logging.getLogger(__name__)

# "Looking that up…" in every language: a thread's history leaves these out.
PLACEHOLDERS = frozenset(slack_strings(code)("placeholder") for code in languages())
NOTICE = ":warning: "  # our notices start with this, so thread history can leave them out
HISTORY_TURNS = 8  # as the API: the last four exchanges
THREAD_FETCH = 200  # messages read from a thread (Slack's recommended page size)
MAX_QUESTION = 4000  # Question.text's limit
EVENT_TTL_SECONDS = 3600  # Slack's redeliveries of an event come within minutes


def caller_for(user_id: str | None, channel_id: str | None, slack: SlackSettings) -> CallerContext:
    """Who a Slack user is to the assistant, from configuration only (never from the message).

    1. A Slack Connect channel listed in ``slack.channel_partners`` is shared with that partner,
       so whatever is said there is read by them: anyone asking there, a channel manager too,
       asks as that partner (its ``partner_id``, ``tier``, ``region``). Internal documents never
       reach a shared channel.
    2. A user in ``slack.manager_user_ids`` is a channel manager (internal documents in scope)
       in DMs and internal channels.
    3. Everyone else is a partner at ``default_tier``/``default_region``; when those are unset
       only content open to every partner is in scope.

    The caller's ``language`` is ``slack.default_language``: the answer's language when the
    question is too short to tell.
    """
    language = slack.default_language
    partner = slack.channel_partners.get(channel_id or "")
    if partner is not None:
        return CallerContext(
            role="partner",
            partner_id=partner.get("partner_id"),
            tier=partner.get("tier"),
            region=partner.get("region"),
            language=language,
        )
    if user_id and user_id in slack.manager_user_ids:
        return CallerContext(role="channel_manager", language=language)
    return CallerContext(
        role="partner", tier=slack.default_tier, region=slack.default_region, language=language
    )


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` as entities; the assistant reads plain text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def question_from(text: str, bot_user_id: str | None) -> str:
    """The message without the bot's mention (``<@UBOT>`` or ``<@UBOT|name>``)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return re.sub(r"[ \t]+", " ", unescape(text)).strip()


def thread_history(
    client: WebClient,
    channel: str,
    thread_ts: str,
    *,
    bot_user_id: str | None,
    bot_id: str | None,
    exclude: set[str],
) -> list[Turn]:
    """The thread so far as turns, oldest first: the bot's answers are assistant turns, people's
    messages user turns; other bots, placeholders, notices and ``exclude`` (the question being
    answered) are left out. A thread Slack will not return gives no history, not an error."""
    try:
        response = client.conversations_replies(channel=channel, ts=thread_ts, limit=THREAD_FETCH)
    except SlackApiError as exc:
        log.warning("could not read thread history: %s", exc.response.get("error"))
        return []
    turns: list[Turn] = []
    for message in response.get("messages") or []:
        text = message.get("text") or ""
        if message.get("ts") in exclude or not text:
            continue
        ours = (bot_user_id and message.get("user") == bot_user_id) or (
            bot_id and message.get("bot_id") == bot_id
        )
        if ours:
            if text not in PLACEHOLDERS and not text.startswith(NOTICE):
                turns.append(Turn(role="assistant", content=unescape(text)))
        elif not message.get("bot_id") and not message.get("subtype"):
            said = question_from(text, bot_user_id)
            if said:
                turns.append(Turn(role="user", content=said))
    return turns[-HISTORY_TURNS:]


class SlackBot:
    """The Bolt listeners. The service is looked up when a message arrives, because
    ``create_app`` may build it only in its lifespan, after the routes are mounted. ``app`` is
    the FastAPI app, or for the standalone bot anything with a ``state`` namespace."""

    def __init__(
        self, app: Any, settings: Settings, service: Any = None, seen: SharedState | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self._service = service
        self.seen = seen or SharedState()

    @property
    def service(self) -> Any:
        return (
            self._service if self._service is not None else getattr(self.app.state, "service", None)
        )

    def register(self, bolt: App) -> None:
        bolt.middleware(_skip_timeout_retries)
        bolt.middleware(self._once_per_event)
        bolt.event("app_mention")(self.on_mention)
        bolt.event("message")(self.on_message)
        bolt.action(FEEDBACK_UP)(self.on_feedback)
        bolt.action(FEEDBACK_DOWN)(self.on_feedback)
        bolt.action(HANDOFF)(self.on_handoff)
        bolt.view(FEEDBACK_COMMENT)(self.on_feedback_comment)
        bolt.event("app_home_opened")(self.on_home_opened)

    def language(self, *hints: str | None) -> str:
        """The first of ``hints`` the bot has strings for (an answer's language, a Slack
        locale such as ``de-DE``), else ``PA_SLACK_DEFAULT_LANGUAGE``."""
        return pick_language(*hints, self.settings.slack.default_language)

    def question_language(self, text: str) -> str:
        """The language of a question not yet answered, detected as the service detects it."""
        supported = tuple(self.settings.answer.languages)
        return self.language(detect_language(text, self.settings.slack.default_language, supported))

    def _once_per_event(self, req: Any, resp: BoltResponse, next: Callable[[], None]) -> Any:
        """Slack redelivers an event it thinks failed (``X-Slack-Retry-Num``, for a timeout, an
        error or no reason given), possibly to another worker; each ``event_id`` is handled
        once, by whichever worker sees it first (:class:`SharedState`). When the shared store
        cannot be reached the event is handled: a rare second answer beats a lost question."""
        event_id = (req.body or {}).get("event_id") if isinstance(req.body, dict) else None
        if event_id:
            try:
                first = self.seen.first_time(f"slack-event:{event_id}", EVENT_TTL_SECONDS)
            except Exception:
                log.exception("Slack event de-duplication unavailable; handling %s", event_id)
                first = True
            if not first:
                log.info("Slack redelivered %s; already handled", event_id)
                return BoltResponse(status=200, body="")
        next()
        return None

    # -- questions ----------------------------------------------------------------------------

    def on_mention(self, event: dict[str, Any], client: WebClient, context: Any) -> None:
        self.reply(event, client, context, reply_ts=event.get("thread_ts") or event["ts"])

    def on_message(self, event: dict[str, Any], client: WebClient, context: Any) -> None:
        """Direct messages only; edits, deletions (subtypes) and bots' messages are ignored, and
        channel messages come in as ``app_mention`` when they are meant for the bot."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        self.reply(event, client, context, reply_ts=event.get("thread_ts"))

    def reply(
        self, event: dict[str, Any], client: WebClient, context: Any, reply_ts: str | None
    ) -> None:
        channel = event["channel"]
        text = question_from(event.get("text") or "", context.bot_user_id)
        if not text:
            t = slack_strings(self.language())
            example = escape((starter_questions(t.language) or ["…"])[0])
            self._post(client, channel, reply_ts, t("askHint", example=example))
            return
        t = slack_strings(self.question_language(text))
        if len(text) > MAX_QUESTION:
            notice = t("tooLong", length=len(text), limit=MAX_QUESTION)
            self._post(client, channel, reply_ts, notice)
            return
        placeholder = client.chat_postMessage(
            channel=channel, thread_ts=reply_ts, text=t("placeholder")
        )
        fallback, blocks = self._answer(
            event, client, context, text, {placeholder["ts"]}, t.language
        )
        client.chat_update(channel=channel, ts=placeholder["ts"], text=fallback, blocks=blocks)

    def _answer(
        self,
        event: dict[str, Any],
        client: WebClient,
        context: Any,
        text: str,
        skip: set[str],
        language: str,
    ) -> tuple[str, list[dict[str, Any]]]:
        """The answer's fallback text and blocks, or a notice (in the question's ``language``)
        saying why there is none."""
        t = slack_strings(language)
        service = self.service
        if service is None:
            return _notice(t("starting"))
        history: list[Turn] = []
        if event.get("thread_ts"):
            history = thread_history(
                client,
                event["channel"],
                event["thread_ts"],
                bot_user_id=context.bot_user_id,
                bot_id=context.bot_id,
                exclude=skip | {event["ts"]},
            )
        # The language the question seems to be in is the caller's, as a token's claim is on
        # the API: the service still detects its own, and an offered hand-off keeps this one.
        caller = caller_for(event.get("user"), event["channel"], self.settings.slack)
        caller = caller.model_copy(update={"language": language})
        try:
            answer = self._ask(service, Question(text=text, caller=caller, history=history))
        except QueueFull:
            return _notice(t("busy"))
        except AccessError:
            log.error(
                "Slack caller mapping names an unknown tier or region (channel %s)",
                event["channel"],
            )
            return _notice(t("misconfigured"))
        except Exception:
            log.exception("Slack answer failed (channel %s)", event["channel"])
            return _notice(t("failed"))
        words = slack_strings(self.language(answer.language))
        return answer_text(answer, words), answer_blocks(answer, words.language)

    def _ask(self, service: Any, question: Question) -> Answer:
        """Ask through the API's model queue (the local model answers one at a time); the
        service saves the answer, so its buttons can refer back to it."""
        queue = getattr(self.app.state, "answer_queue", None)
        with queue.reserve() if queue is not None else nullcontext():
            answer: Answer = service.answer(question)
        metrics = getattr(self.app.state, "metrics", None)
        if metrics is not None:
            metrics.record_answer(answer, channel="slack")
        return answer

    @staticmethod
    def _post(client: WebClient, channel: str, thread_ts: str | None, text: str) -> None:
        fallback, blocks = _notice(text)
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=fallback, blocks=blocks)

    # -- buttons ------------------------------------------------------------------------------

    def on_feedback(
        self,
        ack: Callable[[], Any],
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
    ) -> None:
        ack()
        rating = "up" if action.get("action_id") == FEEDBACK_UP else "down"
        answer_id, language = parse_button_value(action.get("value") or "")
        t = slack_strings(self.language(language, _locale(body)))
        service = self.service
        try:
            feedback = service.add_feedback(answer_id, rating, "")
            text = t("feedbackThanks")
        except LookupError:
            text = t("feedbackGone")
            feedback = None
        except Exception:
            log.exception("Slack feedback failed")
            text = t("feedbackFailed")
            feedback = None
        if (
            rating == "down"
            and feedback is not None
            and self._ask_for_comment(client, body, feedback.id, t.language)
        ):
            return  # the comment box is the confirmation
        _ephemeral(client, body, text)

    @staticmethod
    def _ask_for_comment(
        client: WebClient, body: dict[str, Any], feedback_id: str, language: str
    ) -> bool:
        """Open the comment box after 👎 (``views.open`` needs the click's ``trigger_id``,
        valid for three seconds); False when Slack would not open it."""
        trigger = body.get("trigger_id")
        if not trigger:
            return False
        try:
            client.views_open(trigger_id=trigger, view=feedback_modal(feedback_id, language))
            return True
        except SlackApiError as exc:
            log.warning("could not open the feedback comment box: %s", exc.response.get("error"))
            return False

    def on_feedback_comment(
        self, ack: Callable[[], Any], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The comment box was sent: its text is stored with the 👎 it follows."""
        ack()
        values = (view.get("state") or {}).get("values") or {}
        comment = ((values.get(COMMENT_BLOCK) or {}).get(COMMENT_INPUT) or {}).get("value") or ""
        if not comment.strip():
            return
        try:
            self.service.comment_feedback(
                view.get("private_metadata") or "", comment.strip()[:MAX_COMMENT]
            )
        except LookupError:
            log.warning("feedback comment for an unknown rating was dropped")

    def on_home_opened(self, event: dict[str, Any], client: WebClient) -> None:
        """Publish the App Home tab (what the bot is for, starter questions) when it opens, in
        the user's locale when the event has one, else the default language."""
        if event.get("tab") not in (None, "home") or not event.get("user"):
            return
        language = self.language(_text(event.get("locale")))
        view = home_view(starter_questions(language), language)
        try:
            client.views_publish(user_id=event["user"], view=view)
        except SlackApiError as exc:
            log.warning("could not publish the App Home tab: %s", exc.response.get("error"))

    def on_handoff(
        self,
        ack: Callable[[], Any],
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
    ) -> None:
        ack()
        answer_id, language = parse_button_value(action.get("value") or "")
        t = slack_strings(self.language(language, _locale(body)))
        channel = (body.get("channel") or {}).get("id")
        caller = caller_for((body.get("user") or {}).get("id"), channel, self.settings.slack)
        message = body.get("message") or {}
        try:
            handoff = self.service.request_handoff(
                answer_id=answer_id,
                caller=caller.model_copy(update={"language": t.language}),
                slack_channel=channel,
                slack_thread_ts=message.get("thread_ts") or message.get("ts"),
            )
            hours = f"{self.settings.handoff.response_hours:g}"
            text = t("handoffConfirmed", ref=escape(handoff.reference), hours=hours)
            _mark_handoff_requested(client, body, handoff.reference, t.language)
        except LookupError:
            text = t("handoffGone")
        except Exception:
            log.exception("Slack hand-off failed")
            text = t("handoffFailed")
        _ephemeral(client, body, text)


def post_manager_reply(settings: Settings, handoff: Handoff) -> bool:
    """Post a channel manager's reply into the Slack thread the hand-off came from (when it
    came from Slack and a bot token is set); True when it was posted. Its heading is in the
    hand-off's language (the one its confirmation was in), else the default."""
    token = settings.slack.bot_token
    if not (handoff.slack_channel and handoff.reply and token is not None):
        return False
    client = WebClient(token=token.get_secret_value(), base_url=settings.slack.api_url)
    t = slack_strings(pick_language(handoff.caller.language, settings.slack.default_language))
    text = f"*{t('managerReply')}* ({escape(handoff.reference)}):\n{escape(handoff.reply)}"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": t}} for t in split_text(text)]
    client.chat_postMessage(
        channel=handoff.slack_channel,
        thread_ts=handoff.slack_thread_ts,
        text=text[:3000],
        blocks=blocks[:50],
    )
    return True


def _notice(text: str) -> tuple[str, list[dict[str, Any]]]:
    return NOTICE + text, notice_blocks(NOTICE + text)


def _mark_handoff_requested(
    client: WebClient, body: dict[str, Any], reference: str, language: str
) -> None:
    """Replace the answer's buttons with a line that a person was asked, in ``language`` (best
    effort: the private confirmation has already said so)."""
    channel = (body.get("channel") or {}).get("id")
    message = body.get("message") or {}
    if not channel or not message.get("ts") or not message.get("blocks"):
        return
    try:
        client.chat_update(
            channel=channel,
            ts=message["ts"],
            text=message.get("text") or slack_strings(language)("handoffMarkedText"),
            blocks=handoff_requested_blocks(message["blocks"], reference, language),
        )
    except SlackApiError as exc:
        log.warning("could not mark the hand-off on the answer: %s", exc.response.get("error"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _locale(body: dict[str, Any]) -> str | None:
    """The clicking user's Slack locale (``de-DE``) when the payload carries one; Slack sends
    it only to some apps, and it is never looked up (that would be a ``users.info`` call)."""
    user = body.get("user")
    return _text(user.get("locale")) if isinstance(user, dict) else None


def _ephemeral(client: WebClient, body: dict[str, Any], text: str) -> None:
    """A confirmation only the person who pressed the button sees, in the answer's thread."""
    channel = (body.get("channel") or {}).get("id")
    user = (body.get("user") or {}).get("id")
    if not channel or not user:
        return
    thread_ts = (body.get("message") or {}).get("thread_ts")
    client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)


def _skip_timeout_retries(req: Any, resp: BoltResponse, next: Callable[[], None]) -> Any:
    """Slack resends an event it thinks timed out; the first delivery is already being
    answered (it was acknowledged at once), so a resend would answer twice."""
    if (req.headers.get("x-slack-retry-reason") or [""])[0] == "http_timeout":
        return BoltResponse(status=200, body="")
    next()
    return None


class _ThreadedRequestHandler(SlackRequestHandler):
    """Bolt's FastAPI adapter, with its blocking ``dispatch`` (signature check, the cached
    ``auth.test``, waiting for ``ack()``) run in a worker thread instead of the event loop.
    A timestamp header that is not a number is refused here with 401: Bolt's signature check
    would fail on it with an exception (a 500)."""

    async def handle(
        self, req: Request, addition_context_properties: dict[str, Any] | None = None
    ) -> Response:
        timestamp = req.headers.get("x-slack-request-timestamp")
        if timestamp is not None and not re.fullmatch(r"[0-9]{1,12}", timestamp):
            return Response(
                status_code=401,
                content="X-Slack-Request-Timestamp must be a Unix time in seconds",
            )
        body = await req.body()
        try:
            bolt_request = to_bolt_request(req, body, addition_context_properties)
        except ValueError:
            return Response(status_code=400, content="malformed Slack request")
        return to_starlette_response(await run_in_threadpool(self.app.dispatch, bolt_request))


def build_bolt_app(settings: Settings, bot: SlackBot, socket_mode: bool = False) -> App:
    """The Bolt app, its Web API client pointed at ``settings.slack.api_url``. The token is
    checked on the first request rather than at startup, so the API starts when Slack is down.
    Over HTTP Bolt verifies every request's signature; in Socket Mode requests arrive on our
    own authenticated connection, so there is no signature to check."""
    slack = settings.slack
    (check_socket_mode if socket_mode else check_http)(slack)
    assert slack.bot_token is not None  # checked above
    client = WebClient(token=slack.bot_token.get_secret_value(), base_url=slack.api_url)
    bolt = App(
        client=client,
        signing_secret=None if socket_mode else slack.signing_secret.get_secret_value(),  # type: ignore[union-attr]
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,
        # Acknowledge first, answer in Bolt's worker threads: Slack waits only three seconds.
        process_before_response=False,
        name="partner-assistant",
    )
    bot.register(bolt)
    return bolt


def mount_slack(app: FastAPI, settings: Settings, service: Any = None) -> App:
    """Add ``POST /slack/events`` to ``app``. Returns the Bolt app. Socket Mode is not opened
    here (each API worker would open its own connection): ``partner-assistant slack`` runs it."""
    shared = getattr(app.state, "shared", None) or SharedState.from_settings(settings.api)
    bolt = build_bolt_app(settings, SlackBot(app, settings, service, seen=shared))
    handler = _ThreadedRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    app.add_api_route("/slack/events", slack_events, methods=["POST"], include_in_schema=False)
    app.state.slack = bolt
    return bolt


def socket_mode_handler(settings: Settings, service: Any) -> Any:
    """The standalone bot: a Bolt app in Socket Mode around ``service``, not yet connected.
    Its state (records for the buttons) is the service's; there is no API queue or metrics."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    holder = SimpleNamespace(state=SimpleNamespace(records=getattr(service, "records", None)))
    seen = SharedState.from_settings(settings.api)
    bolt = build_bolt_app(settings, SlackBot(holder, settings, service, seen), socket_mode=True)
    app_token = settings.slack.app_token.get_secret_value()  # type: ignore[union-attr]
    return SocketModeHandler(bolt, app_token, web_client=bolt.client)


def run_socket_mode(settings: Settings, service: Any) -> None:
    """Connect to Slack over one Socket Mode connection and answer until interrupted."""
    handler = socket_mode_handler(settings, service)
    log.info("Slack bot connected in Socket Mode")
    handler.start()
