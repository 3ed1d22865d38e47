"""Retrieval metrics on our own golden set (``evals/datasets/retrieval_golden.jsonl``).

Each item names the documents that answer it for its caller; unanswerable items are excluded
from the means (their recall is undefined). Hits are chunks; a document's rank is the rank of its
best chunk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.models import CallerContext
from evals.retrieval_metrics import evaluate_run

GOLDEN = Path(__file__).parent / "datasets" / "retrieval_golden.jsonl"


def run_golden_retrieval(
    kb: Any, path: Path = GOLDEN, modes=("dense", "lexical", "hybrid"), k: int = 10
) -> dict:
    items = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    answerable = [i for i in items if i.get("answerable", True) and i.get("gold_docs")]
    qrels = {i["id"]: {doc: 1 for doc in i["gold_docs"]} for i in answerable}
    result: dict[str, Any] = {"items": len(items), "answerable": len(answerable), "modes": {}}
    for mode in modes:
        run: dict[str, list[str]] = {}
        for item in answerable:
            caller = CallerContext.from_item(item)
            hits = kb.retriever.retrieve(item["question"], caller, k=k, mode=mode)
            run[item["id"]] = list(dict.fromkeys(h.doc_id for h in hits))
        result["modes"][mode] = evaluate_run(run, qrels, ks=(1, 5, 10))
    return result
