"""State that every API worker must agree on: request budgets and "seen once" marks.

Rate limits, the failed-authentication throttle (:mod:`api.throttling`) and Slack's event ids
(:mod:`api.slack`) hold only if all workers count in one place. By default that place is this
process (fine for one worker, the embedded default); with ``settings.api.shared_state_url`` set
(``PA_API_SHARED_STATE_URL=redis://127.0.0.1:6379/0``) it is Redis, and every key starts with
``settings.api.shared_state_prefix``.

Example::

    state = SharedState.from_settings(settings.api)
    limiter = RateLimiter("30/minute", state.storage)      # a `limits` storage
    if state.first_time(f"slack-event:{event_id}", ttl_seconds=3600):
        ...                                                # only one worker gets here
"""

from __future__ import annotations

import threading
import time
from typing import Any

from limits.storage import MemoryStorage, RedisStorage, Storage

# Entries kept in memory before the oldest are dropped (a redelivery comes within the hour).
MAX_REMEMBERED = 100_000


class SharedState:
    """A `limits` storage for budgets and an atomic "first time?" for marks; in memory or in
    Redis. Redis errors propagate (`limits.errors.StorageError`, `redis.RedisError`): callers
    decide whether to fail closed (budgets) or open (de-duplication)."""

    def __init__(self, url: str | None = None, prefix: str = "pa") -> None:
        self.url = url
        self.prefix = prefix
        self._redis: Any = None
        if url is None:
            self.storage: Storage = MemoryStorage()
            self._seen: dict[str, float] = {}
            self._lock = threading.Lock()
        else:
            import redis

            self.storage = RedisStorage(url, key_prefix=f"{prefix}:limits", wrap_exceptions=True)
            self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    @classmethod
    def from_settings(cls, api: Any) -> SharedState:
        return cls(api.shared_state_url, api.shared_state_prefix)

    @property
    def shared(self) -> bool:
        """Whether other processes see this state (Redis)."""
        return self._redis is not None

    def first_time(self, key: str, ttl_seconds: float) -> bool:
        """Mark ``key`` as seen for ``ttl_seconds``; True only for the first caller, in any
        worker, within that time."""
        if self._redis is not None:
            return bool(
                self._redis.set(
                    f"{self.prefix}:once:{key}", b"1", nx=True, px=max(1, int(ttl_seconds * 1000))
                )
            )
        now = time.monotonic()
        with self._lock:
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            if len(self._seen) >= MAX_REMEMBERED:
                self._forget(now)
            self._seen[key] = now + ttl_seconds
            return True

    def _forget(self, now: float) -> None:
        """Drop expired marks, and the oldest ones if that is not enough."""
        for key in [k for k, expires in self._seen.items() if expires <= now]:
            del self._seen[key]
        if len(self._seen) >= MAX_REMEMBERED:
            for key in list(self._seen)[: len(self._seen) - MAX_REMEMBERED // 2]:
                del self._seen[key]

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
