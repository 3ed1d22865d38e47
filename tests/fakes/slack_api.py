"""A fake Slack Web API on loopback, for tests of the Slack bot.

Slack's servers are a boundary our tests cannot reach, so this fake stands in for them while
speaking the real wire protocol over real HTTP: the production ``slack_sdk.WebClient`` (and the
Bolt app built on it) talks to it unchanged once ``base_url`` points here. It implements

- ``auth.test``: who the bot is (``user_id`` ``UBOT``, ``bot_id`` ``BBOT``, team ``T1``);
- ``chat.postMessage`` / ``chat.update``: stored as messages, so they come back from
- ``conversations.replies``: the thread's messages, root first (Slack's order);
- ``chat.postEphemeral``: recorded (ephemeral messages never appear in a thread);
- ``views.open`` (a modal; needs a ``trigger_id``) and ``views.publish`` (a user's App Home):
  checked against Slack's view rules and kept in ``views``.

Like Slack, every reply is ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}`` with HTTP
200; a wrong bearer token gets ``invalid_auth``, and messages whose blocks break Slack's limits
get ``invalid_blocks`` (so a bot that sends oversized Block Kit fails here as it would there).

Example::

    with FakeSlackApi() as slack:
        client = WebClient(token=slack.token, base_url=slack.base_url)
        slack.add_message("C1", "hello", user="U1", ts="100.000001")
        ...
        posted = slack.wait_for("chat.update")      # bounded wait: Bolt answers in a thread
        assert posted[-1].args["channel"] == "C1"

``calls`` records every request (method name, parsed arguments, lowercased headers) with the
reply it got.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"
TOKEN = "xoxb-test-token"

# Slack's documented Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_TEXT = 75
MAX_ID = 255


@dataclass
class SlackCall:
    """One Web API request as the fake saw it."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeSlackApi:
    """A Slack Web API in a background thread on ``127.0.0.1:<free port>``."""

    token: str = TOKEN
    calls: list[SlackCall] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url`` to a ``WebClient`` (ends in ``/api/``, like Slack's)."""
        if self._server is None:
            raise RuntimeError("the fake Slack API is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def start(self) -> FakeSlackApi:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeSlackApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- for tests ----------------------------------------------------------------------------

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str = "U1",
        ts: str | None = None,
        thread_ts: str | None = None,
        bot: bool = False,
    ) -> dict[str, Any]:
        """Put a message in a channel (what a person, or the bot earlier, said)."""
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts or self._next_ts(),
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        if bot:
            message["bot_id"] = BOT_ID
        with self._changed:
            self.messages.append(message)
        return message

    def calls_to(self, method: str) -> list[SlackCall]:
        with self._changed:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 20.0) -> list[SlackCall]:
        """The calls to ``method`` once there are at least ``count`` of them. Bolt answers
        events in a worker thread after acknowledging them, so tests wait for its calls here
        (bounded: a missing call fails the test with the calls that did arrive)."""
        with self._changed:
            done = self._changed.wait_for(
                lambda: sum(c.method == method for c in self.calls) >= count, timeout
            )
            if not done:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"expected {count} {method} call(s); got {seen}")
            return [c for c in self.calls if c.method == method]

    # -- the API ------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _call(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> dict:
        with self._changed:
            call = SlackCall(method, args, headers)
            if headers.get("authorization") != f"Bearer {self.token}":
                call.response = {"ok": False, "error": "invalid_auth"}
            elif method not in _METHODS:
                call.response = {"ok": False, "error": "unknown_method"}
            else:
                call.response = _METHODS[method](self, args)
            self.calls.append(call)
            self._changed.notify_all()
            return call.response

    def _auth_test(self, args: dict[str, Any]) -> dict:
        return {
            "ok": True,
            "url": "https://fake.slack.test/",
            "team": "Fake",
            "user": "assistant",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: dict[str, Any]) -> dict:
        error = _check_message(args)
        if error:
            return {"ok": False, "error": error}
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": args.get("text", ""),
            "ts": self._next_ts(),
            "channel": args["channel"],
        }
        if args.get("blocks"):
            message["blocks"] = _blocks(args)
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self.messages.append(message)
        return {"ok": True, "channel": args["channel"], "ts": message["ts"], "message": message}

    def _update(self, args: dict[str, Any]) -> dict:
        error = _check_message(args) or (None if args.get("ts") else "invalid_arguments")
        if error:
            return {"ok": False, "error": error}
        for message in self.messages:
            if message["channel"] == args["channel"] and message["ts"] == args["ts"]:
                message["text"] = args.get("text", "")
                message["blocks"] = _blocks(args)
                return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": ""}
        return {"ok": False, "error": "message_not_found"}

    def _replies(self, args: dict[str, Any]) -> dict:
        channel, ts = args.get("channel"), args.get("ts")
        if not channel or not ts:
            return {"ok": False, "error": "invalid_arguments"}
        thread = [
            m
            for m in self.messages
            if m["channel"] == channel and (m["ts"] == ts or m.get("thread_ts") == ts)
        ]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        thread.sort(key=lambda m: m["ts"])
        limit = int(args.get("limit") or 1000)
        return {"ok": True, "messages": thread[:limit], "has_more": len(thread) > limit}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict:
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        error = _check_message(args)
        if error:
            return {"ok": False, "error": error}
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_open(self, args: dict[str, Any]) -> dict:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return self._view(args, "modal")

    def _views_publish(self, args: dict[str, Any]) -> dict:
        if not args.get("user_id"):
            return {"ok": False, "error": "user_not_found"}
        return self._view(args, "home")

    def _view(self, args: dict[str, Any], kind: str) -> dict:
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        error = _check_view(view, kind)
        if error:
            return {"ok": False, "error": error}
        stored = {**view, "id": f"V{len(self.views) + 1}"}
        self.views.append(stored)
        return {"ok": True, "view": stored}


