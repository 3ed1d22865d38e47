"""One writer per store: the lock between real processes (a lock file, a PostgreSQL advisory
lock), what the second writer is told, and the lock inside one process."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from pydantic import SecretStr, ValidationError

from assistant.settings import ChromaSettings, IngestSettings
from retrieval.chroma_store import StoreError
from retrieval.store_lock import StoreBusy, store_lock
from tests.helpers import REPO, make_settings
from tests.retrieval.store_helpers import (
    HOLD_LOCK,
    lock_held_by_another_process,
    postgres_database,
    process_env,
)


def _with_ingest(settings, **changes):
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update=changes)})


@pytest.fixture
def env(settings):
    return process_env(PA_STORE_DIR=str(settings.store.dir))


def test_a_second_writer_fails_after_the_timeout_naming_the_holder(settings, env):
    with lock_held_by_another_process(env) as pid:
        started = time.monotonic()
        with pytest.raises(StoreBusy) as busy, store_lock(settings).hold(timeout=0.5):
            pytest.fail("the lock was granted while another process held it")
        waited = time.monotonic() - started

    message = str(busy.value)
    assert f"pid {pid} on {socket.gethostname()}" in message
    assert "since 20" in message and "PA_INGEST_LOCK_TIMEOUT" in message
    assert waited >= 0.5


def test_a_second_writer_waits_for_the_first_to_finish(settings, env):
    told = []
    with lock_held_by_another_process(env) as pid:
        holder_done = threading.Event()

        def wait_then_hold():
            with store_lock(settings).hold(timeout=60, on_wait=told.append):
                holder_done.set()

        waiter = threading.Thread(target=wait_then_hold)
        waiter.start()
        time.sleep(1.0)  # the waiter is blocked while the other process holds the lock
        assert not holder_done.is_set()
    waiter.join(timeout=60)

    assert holder_done.is_set()
    assert [h.pid for h in told] == [pid]


def test_a_killed_holder_leaves_the_store_unlocked(settings, env):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, "ingest"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)

    with store_lock(settings).hold(timeout=0) as held:
        assert held.pid == os.getpid()
    assert store_lock(settings).current_holder() is None


def test_the_lock_nests_in_its_thread_and_other_threads_wait(settings):
    lock = store_lock(settings)
    errors = []

    def other_thread():
        try:
            with lock.hold(timeout=0.3):
                pass
        except StoreBusy as exc:
            errors.append(str(exc))

    with lock.hold(timeout=0), lock.hold(timeout=0, purpose="repair"):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()

    assert len(errors) == 1 and f"pid {os.getpid()}" in errors[0]
    with lock.hold(timeout=0):  # released once the outer block ended
        pass


def test_postgres_lock_keeps_two_processes_apart_and_names_the_holder(tmp_path):
    with postgres_database() as url:
        settings = _with_ingest(make_settings(tmp_path), lock="postgres", lock_url=SecretStr(url))
        env = process_env(
            PA_STORE_DIR=str(settings.store.dir), PA_INGEST_LOCK="postgres", PA_INGEST_LOCK_URL=url
        )
        with lock_held_by_another_process(env, purpose="repair") as pid:
            with pytest.raises(StoreBusy) as busy, store_lock(settings).hold(timeout=0.5):
                pytest.fail("granted while another process held the advisory lock")
            assert store_lock(settings).current_holder().pid == pid
        with store_lock(settings).hold(timeout=5):
            other = process_env(**env, PA_INGEST_LOCK_TIMEOUT="0.3")
            refused = subprocess.run(
                [sys.executable, "-c", HOLD_LOCK, "ingest"],
                cwd=REPO,
                env=other,
                input="",
                capture_output=True,
                text=True,
                timeout=60,
            )

    assert f"repair (pid {pid} on " in str(busy.value)
    assert refused.returncode != 0 and f"pid {os.getpid()}" in refused.stderr


def test_a_chroma_server_without_a_lock_url_is_refused_with_what_to_set(settings):
    server = settings.model_copy(update={"chroma": ChromaSettings(host="127.0.0.1", port=1)})

    with pytest.raises(StoreError, match="PA_INGEST_LOCK_URL=postgresql://"):
        store_lock(server)
    assert store_lock(_with_ingest(server, lock="file")).location == str(
        settings.store.dir.resolve()
    )


def test_a_shared_server_locks_in_the_record_database_by_default(tmp_path):
    from assistant.settings import DbSettings, Settings, StoreSettings

    with postgres_database() as url:
        settings = Settings(
            store=StoreSettings(dir=tmp_path / "store"),
            chroma=ChromaSettings(host="127.0.0.1", port=1),
            db=DbSettings(url=url.replace("postgresql://", "postgresql+psycopg://")),
        )
        lock = store_lock(settings)
        with lock.hold(timeout=5) as held:
            holder = lock.backend.current_holder()

    assert type(lock.backend).__name__ == "PostgresLockBackend"
    assert holder == held and holder.pid == os.getpid()


@pytest.mark.parametrize(
    "values, message",
    [
        ({"lock": "postgres"}, "needs PA_INGEST_LOCK_URL"),
        ({"lock_url": "mysql://db/x"}, "postgresql://"),
        ({"lock_timeout": -1}, "greater than or equal to 0"),
    ],
)
def test_bad_lock_settings_refuse_to_start(values, message):
    with pytest.raises(ValidationError, match=message):
        IngestSettings(**values)
