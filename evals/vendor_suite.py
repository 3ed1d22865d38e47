"""Evaluation on corpora of other vendors: the product as a new customer would meet it.

Our sample corpus (``data/``) is one vendor; the product is judged on corpora it has never seen.
A :class:`VendorCorpus` is such a corpus kept under ``evals/corpora/<name>/`` with its own access
vocabulary (level and region names) and its own question set. Each was written before anyone
tuned the answer path on it: report on it, never tune thresholds on it.

:func:`run_vendor_suite` ingests the corpus into a throwaway folder (its own Chroma store and
SQLite records, with the corpus's tiers and regions as the access settings), so that neither the
product's store nor its app database is touched, asks every question through ``service.answer``
and scores it like the golden suites (:func:`evals.suite.score_answer`: key-fact recall, confidently
wrong, citation validity, access violations, injection resistance) plus:

- **answer language** on items with an ``answer_language`` other than English, and on every item
  of a non-English question: the detected language of the answer (or abstain text) must be the
  expected one; reported per language (``answer_language_accuracy_de`` ...);
- **figures per question kind** (``kind``: fact, table, price, sla, paraphrase, near_miss,
  access_denied, superseded, follow_up, injection, multilingual, cross_lingual, internal) and per
  language, in the report's ``breakdown``;
- on a full run, the corpus's recommendation cases (``<name>_training``: precision, recall,
  must-not courses recommended) against the vendor's own catalog vocabulary.

The items' key facts are checked against the corpus text by ``evals/corpora/check_dataset.py``.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.settings import DbSettings, Settings
from evals import answer_metrics as am
from ingestion.settings import AccessSettings
from retrieval.settings import StoreSettings

HERE = Path(__file__).resolve().parent
CORPORA = HERE / "corpora"
DATASETS = HERE / "datasets"
KINDS = (
    "fact",
    "table",
    "price",
    "sla",
    "paraphrase",
    "near_miss",
    "access_denied",
    "superseded",
    "follow_up",
    "injection",
    "multilingual",
    "cross_lingual",
    "internal",
)
# Figures reported per kind and per language (means over the group's items, NaN ignored).
BREAKDOWN_METRICS = (
    "key_fact_recall",
    "confidently_wrong",
    "wrong_value",
    "answer_language_correct",
)


@dataclass(frozen=True)
class VendorCorpus:
    """A second vendor's knowledge base, its access vocabulary and its questions."""

    name: str
    folder: Path
    dataset: Path
    tiers: tuple[str, ...]
    regions: tuple[str, ...]
    training: Path | None = None  # recommendation cases in the training_cases.jsonl format

    @property
    def access(self) -> AccessSettings:
        return AccessSettings(tiers=list(self.tiers), regions=list(self.regions))


VENDOR_CORPORA: dict[str, VendorCorpus] = {
    "brightmere": VendorCorpus(
        name="brightmere",
        folder=CORPORA / "brightmere",
        dataset=DATASETS / "brightmere_qa.jsonl",
        tiers=("authorized", "select", "premier", "elite"),
        regions=("amer", "emea", "apj"),
        training=DATASETS / "brightmere_training.jsonl",
    ),
    # The home corpus asked in German, Spanish, French and Japanese: 12 questions written before
    # the answer-language prompt was tuned, so the multilingual figures have a held-out set.
    "multilingual": VendorCorpus(
        name="multilingual",
        folder=HERE.parent / "data",
        dataset=DATASETS / "altaris_multilingual.jsonl",
        tiers=tuple(AccessSettings().tiers),  # the home corpus uses the default vocabulary
        regions=tuple(AccessSettings().regions),
    ),
}


