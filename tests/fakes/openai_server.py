"""A fake OpenAI-compatible server on loopback, for tests of anything that calls a remote LLM.

The remote model is the one boundary our tests cannot reach, so this fake stands in for it while
speaking the real wire protocol over real HTTP: the production ``openai`` client (and anything
built on it: langchain-openai, the ragas judge) talks to it unchanged. It implements

- ``POST /v1/chat/completions``: a ``chat.completion`` JSON body, or with ``"stream": true`` an
  SSE stream of ``chat.completion.chunk`` events (``data: {...}\\n\\n`` ... ``data: [DONE]\\n\\n``),
  one chunk per word of the reply, plus a usage chunk when ``stream_options.include_usage``;
- ``GET /v1/models``: the one model, for health checks.

Use the ``fake_openai`` fixture (import it into a test module or a conftest) or the class::

    from tests.fakes.openai_server import FakeOpenAIServer, fake_openai  # noqa: F401

    def test_answer(fake_openai):
        fake_openai.reply = lambda request: "Paris [1]"         # or a plain string
        settings = LLMSettings(provider="openai", base_url=fake_openai.base_url)
        ...
        assert fake_openai.requests[-1].json["model"] == "gpt-4o-mini"
        assert fake_openai.requests[-1].headers["authorization"] == "Bearer sk-test"

    def test_retry(fake_openai):
        fake_openai.fail(500, times=1)      # the next request gets HTTP 500, then replies resume
        fake_openai.fail(429, times=2)      # rate limited (with a short retry-after-ms header)

Like the real API it honours ``max_tokens`` (``max_completion_tokens``) and ``stop`` on the
server side (the fake counts a word as one token), and it stops streaming when the client hangs
up; ``chunk_delay`` (seconds) spaces the stream's chunks out so that a test can see it stop.

``requests`` records every request (path, lowercased headers, parsed JSON body), failures
included, and for chat requests the words it sent (``completion_tokens``) and a ``done`` event
set when the response is over. ``reply`` is a string or a function of the request body (a dict) returning a string;
raising inside it answers HTTP 500 with the exception's text. ``delay`` (seconds) holds each
response back, to test client timeouts. ``api_key``, when set, makes the server answer 401 to
requests without ``Authorization: Bearer <api_key>``. It never leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

ReplyFunction = Callable[[dict[str, Any]], str]
DEFAULT_REPLY = "Hello from the fake model."
DEFAULT_MODEL = "gpt-4o-mini"


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    status: int = 200
    completion_tokens: int = 0
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Failure:
    status: int
    times: int
    message: str
    retry_after_ms: int | None


@dataclass
class FakeOpenAIServer:
    """An OpenAI-compatible HTTP server in a background thread on ``127.0.0.1:<free port>``."""

    reply: str | ReplyFunction = DEFAULT_REPLY
    api_key: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url`` to an OpenAI client (ends in ``/v1``)."""
        if self._server is None:
            raise RuntimeError("the fake OpenAI server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded ``POST /v1/chat/completions`` requests."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def fail(
        self,
        status: int = 500,
        *,
        times: int = 1,
        message: str = "the fake server was told to fail",
        retry_after_ms: int | None = 10,
    ) -> None:
        """Answer the next ``times`` chat requests with HTTP ``status`` and an OpenAI error body.

        ``retry_after_ms`` is sent as the ``retry-after-ms`` header (which the openai client
        obeys), so retry tests wait milliseconds instead of the client's default backoff.
        """
        with self._lock:
            self._failures.append(_Failure(status, times, message, retry_after_ms))

    def start(self) -> FakeOpenAIServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() may wait for the loop to notice
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- used by the handler ------------------------------------------------------------------

    def _next_failure(self) -> _Failure | None:
        with self._lock:
            while self._failures and self._failures[0].times <= 0:
                self._failures.pop(0)
            if not self._failures:
                return None
            self._failures[0].times -= 1
            return self._failures[0]

    def _reply_for(self, body: dict[str, Any]) -> str:
        return self.reply(body) if callable(self.reply) else self.reply

    def _wait(self) -> None:
        if self.delay:
            self._stopping.wait(self.delay)


def _handler_for(fake: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            record = self._record(None)
            if not self._authorized(record):
                return
            if self.path.rstrip("/") == "/v1/models":
                models = {"object": "list", "data": [_model_entry(DEFAULT_MODEL)]}
                self._send_json(200, models)
            else:
                record.status = 404
                self._send_error(404, f"no route GET {self.path}", "not_found_error")

        def do_POST(self) -> None:
            self.fake_record = None
            try:
                self._post()
            finally:
                if self.fake_record is not None:
                    self.fake_record.done.set()

        fake_record: RecordedRequest | None = None

        def _post(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                body = None
            record = self._record(body if isinstance(body, dict) else None)
            self.fake_record = record
            if not self._authorized(record):
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                record.status = 404
                self._send_error(404, f"no route POST {self.path}", "not_found_error")
                return
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                record.status = 400
                self._send_error(400, "the body must be JSON with a 'messages' list")
                return
            failure = fake._next_failure()
            fake._wait()
            if failure is not None:
                record.status = failure.status
                headers = {}
                if failure.retry_after_ms is not None:
                    headers["retry-after-ms"] = str(failure.retry_after_ms)
                kind = "rate_limit_error" if failure.status == 429 else "server_error"
                self._send_error(failure.status, failure.message, kind, headers)
                return
            try:
                text = fake._reply_for(body)
            except Exception as exc:  # the test's reply function failed: tell the client
                record.status = 500
                self._send_error(500, f"reply function failed: {exc}", "server_error")
                return
            text, finish_reason = _limit(body, text)
            try:
                if body.get("stream"):
                    self._send_stream(body, text, finish_reason, record)
                else:
                    record.completion_tokens = len(_words(text)) if text else 0
                    self._send_json(200, _completion(body, text, finish_reason))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test, a closed stream)

        def _record(self, body: dict[str, Any] | None) -> RecordedRequest:
            record = RecordedRequest(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                json=body,
            )
            with fake._lock:
                fake.requests.append(record)
            return record

        def _authorized(self, record: RecordedRequest) -> bool:
            if fake.api_key is None or record.headers.get("authorization") == (
                f"Bearer {fake.api_key}"
            ):
                return True
            record.status = 401
            self._send_error(401, "Incorrect API key provided", "invalid_request_error")
            return False

        def _send_json(self, status: int, payload: dict, headers: dict | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_error(
            self,
            status: int,
            message: str,
            kind: str = "invalid_request_error",
            headers: dict | None = None,
        ) -> None:
            error = {"error": {"message": message, "type": kind, "param": None, "code": None}}
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send_json(status, error, headers)

        def _send_stream(
            self, body: dict[str, Any], text: str, finish_reason: str, record: RecordedRequest
        ) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            for chunk in _chunks(body, text, finish_reason):
                if fake.chunk_delay:
                    fake._stopping.wait(fake.chunk_delay)
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                    record.completion_tokens += 1
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def _model_entry(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 0, "owned_by": "fake"}


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    """Whitespace word counts: the fake has no tokenizer, and tests need only plausible numbers."""
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = len(text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _limit(body: dict[str, Any], text: str) -> tuple[str, str]:
    """``text`` as the real API would send it: cut before the first stop string (``stop``, a
    string or up to four), else after ``max_tokens`` tokens (here: words); and why it ended."""
    stop = body.get("stop") or []
    for s in [stop] if isinstance(stop, str) else stop:
        if s and s in text:
            text = text[: text.index(s)]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    words = _words(text) if text else []
    if isinstance(limit, int) and len(words) > limit:
        return "".join(words[:limit]), "length"
    return text, "stop"


def _completion(body: dict[str, Any], text: str, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", DEFAULT_MODEL),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": _usage(body, text),
    }


def _words(text: str) -> list[str]:
    """One piece per word with its leading space; the pieces join back to ``text`` exactly."""
    return [w if i == 0 else " " + w for i, w in enumerate(text.split(" "))]


def _chunks(
    body: dict[str, Any], text: str, finish_reason: str = "stop"
) -> Iterator[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", DEFAULT_MODEL),
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**base, "choices": [choice]}

    yield chunk({"role": "assistant", "content": ""})
    for word in _words(text):
        yield chunk({"content": word})
    yield chunk({}, finish_reason)
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": _usage(body, text)}


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A started :class:`FakeOpenAIServer`, stopped after the test."""
    with FakeOpenAIServer() as server:
        yield server
