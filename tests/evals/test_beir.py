"""BEIR folder loading, on a tiny folder written here and on the shared SciFact copy."""

import json
from pathlib import Path

import pytest

from evals.beir import DatasetFormatError, corpus_records, load_beir

SCIFACT = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "scifact"


def write_beir(folder: Path, *, queries_name: str = "queries_test.jsonl") -> Path:
    (folder / "qrels").mkdir(parents=True)
    docs = [
        {"_id": "d1", "title": "Partner tiers", "text": "Gold partners get 30% margin."},
        {"_id": "d2", "title": "", "text": "Deal registration lasts 90 days."},
        {"_id": "d3", "text": "Unrelated."},
    ]
    queries = [
        {"_id": "q1", "text": "What margin do gold partners get?", "metadata": {}},
        {"_id": "q2", "text": "How long does registration last?"},
        {"_id": "q9", "text": "A query of another split."},
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    (folder / queries_name).write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td3\t0\nq2\td2\t1\n"
    )
    return folder


def test_tiny_folder_loads_corpus_queries_and_graded_qrels(tmp_path):
    data = load_beir(write_beir(tmp_path))
    assert set(data.corpus) == {"d1", "d2", "d3"}
    assert data.corpus["d1"].title == "Partner tiers"
    assert data.corpus["d3"].title == ""
    assert data.queries["q2"].text == "How long does registration last?"
    assert data.qrels == {"q1": {"d1": 2, "d3": 0}, "q2": {"d2": 1}}
    assert data.qrels_pairs == 3


def test_queries_of_other_splits_are_left_out(tmp_path):
    assert "q9" not in load_beir(write_beir(tmp_path)).queries


def test_beir_own_queries_jsonl_is_read_when_there_is_no_split_file(tmp_path):
    data = load_beir(write_beir(tmp_path, queries_name="queries.jsonl"))
    assert set(data.queries) == {"q1", "q2"}


def test_corpus_records_yield_id_title_text_from_dataset_or_folder(tmp_path):
    folder = write_beir(tmp_path)
    expected = ("d2", "", "Deal registration lasts 90 days.")
    assert expected in list(corpus_records(load_beir(folder)))
    assert expected in list(corpus_records(folder))


def test_missing_folder_gives_a_clear_error(tmp_path):
    with pytest.raises(DatasetFormatError, match="dataset folder not found"):
        load_beir(tmp_path / "nope")


def test_bad_json_line_is_reported_with_file_and_line(tmp_path):
    folder = write_beir(tmp_path)
    with (folder / "corpus.jsonl").open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(DatasetFormatError, match=r"corpus.jsonl:4: not valid JSON"):
        load_beir(folder)


def test_qrels_without_header_is_refused(tmp_path):
    folder = write_beir(tmp_path)
    (folder / "qrels" / "test.tsv").write_text("q1\td1\t1\n")
    with pytest.raises(DatasetFormatError, match="header"):
        load_beir(folder)


def test_non_integer_score_is_reported_with_its_line(tmp_path):
    folder = write_beir(tmp_path)
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\thigh\n")
    with pytest.raises(DatasetFormatError, match=r"test.tsv:2: score 'high'"):
        load_beir(folder)


def test_qrels_naming_a_document_outside_the_corpus_is_refused(tmp_path):
    folder = write_beir(tmp_path)
    with (folder / "qrels" / "test.tsv").open("a") as handle:
        handle.write("q2\tghost\t1\n")
    with pytest.raises(DatasetFormatError, match="ghost"):
        load_beir(folder)


@pytest.mark.skipif(not SCIFACT.is_dir(), reason="shared SciFact copy not present")
def test_real_scifact_test_split_has_published_sizes():
    data = load_beir(SCIFACT, split="test")
    assert len(data.corpus) == 5183
    assert len(data.queries) == 300
    assert data.qrels_pairs == 339