_METHODS = {
    "auth.test": FakeSlackApi._auth_test,
    "chat.postMessage": FakeSlackApi._post_message,
    "chat.update": FakeSlackApi._update,
    "conversations.replies": FakeSlackApi._replies,
    "chat.postEphemeral": FakeSlackApi._post_ephemeral,
    "views.open": FakeSlackApi._views_open,
    "views.publish": FakeSlackApi._views_publish,
}

MAX_VIEW_TITLE = 24
MAX_VIEW_BLOCKS = 100


def _check_view(view: Any, kind: str) -> str | None:
    """Slack's answer to a view it would refuse (wrong type, a modal without its title or with a
    title, submit or close text over 24 characters, too many blocks), or None."""
    if not isinstance(view, dict) or view.get("type") != kind:
        return "invalid_arguments"
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
        return "invalid_arguments"
    if kind == "modal":
        title = (view.get("title") or {}).get("text", "")
        if not title or len(title) > MAX_VIEW_TITLE:
            return "invalid_arguments"
        if any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
            return "invalid_arguments"
        for button in ("submit", "close"):
            if len((view.get(button) or {}).get("text", "")) > MAX_VIEW_TITLE:
                return "invalid_arguments"
    return None if _blocks_fit(blocks) else "invalid_blocks"


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def _check_message(args: dict[str, Any]) -> str | None:
    """Slack's answer to a message it would refuse, or None."""
    if not args.get("channel"):
        return "channel_not_found"
    if not args.get("text") and not args.get("blocks"):
        return "no_text"
    try:
        blocks = _blocks(args)
    except json.JSONDecodeError:
        return "invalid_blocks_format"
    return None if _blocks_fit(blocks) else "invalid_blocks"


def _blocks_fit(blocks: list[dict[str, Any]]) -> bool:
    if len(blocks) > MAX_BLOCKS:
        return False
    for block in blocks:
        if len(block.get("block_id", "")) > MAX_ID:
            return False
        kind = block.get("type")
        if kind == "section" and len(block.get("text", {}).get("text", "")) > MAX_SECTION_TEXT:
            return False
        if kind == "context":
            elements = block.get("elements", [])
            if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
                return False
            if any(len(e.get("text", "")) > MAX_SECTION_TEXT for e in elements):
                return False
        if kind == "actions":
            elements = block.get("elements", [])
            if not elements or len(elements) > MAX_ACTION_ELEMENTS:
                return False
            for button in elements:
                if len(button.get("value", "")) > MAX_BUTTON_VALUE:
                    return False
                if len(button.get("text", {}).get("text", "")) > MAX_BUTTON_TEXT:
                    return False
                if len(button.get("action_id", "")) > MAX_ID:
                    return False
    return True


def _handler_for(fake: FakeSlackApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self._serve(self.rfile.read(length))

        def _serve(self, raw: bytes) -> None:
            url = urlsplit(self.path)
            if not url.path.startswith("/api/"):
                self._send(404, {"ok": False, "error": "not_found"})
                return
            args: dict[str, Any] = dict(parse_qsl(url.query))
            content_type = self.headers.get("content-type", "")
            if raw and content_type.startswith("application/json"):
                args.update(json.loads(raw))
            elif raw:
                args.update(parse_qsl(raw.decode()))
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(200, fake._call(url.path[len("/api/") :], args, headers))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
