"""The BEIR eval through the product path: a tiny BEIR folder, the real model, real Chroma."""

import json
from pathlib import Path

import pytest

from evals.beir import load_beir
from evals.beir_retrieval import BeirRunError, file_name_for, format_table, run_beir, write_corpus

DOCS = [
    ("v1", "Volcanoes", "Basaltic lava flows from shield volcanoes such as Mauna Loa in Hawaii."),
    ("p/2", "Penguins", "Emperor penguins huddle through the Antarctic winter to incubate eggs."),
    ("j 3", "Jazz", "Bebop saxophonist Charlie Parker played fast improvised solos in the 1940s."),
    ("t4", "Tides", "Ocean tides rise and fall because of the gravitational pull of the Moon."),
    ("c5", "Coffee", "Arabica coffee beans are roasted to develop aroma and bitterness."),
    ("r6", "Rust", "Iron oxidises into rust when it is exposed to water and oxygen."),
    ("b7", "Bees", "Honeybees perform a waggle dance to tell the hive where flowers are."),
    ("Chess8", "Chess", "The Sicilian Defence is a sharp chess opening for black after e4."),
    ("g9", "Glaciers", "Glaciers carve U-shaped valleys as the ice slowly grinds the rock."),
    ("s10", "Sourdough", "A sourdough starter ferments flour with wild yeast and lactobacilli."),
]
# Each query names its document's unique words, so every mode should rank it first.
QUERIES = [
    ("q1", "Emperor penguins huddle in the Antarctic winter", "p/2"),
    ("q2", "Charlie Parker bebop saxophone solos", "j 3"),
    ("q3", "Sicilian Defence chess opening", "Chess8"),
    ("q4", "sourdough starter wild yeast fermentation", "s10"),
]


def write_tiny_beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in DOCS)
    )
    (folder / "queries_test.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": text}) + "\n" for q, text, _ in QUERIES)
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, _, d in QUERIES)
    )
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_beir(tmp_path_factory.mktemp("tiny") / "tinyfact")


@pytest.fixture(scope="module")
def tiny_result(tiny, tmp_path_factory, embedder):
    return run_beir(tiny, store_dir=tmp_path_factory.mktemp("store"), embedder=embedder)


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_queries_with_unique_words_find_their_document_first(tiny_result, mode):
    scores = tiny_result["modes"][mode]
    assert scores["queries"] == 4
    assert scores["ndcg@10"] == 1.0
    assert scores["mrr@10"] == 1.0
    assert scores["recall@100"] == 1.0


def test_result_counts_documents_chunks_and_ingest(tiny_result):
    assert tiny_result["dataset"] == "tinyfact"
    assert tiny_result["documents"] == 10
    assert tiny_result["chunks"] == 10
    assert tiny_result["ingest"] == {"files_indexed": 10, "files_skipped": 0, "files_failed": 0}
    assert set(tiny_result["modes"]) == {"dense", "lexical", "hybrid"}


def test_wrong_qrels_score_zero(tmp_path, embedder):
    folder = write_tiny_beir(tmp_path / "wrong")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq3\tv1\t1\n")
    result = run_beir(folder, modes=["lexical"], embedder=embedder)
    assert result["modes"]["lexical"]["ndcg@10"] == 0.0  # nothing about volcanoes matches chess


def test_second_run_on_the_same_store_skips_ingest(tiny, tmp_path, embedder):
    run_beir(tiny, modes=["lexical"], store_dir=tmp_path, embedder=embedder)
    again = run_beir(tiny, modes=["lexical"], store_dir=tmp_path, embedder=embedder)
    assert again["ingest"] == {"files_indexed": 0, "files_skipped": 10, "files_failed": 0}
    assert again["modes"]["lexical"]["ndcg@10"] == 1.0


def test_limit_queries_scores_only_the_first_queries(tiny, tmp_path, embedder):
    result = run_beir(
        tiny, modes=["lexical"], store_dir=tmp_path, limit_queries=2, embedder=embedder
    )
    assert result["modes"]["lexical"]["queries"] == 2
    assert result["limited"] is True


def test_unknown_mode_is_refused_with_a_clear_error(tiny):
    with pytest.raises(BeirRunError, match="unknown retrieval mode 'semantic'"):
        run_beir(tiny, modes=["semantic"])


def test_corpus_ids_unsafe_as_file_names_map_back(tmp_path):
    data = load_beir(write_tiny_beir(tmp_path / "ids"))
    mapping = write_corpus(data, tmp_path / "corpus")
    assert sorted(mapping.values()) == sorted(d for d, _, _ in DOCS)
    assert all((tmp_path / "corpus" / name).is_file() for name in mapping)
    assert file_name_for("v1") == "v1.md"
    assert "/" not in file_name_for("p/2") and " " not in file_name_for("j 3")
    assert file_name_for("Chess8") != file_name_for("chess8")


def test_table_shows_each_mode_and_published_scifact_references():
    result = {
        "dataset": "scifact",
        "documents": 5183,
        "chunks": 9000,
        "ingest_seconds": 1.0,
        "modes": {
            "hybrid": {
                "ndcg@10": 0.74,
                "recall@10": 0.8,
                "recall@100": 0.95,
                "mrr@10": 0.7,
                "queries": 300,
                "p50_ms": 12.0,
                "p95_ms": 20.0,
            }
        },
    }
    table = format_table(result)
    assert "| ours, hybrid (300 queries) | 0.740 | 0.800 | 0.950 | 0.700 | 12.0 | 20.0 |" in table
    assert "| BM25 flat (Anserini) | 0.679 |  | 0.925 |  |  |  |" in table
