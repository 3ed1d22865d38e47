"""Synthesise more golden questions from the corpus with ragas' ``TestsetGenerator``.

Hand-written golden sets are small; ragas can draft more questions (single- and multi-hop) from
the documents when a capable model is configured through the OpenAI wire format
(``PA_LLM_PROVIDER=openai``, ``PA_LLM_MODEL``, ``PA_LLM_BASE_URL``/``PA_LLM_API_KEY``). The
drafts are written as JSONL in the partner_qa format with ``"synthetic": true`` and no caller
restriction, for a person to review before anything joins a dataset. Never run in CI: it is slow
and not deterministic.

    generate_testset(settings, size=20, out=Path("evals-out/synthetic.jsonl"))
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from assistant.settings import Settings
from evals.ragas_metrics import JudgeNotConfiguredError, judge_llm_settings, ragas_llm

TEXT_SUFFIXES = (".md", ".txt", ".html")


def corpus_documents(data_dir: Path) -> list[Any]:
    """Partner-visible text documents of the corpus as langchain ``Document`` objects (internal
    documents are left out: synthetic partner questions must not be drawn from them)."""
    from langchain_core.documents import Document

    if not data_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {data_dir}")
    docs = []
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir).as_posix()
        if path.suffix not in TEXT_SUFFIXES or rel.startswith("internal/") or ".meta." in rel:
            continue
        docs.append(
            Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": rel})
        )
    return docs


def generate_testset(settings: Settings, size: int = 20, out: Path | None = None) -> Path:
    """Generate ``size`` questions and write them to ``out`` (JSONL). Raises
    :class:`JudgeNotConfiguredError` with what to set when no capable model is configured."""
    if size < 1:
        raise ValueError(f"size must be a positive integer, not {size}")
    try:
        llm_settings = judge_llm_settings(settings)
    except JudgeNotConfiguredError as exc:
        raise JudgeNotConfiguredError(f"cannot generate a test set: {exc}") from None
    from ragas.testset import TestsetGenerator

    from evals.ragas_metrics import PackagedEmbeddings
    from retrieval.embedder import load_embedder

    embeddings = PackagedEmbeddings(load_embedder(settings.embedding)).ragas
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        generator = TestsetGenerator(
            llm=ragas_llm(llm_settings),
            embedding_model=embeddings,  # type: ignore[arg-type]  # ragas accepts its adapter
        )
        testset = generator.generate_with_langchain_docs(
            corpus_documents(settings.data_dir), testset_size=size
        )
    out = out or Path("evals-out") / "synthetic_partner_qa.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for n, sample in enumerate(testset.to_list(), 1):  # type: ignore[union-attr]
            f.write(
                json.dumps(
                    {
                        "version": "synthetic",
                        "id": f"syn{n:03d}",
                        "question": sample.get("user_input", ""),
                        "caller": {"role": "partner", "tier": None, "region": None, "as_of": None},
                        "reference_answer": sample.get("reference", ""),
                        "key_facts": [],
                        "gold_sources": [],
                        "reference_contexts": sample.get("reference_contexts", []),
                        "category": sample.get("synthesizer_name", "synthetic"),
                        "answerable": True,
                        "synthetic": True,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return out
