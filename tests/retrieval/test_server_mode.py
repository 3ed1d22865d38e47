"""Server mode: a real `chroma run` on loopback, reached through chromadb.HttpClient."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.models import CallerContext
from assistant.settings import ChromaSettings
from tests.helpers import make_settings, write
from tests.retrieval.chunk_store_contract import ChunkStoreContract

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


def test_ingest_and_hybrid_search_through_a_chroma_server(chroma_server, tmp_path, kb_factory):
    root = tmp_path / "kb"
    write(
        root / "deal.md",
        "---\ndoc_type: program_rule\ntiers: [gold]\n---\n# Deals\n\nGold deals are protected for 120 days (SKU AG-EDR-100).\n",
    )
    write(
        root / "mdf.md",
        "---\ndoc_type: program_rule\n---\n# MDF\n\nMDF accrues at 3% of revenue.\n",
    )
    settings = make_settings(tmp_path).model_copy(
        update={"chroma": ChromaSettings(host="127.0.0.1", port=chroma_server)}
    )
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
    other = kb_factory(
        make_settings(tmp_path / "worker2").model_copy(update={"chroma": settings.chroma})
    )
    hits = other.retriever.retrieve("MDF accrues", gold, k=1, mode="lexical")
    assert hits and "3%" in hits[0].text


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
