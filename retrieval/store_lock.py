"""One writer at a time per store.

Two ingests writing one Chroma store at once both reported success and left it broken for good
(``Failed to apply logs to the hnsw segment writer``). Every write to a store (``ingest``, the
admin ingest route, ``KnowledgeBase.ingest``, ``doctor --repair``) therefore holds the store's
lock, whose kind ``PA_INGEST_LOCK`` picks:

* ``file``: ``fcntl.flock`` on ``<store dir>/ingest.lock``. The kernel drops it when the
  process dies, so a killed ingest never leaves the store locked. It serialises writers on one
  host (the embedded store can only be written from one host anyway).
* ``postgres``: a session advisory lock on the server ``PA_INGEST_LOCK_URL`` names, keyed by
  the Chroma server and collection, for a Chroma server shared by several hosts. PostgreSQL
  drops it when the holding connection ends.
* ``auto`` (default): ``file`` for the embedded store, ``postgres`` for a Chroma server (and
  an error that says what to set when no URL is configured).

The second writer waits up to ``PA_INGEST_LOCK_TIMEOUT`` seconds, then fails with
:class:`StoreBusy` naming the holder (process id, host, since when). The lock is reentrant in a
process (``doctor --repair`` ingests while it holds it) and other threads of the same process
wait like other processes do.

Example::

    with store_lock(settings).hold(settings.ingest.lock_timeout):
        ...  # write to the store
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ingestion.settings import IngestSettings
from retrieval.chroma_store import StoreError
from retrieval.settings import StoreConfig

POLL_SECONDS = 0.2
# The first key of the two-int advisory lock: this application's namespace ("PA" + 1).
ADVISORY_NAMESPACE = 0x50410001


class LockConfig(StoreConfig, Protocol):
    @property
    def ingest(self) -> IngestSettings: ...


@dataclass(frozen=True)
class LockHolder:
    """Who holds a store lock: enough for an operator to find the process."""

    pid: int | None
    host: str
    started_at: str
    purpose: str = "ingest"

    @classmethod
    def this_process(cls, purpose: str) -> LockHolder:
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(os.getpid(), socket.gethostname(), started, purpose)

    def describe(self) -> str:
        pid = f"pid {self.pid}" if self.pid else "a process"
        return (
            f"{self.purpose} ({pid} on {self.host or 'an unknown host'}, since {self.started_at})"
        )


class StoreBusy(StoreError):
    """Another writer held the store for longer than the lock timeout."""

    def __init__(self, location: str, holder: LockHolder | None, waited: float) -> None:
        who = holder.describe() if holder else "another writer (no longer reporting who)"
        super().__init__(
            f"the store {location} is locked by {who}; waited {waited:g}s "
            "(PA_INGEST_LOCK_TIMEOUT). Try again when it has finished; `partner-assistant "
            "doctor` checks the store afterwards"
        )
        self.holder = holder


class LockBackend(Protocol):
    location: str

    def try_acquire(self, holder: LockHolder) -> bool: ...

    def release(self) -> None: ...

    def current_holder(self) -> LockHolder | None: ...


class FileLockBackend:
    """``flock`` on a file in the store folder; the file also says who holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path.parent.resolve())
        self._fd: int | None = None

    def try_acquire(self, holder: LockHolder) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder.__dict__).encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # nobody holds it: a reader must not name the last holder
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def current_holder(self) -> LockHolder | None:
        try:
            text = self.path.read_text(encoding="utf-8")
            return LockHolder(**json.loads(text)) if text.strip() else None
        except (OSError, ValueError, TypeError):
            return None