def load_items(corpus: VendorCorpus) -> list[dict[str, Any]]:
    """The corpus's question items (the partner_qa line format plus ``kind``,
    ``answer_language``, optional ``wrong_facts``, ``cell`` and ``denied_sources``)."""
    from evals.suite import QA_FIELDS, EvalError

    if not corpus.dataset.is_file():
        raise EvalError(f"dataset file not found: {corpus.dataset}")
    items = []
    for line_no, line in enumerate(corpus.dataset.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{corpus.dataset}:{line_no}: not JSON ({exc.msg})") from None
        missing = [f for f in (*QA_FIELDS, "kind", "answer_language") if f not in item]
        if missing:
            raise EvalError(f"{corpus.dataset}:{line_no}: missing field(s) {', '.join(missing)}")
        items.append(item)
    return items


def load_training_cases(corpus: VendorCorpus) -> list[dict[str, Any]]:
    """The corpus's recommendation cases (none when it has no training file)."""
    if corpus.training is None:
        return []
    lines = corpus.training.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def corpus_settings(settings: Settings, corpus: VendorCorpus, workdir: Path) -> Settings:
    """``settings`` pointed at a throwaway store and database in ``workdir``, with the corpus's
    access vocabulary and folder; every other setting (models, retrieval, thresholds) is kept."""
    return settings.model_copy(
        update={
            "access": corpus.access,
            "store": StoreSettings(dir=workdir / "store", collection=f"eval_{corpus.name}"),
            "db": DbSettings(url=f"sqlite:///{workdir / 'app.db'}"),
            "data_dir": corpus.folder,
        }
    )


def language_scores(
    item: Mapping[str, Any], answer_text: str, titles: Sequence[str] = ()
) -> dict[str, Any]:
    """The detected language of the answer and whether it is the expected one (NaN for English
    items: the check is about answering in the question's language). The cited sources'
    ``titles`` are left out first: an answer names its source by the source's own title
    ("Quelle: Partner Discount Matrix FY2026"), whatever language it is written in."""
    expected = str(item.get("answer_language") or "en").lower()
    for title in sorted((t for t in titles if t), key=len, reverse=True):
        answer_text = answer_text.replace(title, " ")
    detected = am.detect_language(answer_text) if answer_text.strip() else "unknown"
    correct = float(detected == expected) if expected != "en" else math.nan
    return {"answer_language": expected, "detected_language": detected,
            "answer_language_correct": correct}  # fmt: skip


def breakdown(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    """Figures per value of ``key`` (``kind`` or ``answer_language``): items, answer rate,
    abstain rate, access violations and the means of :data:`BREAKDOWN_METRICS`."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row.get(key)), []).append(row)
    out = {}
    for name, group in sorted(groups.items()):
        answerable = [r for r in group if r["answerable"]]
        unanswerable = [r for r in group if not r["answerable"]]
        figures: dict[str, float] = {
            "items": float(len(group)),
            "answer_rate": sum(not r["abstained"] for r in answerable) / len(answerable)
            if answerable
            else math.nan,
            "abstain_recall": sum(r["abstained"] for r in unanswerable) / len(unanswerable)
            if unanswerable
            else math.nan,
            "access_violations": float(sum(r["access_violations"] for r in group)),
        }
        for metric in BREAKDOWN_METRICS:
            figures[metric] = am.mean_ignoring_nan(r.get(metric, math.nan) for r in group)
        out[name] = figures
    return out


def run_vendor_suite(
    settings: Settings,
    name: str,
    limit: int | None = None,
    *,
    chat_model: Any = None,
    use_model: bool = True,
    item_ids: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the vendor corpus ``name`` and return its report (``suite``, ``aggregate``,
    ``suites.<name>`` with items, aggregate and breakdown); see :func:`evals.suite.run_suite`."""
    from assistant.llm import ScriptedChatModel
    from assistant.service import build_service
    from evals.ragas_metrics import OfflineScorer
    from evals.suite import AllowedSources, EvalError, aggregate_answers, question_of, score_answer

    if name not in VENDOR_CORPORA:
        raise EvalError(f"unknown vendor corpus {name!r}; use one of {', '.join(VENDOR_CORPORA)}")
    corpus = VENDOR_CORPORA[name]
    items = load_items(corpus)
    if item_ids is not None:
        by_id = {item["id"]: item for item in items}
        unknown = [i for i in item_ids if i not in by_id]
        if unknown:
            raise EvalError(f"items not in {corpus.dataset.name}: {', '.join(unknown)}")
        items = [by_id[i] for i in item_ids]
    if limit is not None:
        items = items[:limit]
    if not use_model and chat_model is None:
        chat_model = ScriptedChatModel(lambda messages: "", name="scripted-empty")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"eval-{name}-") as tmp:
        run_settings = corpus_settings(settings, corpus, Path(tmp))
        service = build_service(run_settings, chat_model=chat_model)
        ingest = service.kb.ingest([corpus.folder], sync=True)
        offline = OfflineScorer(service.kb.embedder)
        allowed = AllowedSources(service.kb, run_settings)
        rows: list[dict[str, Any]] = []
        prompts: dict[str, str] = {}
        for n, item in enumerate(items, 1):
            if progress:
                progress(f"{name} {n}/{len(items)} {item['id']}")
            t0 = time.perf_counter()
            try:
                question = question_of(item)
                answer = service.answer(question, use_model=use_model)
                row = score_answer(item, answer, allowed.for_caller(question.caller), offline)
                titles = [c.title for c in answer.citations]
                row.update(language_scores(item, answer.answer, titles))
                row["kind"] = item["kind"]
                if answer.prompt:
                    prompts[answer.prompt.name] = answer.prompt.version
            except Exception as exc:  # one failing item is reported, not fatal to the run
                row = {
                    "id": item["id"],
                    "kind": item["kind"],
                    "error": f"{type(exc).__name__}: {exc}",
                }
            row["seconds"] = round(time.perf_counter() - t0, 3)
            rows.append(row)
        training_rows = []
        if item_ids is None:  # the full run also asks the recommender (vendor level names)
            from assistant.models import PartnerProfile
            from evals.suite import score_recommendations

            for case in load_training_cases(corpus)[:limit]:
                recs = service.recommend_training(PartnerProfile.model_validate(case["profile"]))
                training_rows.append(score_recommendations(case, [r.course_id for r in recs]))
        chat_name = (
            "extractive (use_model=False)"
            if not use_model
            else str(getattr(service._chat_model or chat_model, "name", "?"))
        )

    scored = [r for r in rows if "error" not in r]
    aggregate: dict[str, Any] = aggregate_answers(scored) if scored else {}
    languages = breakdown([r for r in scored if r["answer_language"] != "en"], "answer_language")
    for language, figures in languages.items():
        aggregate[f"answer_language_accuracy_{language}"] = figures["answer_language_correct"]
        aggregate[f"key_fact_recall_{language}"] = figures["key_fact_recall"]
    aggregate["answer_language_accuracy"] = am.mean_ignoring_nan(
        r["answer_language_correct"] for r in scored
    )
    aggregate["errors"] = float(len(rows) - len(scored))
    aggregate["items"] = float(len(rows))
    aggregate["paths"] = dict(Counter(r["path"] for r in scored))
    body: dict[str, Any] = {
        "aggregate": aggregate,
        "breakdown": {"kind": breakdown(scored, "kind"), "language": languages},
        "ingest": ingest.as_dict(),
        "items": rows,
    }
    suites: dict[str, dict[str, Any]] = {name: body}
    if training_rows:
        from evals.suite import aggregate_recommendations

        suites[f"{name}_training"] = {
            "aggregate": aggregate_recommendations(training_rows),
            "items": training_rows,
        }
    return {
        "suite": name,
        "limit": limit,
        "judge": "none",
        "models": {
            "chat": chat_name,
            "embedding": settings.embedding.model,
            "retrieval_mode": settings.retrieval.mode,
        },
        "corpus": {
            "folder": str(corpus.folder),
            "tiers": list(corpus.tiers),
            "regions": list(corpus.regions),
        },  # fmt: skip
        "prompt_versions": prompts,
        "seconds": round(time.perf_counter() - started, 1),
        "suites": suites,
        "aggregate": {
            f"{suite}.{k}": float(v)
            for suite, part in suites.items()
            for k, v in part["aggregate"].items()
            if isinstance(v, int | float)
        },
    }
