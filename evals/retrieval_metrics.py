"""Ranking metrics for retrieval evals: nDCG@k, recall@k and MRR@k, as BEIR reports them.

The definitions follow ``pytrec_eval`` (``ndcg_cut``, ``recall``) and BEIR's own ``MRR@k``, so our
SciFact figures can sit beside the published ones:

- **nDCG@k**: DCG = sum of ``gain / log2(rank + 1)`` over the top ``k`` documents, with the gain
  taken as-is from the qrels (linear, not ``2**gain - 1``); the ideal DCG sorts the qrels' gains
  from high to low and takes the top ``k``. Gains of zero or less are "judged not relevant" and
  count as 0.
- **recall@k**: relevant documents (gain > 0) found in the top ``k``, divided by all relevant
  documents in the qrels.
- **MRR@k**: ``1 / rank`` of the first relevant document within the top ``k``, else 0.

How a ranking is read:

- **Duplicates.** A ranking may name one document several times, because the retriever returns
  chunks and several chunks come from one document. Every metric first keeps only the first
  occurrence of each id (:func:`dedupe_to_docs`), so a document sits at its best chunk's rank and
  ``k`` counts documents, not chunks. Without this, five chunks of one relevant document would
  count five times in DCG and push nDCG above 1.
- **Ties.** A ranking is a list, so it has no ties: its order is the order scored. A run given as
  scores (``{doc_id: score}``, the TREC/BEIR form) must be ordered first with
  :func:`ranking_from_scores`, which breaks ties as ``trec_eval`` does (score descending, then
  doc id descending), so equal scores give the same figures here and there.

Undefined is NaN, never a made-up number: a query whose qrels hold no relevant document has no
meaningful recall or nDCG, so the per-query functions return ``math.nan`` and
:func:`evaluate_run` leaves such queries out of its averages. A query with relevant documents but
no results (missing from the run, or an empty list) scores 0, as the dataset README asks.

Example::

    >>> ndcg_at_k(["d1", "x", "d2"], {"d1": 1, "d2": 1}, k=10)  # relevant at ranks 1 and 3
    0.9197207891481876
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

DEFAULT_KS: tuple[int, ...] = (1, 3, 5, 10, 100)

Qrels = Mapping[str, int]


def dedupe_to_docs(ranked_chunk_doc_ids: Iterable[str]) -> list[str]:
    """Keep the first occurrence of each document id, in order.

    ``["a", "b", "a", "c"]`` -> ``["a", "b", "c"]``: a document takes the rank of its best chunk.
    """
    seen: set[str] = set()
    docs: list[str] = []
    for doc_id in ranked_chunk_doc_ids:
        if doc_id not in seen:
            seen.add(doc_id)
            docs.append(doc_id)
    return docs


def ranking_from_scores(scores: Mapping[str, float]) -> list[str]:
    """Order ``{doc_id: score}`` as ``trec_eval`` does: by score, ties by doc id (descending)."""
    return [
        doc_id for doc_id, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    ]


def ndcg_at_k(ranked_ids: Sequence[str], qrels: Qrels, k: int) -> float:
    """Normalised discounted cumulative gain of the top ``k`` documents (NaN without relevant
    documents)."""
    _check_k(k)
    ideal_gains = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    if not ideal_gains:
        return math.nan
    top = dedupe_to_docs(ranked_ids)[:k]
    dcg = sum(_gain(qrels, doc_id) / math.log2(rank + 1) for rank, doc_id in enumerate(top, 1))
    idcg = sum(gain / math.log2(rank + 1) for rank, gain in enumerate(ideal_gains, 1))
    return dcg / idcg


def recall_at_k(ranked_ids: Sequence[str], qrels: Qrels, k: int) -> float:
    """Fraction of the relevant documents (gain > 0) found in the top ``k`` (NaN without any)."""
    _check_k(k)
    relevant = {doc_id for doc_id, gain in qrels.items() if gain > 0}
    if not relevant:
        return math.nan
    found = relevant.intersection(dedupe_to_docs(ranked_ids)[:k])
    return len(found) / len(relevant)


def mrr_at_k(ranked_ids: Sequence[str], qrels: Qrels, k: int) -> float:
    """Reciprocal rank of the first relevant document within the top ``k``, else 0 (NaN without
    relevant documents)."""
    _check_k(k)
    if not any(gain > 0 for gain in qrels.values()):
        return math.nan
    for rank, doc_id in enumerate(dedupe_to_docs(ranked_ids)[:k], 1):
        if _gain(qrels, doc_id) > 0:
            return 1.0 / rank
    return 0.0


def per_query_scores(
    run: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Qrels],
    ks: Iterable[int] = DEFAULT_KS,
) -> dict[str, dict[str, float]]:
    """Scores of every query in ``qrels``: ``{qid: {"ndcg@10": ..., "recall@10": ..., ...}}``.

    Queries missing from ``run`` are scored as an empty ranking; queries in ``run`` but not in
    ``qrels`` are ignored (they have no judgments to score against).
    """
    ks = _check_ks(ks)
    scores: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        ranked = run.get(qid, [])
        if isinstance(ranked, str):
            raise TypeError(f"run[{qid!r}] must be a list of doc ids, not a string")
        row: dict[str, float] = {}
        for k in ks:
            row[f"ndcg@{k}"] = ndcg_at_k(ranked, judged, k)
            row[f"recall@{k}"] = recall_at_k(ranked, judged, k)
            row[f"mrr@{k}"] = mrr_at_k(ranked, judged, k)
        scores[qid] = row
    return scores


def evaluate_run(
    run: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Qrels],
    ks: Iterable[int] = DEFAULT_KS,
) -> dict[str, float]:
    """Mean of :func:`per_query_scores` over the queries in ``qrels`` that have a relevant doc.

    Keys are ``ndcg@k``, ``recall@k`` and ``mrr@k`` for each ``k``, plus ``queries``: how many
    queries the means are over. A query with no results scores 0, so it pulls the mean down
    (BEIR averages over the queries of the run instead; with a run that answers every query, as
    BEIR's always does, the two agree).
    """
    ks = _check_ks(ks)
    rows = [
        row
        for row in per_query_scores(run, qrels, ks).values()
        if not math.isnan(row[f"ndcg@{ks[0]}"])
    ]
    means: dict[str, float] = {}
    for k in ks:
        for name in ("ndcg", "recall", "mrr"):
            key = f"{name}@{k}"
            means[key] = sum(row[key] for row in rows) / len(rows) if rows else math.nan
    means["queries"] = float(len(rows))
    return means


def _gain(qrels: Qrels, doc_id: str) -> int:
    return max(qrels.get(doc_id, 0), 0)


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    ks = tuple(ks)
    if not ks:
        raise ValueError("ks must name at least one cut-off, e.g. ks=(10,)")
    for k in ks:
        _check_k(k)
    return ks
