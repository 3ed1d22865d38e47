"""Server mode: a real `chroma run` on loopback, reached through chromadb.HttpClient."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from assistant.models import CallerContext
from assistant.settings import ChromaSettings, StoreSettings
from retrieval.chroma_store import StoreError
from retrieval.store_lock import StoreBusy
from tests.helpers import make_settings, write
from tests.retrieval.chunk_store_contract import ChunkStoreContract
from tests.retrieval.store_helpers import (
    lock_held_by_another_process,
    postgres_database,
    process_env,
)

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path_factory.mktemp("chroma-server")),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("chroma run did not start")
    yield port
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def lock_database():
    with postgres_database() as url:
        yield url


def server_settings(folder, port, lock_url=None, **ingest):
    """Settings of a worker of the shared server: the store lock lives in PostgreSQL."""
    settings = make_settings(folder).model_copy(
        update={"chroma": ChromaSettings(host="127.0.0.1", port=port)}
    )
    if lock_url:
        ingest["lock_url"] = SecretStr(lock_url)
    return settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update=ingest)} if ingest else {}
    )


def test_ingest_and_hybrid_search_through_a_chroma_server(
    chroma_server, tmp_path, kb_factory, lock_database
):
    root = tmp_path / "kb"
    write(
        root / "deal.md",
        "---\ndoc_type: program_rule\ntiers: [gold]\n---\n# Deals\n\nGold deals are protected for 120 days (SKU AG-EDR-100).\n",
    )
    write(
        root / "mdf.md",
        "---\ndoc_type: program_rule\n---\n# MDF\n\nMDF accrues at 3% of revenue.\n",
    )
    settings = server_settings(tmp_path, chroma_server, lock_database)
    kb = kb_factory(settings)
    assert kb.ingest([root]).files_indexed == 2
    assert kb.store.location.startswith("http://127.0.0.1")
    assert kb.ingest([root]).files_skipped == 2

    gold = CallerContext(tier="gold", region="na")
    silver = CallerContext(tier="silver", region="na")
    for mode in ("dense", "lexical", "hybrid"):
        assert (
            "120 days"
            in kb.retriever.retrieve("AG-EDR-100 protection", gold, k=1, mode=mode)[0].text
        )
        assert all(
            "120 days" not in h.text
            for h in kb.retriever.retrieve("AG-EDR-100 protection", silver, k=5, mode=mode)
        )

    # A second worker with its own (empty) local folder rebuilds the lexical index from the server.
    other = kb_factory(server_settings(tmp_path / "worker2", chroma_server, lock_database))
    hits = other.retriever.retrieve("MDF accrues", gold, k=1, mode="lexical")
    assert hits and "3%" in hits[0].text


def test_ingests_into_a_shared_server_from_two_hosts_take_turns(
    chroma_server, tmp_path, kb_factory, lock_database
):
    root = tmp_path / "kb"
    write(root / "a.md", "---\ndoc_type: faq\n---\n# A\n\nAnswer A.\n")
    settings = server_settings(
        tmp_path / "worker", chroma_server, lock_database, lock_timeout=0.3
    ).model_copy(update={"store": StoreSettings(dir=tmp_path / "worker", collection="turns")})
    # The other writer has its own local folder: only the PostgreSQL lock is shared.
    env = process_env(
        PA_STORE_DIR=str(tmp_path / "other-host"),
        PA_STORE_COLLECTION="turns",
        PA_CHROMA_HOST="127.0.0.1",
        PA_CHROMA_PORT=str(chroma_server),
        PA_INGEST_LOCK_URL=lock_database,
    )
    kb = kb_factory(settings)
    with lock_held_by_another_process(env) as pid, pytest.raises(StoreBusy) as busy:
        kb.ingest([root])

    assert f"pid {pid} on " in str(busy.value) and "chroma://127.0.0.1" in str(busy.value)
    assert kb.ingest([root]).files_indexed == 1


def test_a_shared_server_without_a_lock_database_refuses_to_ingest(
    chroma_server, tmp_path, kb_factory
):
    write(tmp_path / "kb" / "a.md", "---\ndoc_type: faq\n---\n# A\n\nAnswer A.\n")
    kb = kb_factory(server_settings(tmp_path, chroma_server))

    with pytest.raises(StoreError, match="PA_INGEST_LOCK_URL"):
        kb.ingest([tmp_path / "kb"])


class TestChromaServerStore(ChunkStoreContract):
    """The same contract against a real `chroma run` server."""

    @pytest.fixture
    def store(self, chroma_server, tmp_path, request):
        from retrieval.chroma_store import ChromaStore

        settings = make_settings(tmp_path).model_copy(
            update={"chroma": ChromaSettings(host="127.0.0.1", port=chroma_server)}
        )
        # One collection per test: the server outlives each test.
        name = "contract-" + request.node.name.replace("_", "-")[-40:].strip("-")
        settings = settings.model_copy(
            update={"store": settings.store.model_copy(update={"collection": name})}
        )
        return ChromaStore(settings, "contract-model", 3)
