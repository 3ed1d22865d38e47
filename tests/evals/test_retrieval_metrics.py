"""Ranking metrics against hand-computed values (and pytrec_eval's conventions)."""

import math

import pytest

from evals.retrieval_metrics import (
    dedupe_to_docs,
    evaluate_run,
    mrr_at_k,
    ndcg_at_k,
    per_query_scores,
    ranking_from_scores,
    recall_at_k,
)

BINARY = {"d1": 1, "d2": 1}


def test_ndcg_with_relevant_at_ranks_one_and_three():
    # DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3)
    expected = 1.5 / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["d1", "x", "d2", "y"], BINARY, k=10) == pytest.approx(expected)
    assert expected == pytest.approx(0.919720789)


def test_perfect_ranking_scores_one_everywhere():
    ranking = ["d1", "d2", "x"]
    assert ndcg_at_k(ranking, BINARY, 10) == pytest.approx(1.0)
    assert recall_at_k(ranking, BINARY, 10) == 1.0
    assert mrr_at_k(ranking, BINARY, 10) == 1.0


def test_ranking_without_relevant_docs_scores_zero():
    ranking = ["x", "y", "z"]
    assert ndcg_at_k(ranking, BINARY, 10) == 0.0
    assert recall_at_k(ranking, BINARY, 10) == 0.0
    assert mrr_at_k(ranking, BINARY, 10) == 0.0


def test_graded_gains_are_linear_and_ideal_order_comes_from_qrels():
    qrels = {"a": 2, "b": 1}
    # ranking b, a: DCG = 1 + 2/log2(3); ideal a, b: IDCG = 2 + 1/log2(3)
    expected = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["b", "a"], qrels, 10) == pytest.approx(expected)


def test_ideal_dcg_counts_relevant_docs_the_run_never_returned():
    # one of two relevant docs found at rank 1: DCG 1, IDCG 1 + 1/log2(3)
    assert ndcg_at_k(["d1"], BINARY, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_k_cut_off_ignores_documents_below_k():
    ranking = ["x", "y", "d1"]
    assert recall_at_k(ranking, BINARY, 2) == 0.0
    assert mrr_at_k(ranking, BINARY, 2) == 0.0
    assert ndcg_at_k(ranking, BINARY, 2) == 0.0
    assert mrr_at_k(ranking, BINARY, 3) == pytest.approx(1 / 3)
    assert recall_at_k(ranking, BINARY, 3) == 0.5


def test_ideal_dcg_is_cut_at_k_too():
    qrels = {"a": 1, "b": 1, "c": 1}
    assert ndcg_at_k(["a"], qrels, 1) == 1.0


def test_duplicate_chunks_of_a_document_count_once_at_its_best_rank():
    chunk_docs = ["d1", "d1", "d1", "x", "d2"]
    assert dedupe_to_docs(chunk_docs) == ["d1", "x", "d2"]
    assert ndcg_at_k(chunk_docs, BINARY, 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # k counts documents: d2 is the third document, so it is inside k=3
    assert recall_at_k(chunk_docs, BINARY, 3) == 1.0


def test_zero_gain_judgments_are_not_relevant():
    qrels = {"d1": 1, "bad": 0}
    assert mrr_at_k(["bad", "d1"], qrels, 10) == 0.5
    assert recall_at_k(["bad"], qrels, 10) == 0.0


def test_query_without_relevant_docs_is_nan_not_zero():
    assert math.isnan(ndcg_at_k(["a"], {"a": 0}, 10))
    assert math.isnan(recall_at_k(["a"], {}, 10))
    assert math.isnan(mrr_at_k(["a"], {}, 10))


def test_evaluate_run_averages_over_qrels_queries_and_missing_query_scores_zero():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    run = {"q1": ["d1"], "q3": ["d2"]}  # q2 unanswered, q3 not judged
    means = evaluate_run(run, qrels, ks=(10,))
    assert means["ndcg@10"] == 0.5
    assert means["recall@10"] == 0.5
    assert means["mrr@10"] == 0.5
    assert means["queries"] == 2


def test_evaluate_run_leaves_out_queries_without_relevant_docs():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 0}}
    means = evaluate_run({"q1": ["d1"]}, qrels, ks=(5,))
    assert means["ndcg@5"] == 1.0
    assert means["queries"] == 1


def test_per_query_scores_names_every_metric_and_cut_off():
    scores = per_query_scores({"q": ["d1"]}, {"q": {"d1": 1}}, ks=(1, 10))
    assert set(scores["q"]) == {"ndcg@1", "recall@1", "mrr@1", "ndcg@10", "recall@10", "mrr@10"}


def test_ranking_from_scores_breaks_ties_by_doc_id_descending_like_trec_eval():
    assert ranking_from_scores({"a": 1.0, "c": 1.0, "b": 2.0}) == ["b", "c", "a"]


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_cut_off_is_refused_with_a_clear_error(k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        ndcg_at_k(["a"], {"a": 1}, k)


def test_a_string_in_place_of_a_ranking_is_refused():
    with pytest.raises(TypeError, match="list of doc ids"):
        evaluate_run({"q": "d1"}, {"q": {"d1": 1}}, ks=(10,))
