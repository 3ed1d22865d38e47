"""ConditionalQA through the real assistant: eligibility questions whose answers hold only under
conditions, the closest public data to partner-program rules.

:func:`run_conditionalqa` writes the pages (:func:`evals.conditionalqa.page_to_html`) as HTML
documents with a sidecar carrying each page's url into a throwaway folder, ingests them into a
throwaway store (the product's own store is never touched), asks every question (scenario, then
question, as one text) through ``service.answer`` and reports:

- retrieval: hit@k of the gold page in ``service.search`` (k = 1, 4, 10);
- answers: ``answer_present`` and best token F1 (the dataset's SQuAD definition), whether the
  answer states the gold conditions, and abstain accuracy (on the 14 unanswerable questions, the
  assistant should abstain; on the others it should not).

``limit`` takes the first ``limit`` questions (by id) and ingests only their pages, so a smoke
run takes a minute rather than an hour.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from assistant.models import CallerContext, Question
from assistant.settings import Settings, StoreSettings
from evals import conditionalqa as cqa
from evals.answer_metrics import mean_ignoring_nan

DEFAULT_FOLDER = Path("../shared/datasets/conditionalqa_dev")
HIT_KS = (1, 4, 10)


def write_pages(pages: dict[str, cqa.Page], folder: Path) -> dict[str, str]:
    """Write each page as ``pNNNN.html`` plus its sidecar; returns doc id -> page url."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.yaml").write_text(
        yaml.safe_dump({"defaults": {"doc_type": "faq", "audience": "partner"}}), encoding="utf-8"
    )
    doc_urls = {}
    for n, (url, page) in enumerate(sorted(pages.items()), 1):
        name = f"p{n:04d}.html"
        (folder / name).write_text(cqa.page_to_html(page), encoding="utf-8")
        sidecar = {"url": url, "title": page.title or url}
        (folder / f"{name}.meta.yaml").write_text(yaml.safe_dump(sidecar), encoding="utf-8")
        doc_urls[name] = url
    return doc_urls


def question_text(question: cqa.Question) -> str:
    """Scenario first, then the question: how a partner would write it in the widget."""
    text = f"{question.scenario.strip()} {question.question.strip()}".strip()
    return text[:4000]


def run_conditionalqa(
    settings: Settings,
    limit: int | None = None,
    folder: Path | None = None,
    chat_model: Any = None,
    use_model: bool = True,
) -> dict[str, Any]:
    """Run the suite and return its report (``suite``, ``aggregate``, ``suites.conditionalqa``)."""
    from assistant.service import build_service
    from evals.suite import eval_records

    data = cqa.load_conditionalqa(folder or settings.data_dir.parent / DEFAULT_FOLDER)
    questions = [data.questions[q] for q in sorted(data.questions)]
    if limit is not None:
        questions = questions[:limit]
    pages = dict(data.pages)  # every page, so retrieval is measured against the whole corpus
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cqa-") as tmp:
        tmp_path = Path(tmp)
        doc_urls = write_pages(pages, tmp_path / "pages")
        run_settings = settings.model_copy(
            update={"store": StoreSettings(dir=tmp_path / "store", collection="conditionalqa")}
        )
        service = build_service(run_settings, chat_model=chat_model, records=eval_records())
        service.kb.ingest([tmp_path / "pages"], sync=True)
        caller = CallerContext(role="partner")
        rows = []
        for question in questions:
            text = question_text(question)
            hits = service.search(text, caller, k=max(HIT_KS))
            ranked_urls = []
            for hit in hits:
                url = doc_urls.get(hit.doc_id.rsplit("/", 1)[-1]) or hit.metadata.get("url")
                if url and url not in ranked_urls:
                    ranked_urls.append(url)
            answer = service.answer(Question(text=text, caller=caller), use_model=use_model)
            abstained = answer.path == "abstained"
            scores = cqa.score_free_text(question, answer.answer, abstained)
            row = {
                "id": question.qid,
                "answerable": not question.not_answerable,
                "abstained": abstained,
                "path": answer.path,
                "answer": answer.answer,
                "answer_present": scores.answer_present,
                "token_f1": scores.best_f1,
                "conditions_stated": scores.conditions_stated,
                "abstain_correct": scores.abstain_correct,
                "correct": scores.answer_present,
            }
            for k in HIT_KS:
                row[f"hit@{k}"] = float(question.url in ranked_urls[:k])
            rows.append(row)
    aggregate = aggregate_rows(rows)
    return {
        "suite": "conditionalqa",
        "limit": limit,
        "models": {
            "chat": "extractive" if not use_model else getattr(service.chat_model, "name", "?"),
            "embedding": settings.embedding.model,
        },
        "seconds": round(time.perf_counter() - started, 1),
        "suites": {"conditionalqa": {"aggregate": aggregate, "items": rows}},
        "aggregate": {f"conditionalqa.{k}": v for k, v in aggregate.items()},
    }


def aggregate_rows(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Means over the questions (NaN ignored) and abstain accuracy on each side."""
    unanswerable = [r for r in rows if not r["answerable"]]
    answerable = [r for r in rows if r["answerable"]]
    names = ["answer_present", "token_f1", "conditions_stated", *(f"hit@{k}" for k in HIT_KS)]
    out = {name: mean_ignoring_nan(r[name] for r in rows) for name in names}
    out["abstain_accuracy_unanswerable"] = (
        mean_ignoring_nan(r["abstain_correct"] for r in unanswerable) if unanswerable else math.nan
    )
    out["answer_rate_answerable"] = (
        mean_ignoring_nan(0.0 if r["abstained"] else 1.0 for r in answerable)
        if answerable
        else math.nan
    )
    out["items"] = float(len(rows))
    return out