def _psycopg_url(url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg://`` as libpq's ``postgresql://``."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+')[0]}://{rest}"


class PostgresLockBackend:
    """A session advisory lock; its connection's ``application_name`` says who holds it."""

    def __init__(self, url: str, location: str) -> None:
        self.url = _psycopg_url(url)
        self.location = location
        self.key = zlib.crc32(location.encode()) & 0x7FFFFFFF
        self._conn: Any = None

    def _connect(self, name: str) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, application_name=name[:63])
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot reach the lock database (PA_INGEST_LOCK_URL): {exc}".strip()
            ) from None

    def try_acquire(self, holder: LockHolder) -> bool:
        if self._conn is None:
            # pid and time first: the server cuts application_name at 63 bytes, the host last.
            name = f"pa-{holder.purpose} {holder.pid} {holder.started_at} {holder.host}"
            self._conn = self._connect(name)
        row = self._conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (ADVISORY_NAMESPACE, self.key)
        ).fetchone()
        return bool(row and row[0])

    def release(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (ADVISORY_NAMESPACE, self.key))
        finally:
            conn.close()  # ending the session releases the lock in any case

    def abandon(self) -> None:
        """Give up waiting: close the connection that never got the lock."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def current_holder(self) -> LockHolder | None:
        conn = self._connect("pa-lock-probe")
        try:
            row = conn.execute(
                "SELECT a.application_name, a.client_addr::text, a.state_change "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s "
                "AND l.objid = %s AND l.objsubid = 2",
                (ADVISORY_NAMESPACE, self.key),
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        name, address, since = row
        parts = (name or "").split(" ", 3)
        if len(parts) == 4 and parts[0].startswith("pa-") and parts[1].isdigit():
            return LockHolder(int(parts[1]), parts[3], parts[2], parts[0][3:])
        stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ") if since else "unknown"
        return LockHolder(None, address or "", stamp, name or "a database session")


class StoreLock:
    """The lock of one store in this process: reentrant for the thread that holds it."""

    def __init__(self, backend: LockBackend) -> None:
        self.backend = backend
        self._local = threading.RLock()
        self._depth = 0
        self.holder: LockHolder | None = None

    @property
    def location(self) -> str:
        return self.backend.location

    def current_holder(self) -> LockHolder | None:
        """Who holds the lock now (this process included), None when it is free."""
        return self.holder or self.backend.current_holder()

    @contextmanager
    def hold(
        self,
        timeout: float,
        purpose: str = "ingest",
        on_wait: Callable[[LockHolder | None], None] | None = None,
    ) -> Iterator[LockHolder]:
        """Hold the lock for the block; wait up to ``timeout`` seconds for another writer,
        telling ``on_wait`` once who it is waiting for, then raise :class:`StoreBusy`."""
        deadline = time.monotonic() + timeout
        if not self._local.acquire(blocking=False):
            if on_wait:
                on_wait(self.holder)
            if not self._local.acquire(timeout=max(timeout, 0.0)):
                raise StoreBusy(self.location, self.holder, timeout)
        try:
            if self._depth == 0:
                self._acquire(deadline, timeout, purpose, on_wait)
            self._depth += 1
            try:
                assert self.holder is not None
                yield self.holder
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.holder = None
                    self.backend.release()
        finally:
            self._local.release()

    def _acquire(
        self,
        deadline: float,
        timeout: float,
        purpose: str,
        on_wait: Callable[[LockHolder | None], None] | None,
    ) -> None:
        holder = LockHolder.this_process(purpose)
        told = False
        while not self.backend.try_acquire(holder):
            if time.monotonic() >= deadline:
                if isinstance(self.backend, PostgresLockBackend):
                    self.backend.abandon()
                raise StoreBusy(self.location, self.backend.current_holder(), timeout)
            if on_wait and not told:
                on_wait(self.backend.current_holder())
                told = True
            time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))
        self.holder = holder


_LOCKS: dict[tuple[str, str], StoreLock] = {}
_LOCKS_GUARD = threading.Lock()


def _backend(settings: LockConfig) -> LockBackend:
    ingest = settings.ingest
    server = settings.chroma.host
    kind = ingest.lock if ingest.lock != "auto" else ("postgres" if server else "file")
    if kind == "file":
        return FileLockBackend(settings.store.dir / "ingest.lock")
    if ingest.lock_url is None:
        raise StoreError(
            "a Chroma server (PA_CHROMA_HOST) is written from several hosts, so its lock lives "
            "in PostgreSQL: set PA_INGEST_LOCK_URL=postgresql://user@host/db (or "
            "PA_INGEST_LOCK=file when every ingest runs on this host)"
        )
    if server:
        location = f"chroma://{server}:{settings.chroma.port}/{settings.store.collection}"
    else:
        location = f"file://{(settings.store.dir / 'chroma').resolve()}"
    return PostgresLockBackend(ingest.lock_url.get_secret_value(), location)


def store_lock(settings: LockConfig) -> StoreLock:
    """The process's lock for the store ``settings`` name (one object per store, so holding
    it twice in one thread nests instead of waiting for itself)."""
    backend = _backend(settings)
    key = (type(backend).__name__, backend.location)
    with _LOCKS_GUARD:
        if key not in _LOCKS:
            _LOCKS[key] = StoreLock(backend)
        return _LOCKS[key]


@contextmanager
def writing(
    settings: LockConfig,
    purpose: str = "ingest",
    on_wait: Callable[[LockHolder | None], None] | None = None,
) -> Iterator[LockHolder]:
    """Hold the store's lock for a write, waiting up to ``PA_INGEST_LOCK_TIMEOUT``."""
    with store_lock(settings).hold(settings.ingest.lock_timeout, purpose, on_wait) as holder:
        yield holder
