"""What keeps one caller, or a crowd, from knocking the service over.

- `RateLimiter`: per-caller request budget (``settings.api.rate_limit``, e.g. "30/minute"),
  counted with the ``limits`` library under the verified caller's key, never the IP (partners
  behind one proxy would share a budget).
- `AuthThrottle`: failed authentications (``settings.api.auth_failure_limit``) counted by
  client address and by credential prefix, so guessing API keys or forging tokens meets 429
  after a few tries, from one address or from many.

Both count in a `limits` storage from :class:`api.shared_state.SharedState`: this process's
memory, or Redis shared by every worker.
- `AnswerQueue`: the model answers a few questions at a time; up to ``settings.answer.queue_size``
  more may wait. Beyond that the API answers 503 with Retry-After at once instead of piling up
  threads until the process falls over.
- `BodySizeLimit`: ASGI middleware that refuses bodies over ``settings.api.max_body_bytes`` with
  413, whether or not the client sent a Content-Length.
"""

from __future__ import annotations

import json
import math
import threading
import time
from types import TracebackType

from fastapi import HTTPException
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after}s")
        self.retry_after = retry_after


class RateLimiter:
    """``rate`` requests per window for each key (a moving window: no burst at its edge)."""

    def __init__(
        self, rate: str, storage: Storage | None = None, setting: str = "api.rate_limit"
    ) -> None:
        try:
            self._item: RateLimitItem = parse(rate)
        except ValueError as exc:
            raise ValueError(f"{setting} {rate!r} is not like '30/minute'") from exc
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    def hit(self, key: str) -> None:
        """Count one request for ``key``; raise `RateLimited` when its budget is spent."""
        if not self._limiter.hit(self._item, "rate", key):
            raise RateLimited(self._retry_after("rate", key))

    def _retry_after(self, *key: str) -> int:
        reset = self._limiter.get_window_stats(self._item, *key).reset_time
        return max(1, math.ceil(reset - time.time()))


class AuthThrottle(RateLimiter):
    """Failed authentications per key (``ip:…``, ``key:…``): `check` before verifying
    credentials refuses a key whose budget is spent; `failed` counts a failure under each key.
    A success costs nothing.

    Example::

        throttle.check(keys)            # RateLimited: 429 without looking at the credentials
        try:
            identity = verify(...)
        except AuthError:
            throttle.failed(keys)
            raise
    """

    def __init__(self, rate: str, storage: Storage | None = None) -> None:
        super().__init__(rate, storage, setting="api.auth_failure_limit")

    def check(self, keys: list[str]) -> None:
        for key in keys:
            if not self._limiter.test(self._item, "auth-failures", key):
                raise RateLimited(self._retry_after("auth-failures", key))

    def failed(self, keys: list[str]) -> None:
        for key in keys:
            self._limiter.hit(self._item, "auth-failures", key)


class QueueFull(Exception):
    retry_after = 5


class Ticket:
    """A place in the queue; entering waits for a model slot, leaving frees both."""

    def __init__(self, queue: AnswerQueue) -> None:
        self._queue = queue
        self._done = False

    def __enter__(self) -> Ticket:
        self._queue._slots.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._queue._slots.release()
        self.release()

    def release(self) -> None:
        """Give the place back without having used it (idempotent)."""
        if not self._done:
            self._done = True
            self._queue._leave()


class AnswerQueue:
    """``concurrency`` model calls at once, ``queue_size`` more waiting, the rest refused.

    Example::

        with queue.reserve():     # raises QueueFull at once when the queue is full
            service.answer(question)
    """

    def __init__(self, concurrency: int, queue_size: int) -> None:
        if concurrency < 1 or queue_size < 0:
            raise ValueError("concurrency must be >= 1 and queue_size >= 0")
        self.capacity = concurrency + queue_size
        self._slots = threading.Semaphore(concurrency)
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    def reserve(self) -> Ticket:
        with self._lock:
            if self._pending >= self.capacity:
                raise QueueFull("too many questions are waiting for the model")
            self._pending += 1
        return Ticket(self)

    def _leave(self) -> None:
        with self._lock:
            self._pending -= 1


class _BodyTooLarge(HTTPException):
    """Raised from ``receive`` while the route reads the body; FastAPI lets HTTPExceptions
    through its body parsing, so the app's handler answers 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body is larger than {max_bytes} bytes")


class BodySizeLimit:
    """Pure ASGI middleware (it must see the raw body stream, before FastAPI parses it)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(send)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": "payload_too_large",
                "message": f"request body is larger than {self.max_bytes} bytes",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
