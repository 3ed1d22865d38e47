"""Helpers for tests of the store's lock, checks and repair: real processes that hold the
lock, a fresh PostgreSQL database, and a way to break Chroma's vector index on disk."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import REPO

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

# Holds the store's lock (the settings come from PA_* variables) until its stdin closes.
HOLD_LOCK = """
import sys
from assistant.settings import Settings
from retrieval.store_lock import writing

with writing(Settings(), sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def process_env(**settings: str) -> dict[str, str]:
    """The environment of a child process: offline models and the given PA_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.update(settings)
    return env


@contextmanager
def lock_held_by_another_process(env: dict[str, str], purpose: str = "ingest") -> Iterator[int]:
    """A real process holding the store lock for the block; yields its pid."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, purpose],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = holder.stdout.readline() if holder.stdout else ""
        if line.strip() != "held":
            holder.kill()
            _, err = holder.communicate(timeout=30)
            pytest.fail(f"the lock holder did not start: {err[-2000:]}")
        yield holder.pid
    finally:
        if holder.stdin:
            holder.stdin.close()
        holder.wait(timeout=60)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the local server for one test (dropped afterwards)."""
    psycopg = pytest.importorskip("psycopg")
    name = f"pa_lock_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def break_vector_index(store_dir: Path, collection: str = "partner_kb") -> None:
    """Damage the chunk collection's HNSW segment on disk the way an interrupted or concurrent
    writer does: Chroma then fails every count, read and query of it."""
    chroma = store_dir / "chroma"
    db = sqlite3.connect(chroma / "chroma.sqlite3")
    try:
        (segment,) = db.execute(
            "SELECT s.id FROM segments s JOIN collections c ON c.id = s.collection "
            "WHERE c.name = ? AND s.scope = 'VECTOR'",
            (collection,),
        ).fetchone()
    finally:
        db.close()
    (chroma / segment).mkdir(exist_ok=True)
    (chroma / segment / "index_metadata.pickle").write_bytes(b"")
