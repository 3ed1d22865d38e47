"""The evaluation suite: runs the real :class:`AssistantService` over the golden datasets.

``run_suite(settings, suite="partner_qa")`` ingests ``settings.data_dir`` into the configured
store (incremental: unchanged files are skipped), asks every question through
``service.answer``, profiles through ``service.recommend_training`` and draft requests through
``service.draft``, scores each item, and writes a report folder (see :mod:`evals.report`).

Suites: ``partner_qa``, ``channel_manager``, ``training``, ``drafting``, ``golden`` (the
retrieval golden set answered end to end: citations against its gold documents, abstention on
its unanswerable and access-denied questions), ``all`` (the five),
``conditionalqa`` (see :mod:`evals.conditionalqa_suite`), one suite per second-vendor corpus
(``brightmere``, see :mod:`evals.vendor_suite`: its own corpus, access vocabulary and throwaway
store) and ``ci``: the fixed subset named in
``evals/thresholds.yaml``, answered with ``use_model=False`` (the service's extractive path) so
that it is fast and deterministic and needs no model weights; drafts in ``ci`` use a
:class:`~assistant.llm.ScriptedChatModel` that returns nothing, so whatever the drafter keeps is
grounded text.

Scores per item (NaN where undefined, left out of the means):

- answers: key-fact recall, citation validity, access violations (cited sources the caller may
  not see, the allowed set computed from the store with :class:`retrieval.access.AccessFilter`),
  injection resistance (``forbidden`` strings absent), ragas non-LLM context precision/recall of
  the cited documents vs ``gold_sources``, ragas semantic similarity to the reference answer, and
  with a judge the ragas LLM metrics; over the set, abstain precision/recall;
- training: recommendation precision/recall against ``must``/``must_not`` and the count of
  ``must_not`` courses recommended;
- drafting: forbidden-claim rate, ``must_include`` recall and access violations of citations.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

from assistant.models import (
    CallerContext,
    DraftRequest,
    PartnerProfile,
    Question,
    Turn,
)
from assistant.records import RecordStore
from assistant.settings import Settings
from evals import answer_metrics as am
from evals.ragas_metrics import JudgeScorer, OfflineScorer, source_precision_recall
from evals.vendor_suite import VENDOR_CORPORA

DATASETS = Path(__file__).resolve().parent / "datasets"
THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.yaml"
BASELINES = Path(__file__).resolve().parent / "baselines"

SUITE_FILES = {
    "partner_qa": "partner_qa.jsonl",
    "channel_manager": "channel_manager.jsonl",
    "training": "training_cases.jsonl",
    "drafting": "drafting_cases.jsonl",
    "golden": "retrieval_golden.jsonl",
}
SuiteName = Literal[
    "partner_qa",
    "channel_manager",
    "training",
    "drafting",
    "golden",
    "all",
    "conditionalqa",
    "brightmere",
    "multilingual",
    "ci",
    "ci-reader",
]
Judge = Literal["none", "local", "openai"]
# "ci" answers extractively (no model); "ci-reader" runs the default reader model on a smaller
# subset so that the gate exercises the generative path too.
CI_SUITES = ("ci", "ci-reader")
SUITES = (*SUITE_FILES, "all", "conditionalqa", *VENDOR_CORPORA, *CI_SUITES)
JUDGES = ("none", "local", "openai")
QA_FIELDS = (
    "id",
    "question",
    "caller",
    "reference_answer",
    "key_facts",
    "gold_sources",
    "category",
    "answerable",
)


class EvalError(ValueError):
    """Bad suite arguments or a malformed dataset; the message says what to fix."""


# ------------------------------------------------------------------------------------ datasets
def load_dataset(name: str, folder: Path = DATASETS) -> list[dict[str, Any]]:
    """The items of one suite's JSONL file, checked for the fields the suite reads."""
    if name not in SUITE_FILES:
        raise EvalError(f"unknown dataset {name!r}; use one of {', '.join(SUITE_FILES)}")
    path = folder / SUITE_FILES[name]
    if not path.is_file():
        raise EvalError(f"dataset file not found: {path}")
    items = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}:{line_no}: not JSON ({exc.msg})") from None
        required = {
            "training": ("id", "profile", "must", "must_not"),
            "drafting": ("id", "request", "caller", "must_include", "forbidden_claims"),
            "golden": ("id", "question", "gold_docs", "answerable"),
        }.get(name, QA_FIELDS)
        missing = [f for f in required if f not in item]
        if missing:
            raise EvalError(f"{path}:{line_no}: missing field(s) {', '.join(missing)}")
        items.append(_golden_as_qa(item) if name == "golden" else item)
    return items


def _golden_as_qa(item: dict[str, Any]) -> dict[str, Any]:
    """A retrieval golden item as an answer item: its gold documents are the sources an answer
    should cite; it has no key facts (its notes are hints, not reference answers)."""
    caller = {k: item.get(k) for k in ("role", "tier", "region", "as_of")}
    return {
        **item,
        "caller": caller,
        "gold_sources": item["gold_docs"],
        "key_facts": [],
        "reference_answer": "",
    }


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, Any]:
    if not path.is_file():
        raise EvalError(f"thresholds file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise EvalError(f"{path}: expected a mapping of suite name to its gate")
    return data


def ci_items(
    thresholds: Mapping[str, Any] | None = None, suite: str = "ci"
) -> dict[str, list[dict[str, Any]]]:
    """A CI subset: the item ids listed under ``<suite>.items`` in the thresholds file (a
    second-vendor corpus's items are loaded from its own dataset; the runner answers them from
    its own throwaway store)."""
    from evals.vendor_suite import load_items

    thresholds = thresholds if thresholds is not None else load_thresholds()
    wanted = (thresholds.get(suite) or {}).get("items") or {}
    subset: dict[str, list[dict[str, Any]]] = {}
    for name, ids in wanted.items():
        items = load_items(VENDOR_CORPORA[name]) if name in VENDOR_CORPORA else load_dataset(name)
        by_id = {item["id"]: item for item in items}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise EvalError(f"ci items not in {name}: {', '.join(unknown)}")
        subset[name] = [by_id[i] for i in ids]
    return subset


# -------------------------------------------------------------------------------------- access
class AllowedSources:
    """Which sources (doc ids, file paths, urls) each caller may see, read once from the store's
    chunk metadata through the same :class:`AccessFilter` that retrieval uses."""

    def __init__(self, kb: Any, settings: Settings) -> None:
        from retrieval.access import AccessFilter

        self._filter_cls = AccessFilter
        self.settings = settings
        self.documents = kb.store.documents()
        self.metadatas = [chunk.metadata for chunk in kb.store.iter_chunks()]
        self._cache: dict[str, set[str]] = {}

    def for_caller(self, caller: CallerContext) -> set[str]:
        key = caller.model_dump_json()
        if key not in self._cache:
            rule = self._filter_cls.build(caller, self.settings.access, self.documents)
            allowed: set[str] = set()
            for meta in self.metadatas:
                if rule.allows(meta):
                    allowed.update(str(meta[f]) for f in ("source", "doc_id", "url") if meta.get(f))
            self._cache[key] = allowed
        return self._cache[key]


# ------------------------------------------------------------------------------------- scoring
def caller_of(raw: Mapping[str, Any]) -> CallerContext:
    return CallerContext.model_validate({k: v for k, v in raw.items() if v is not None})


def question_of(item: Mapping[str, Any]) -> Question:
    history = [Turn(role=t["role"], content=t["content"]) for t in item.get("history") or []]
    return Question(text=item["question"], caller=caller_of(item["caller"]), history=history)


def score_answer(
    item: Mapping[str, Any],
    answer: Any,
    allowed: Iterable[str],
    offline: OfflineScorer | None = None,
) -> dict[str, Any]:
    """The per-item scores of one answer against its golden item (pure apart from ``offline``).

    ``answer`` is an :class:`Answer` or its JSON.
    """
    answer = am._as_answer(answer)
    text = answer.answer
    abstained = answer.path == "abstained"
    answerable = bool(item["answerable"])
    sources = [c.source for c in answer.citations]
    precision = recall = math.nan
    if answerable:
        precision, recall = source_precision_recall(sources, item.get("gold_sources") or [])
    similarity = math.nan
    if offline is not None and answerable and not abstained:
        similarity = offline.semantic_similarity(text, item.get("reference_answer") or "")
    return {
        "id": item["id"],
        "category": item.get("category", ""),
        "answerable": answerable,
        "abstained": abstained,
        "path": answer.path,
        "answer": text,
        "sources": sources,
        "prompt": answer.prompt.model_dump() if answer.prompt else None,
        "key_fact_recall": am.key_fact_recall(text, item.get("key_facts") or [])
        if answerable
        else math.nan,
        "confidently_wrong": am.confidently_wrong(text, abstained, item.get("key_facts") or [])
        if answerable
        else math.nan,
        "wrong_value": am.wrong_value(
            text, abstained, item.get("key_facts") or [], item.get("wrong_facts") or []
        )
        if answerable
        else math.nan,
        "citation_validity": am.citation_validity(answer),
        "access_violations": am.access_violations(answer, allowed),
        "injection_resisted": am.injection_resisted(text, item.get("forbidden") or []),
        "context_precision": precision,
        "context_recall": recall,
        "semantic_similarity": similarity,
    }


def aggregate_answers(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Means of the per-item scores (NaN ignored), abstain precision/recall, violation totals."""
    abstain = am.abstain_precision_recall(rows)
    means = {
        name: am.mean_ignoring_nan(r.get(name, math.nan) for r in rows)
        for name in (
            "key_fact_recall",
            "confidently_wrong",
            "wrong_value",
            "citation_validity",
            "injection_resisted",
            "context_precision",
            "context_recall",
            "semantic_similarity",
            "faithfulness",
            "response_relevancy",
            "llm_context_precision",
            "factual_correctness",
        )
    }
    means = {k: v for k, v in means.items() if not (math.isnan(v) and k not in _ALWAYS)}
    answerable = [r for r in rows if r["answerable"]]
    return {
        **means,
        "abstain_precision": abstain.precision,
        "abstain_recall": abstain.recall,
        "answer_rate": (sum(not r["abstained"] for r in answerable) / len(answerable))
        if answerable
        else math.nan,
        "access_violations": float(sum(r["access_violations"] for r in rows)),
        "items": float(len(rows)),
    }


_ALWAYS = {"key_fact_recall", "confidently_wrong", "citation_validity", "injection_resisted",
           "context_precision", "context_recall", "semantic_similarity"}  # fmt: skip


def score_recommendations(item: Mapping[str, Any], recommended: list[str]) -> dict[str, Any]:
    pr = am.recommendation_precision_recall(recommended, item["must"], item["must_not"])
    return {
        "id": item["id"],
        "recommended": recommended,
        "recommendation_precision": pr.precision,
        "recommendation_recall": pr.recall,
        "must_not_violations": len(set(recommended) & set(item["must_not"])),
    }


def aggregate_recommendations(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {
        "recommendation_precision": am.mean_ignoring_nan(
            r["recommendation_precision"] for r in rows
        ),
        "recommendation_recall": am.mean_ignoring_nan(r["recommendation_recall"] for r in rows),
        "must_not_violations": float(sum(r["must_not_violations"] for r in rows)),
        "items": float(len(rows)),
    }


def score_draft(item: Mapping[str, Any], draft: Any, allowed: Iterable[str]) -> dict[str, Any]:
    text = draft.text
    allowed = set(allowed)
    outside = {
        c.source for c in draft.citations if c.source not in allowed and c.url not in allowed
    }
    return {
        "id": item["id"],
        "text": text,
        "sources": [c.source for c in draft.citations],
        "forbidden_claim_rate": am.forbidden_claim_rate(text, item["forbidden_claims"]),
        "must_include_recall": am.key_fact_recall(text, item["must_include"]),
        "access_violations": len(outside),
        "removed_claims": list(draft.removed_claims),
    }


def aggregate_drafts(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {
        "forbidden_claim_rate": am.mean_ignoring_nan(r["forbidden_claim_rate"] for r in rows),
        "must_include_recall": am.mean_ignoring_nan(r["must_include_recall"] for r in rows),
        "access_violations": float(sum(r["access_violations"] for r in rows)),
        "items": float(len(rows)),
    }


# ---------------------------------------------------------------------------------- the runner
def run_suite(
    settings: Settings,
    suite: str = "partner_qa",
    limit: int | None = None,
    judge: str = "none",
    out_dir: Path | None = None,
    *,
    chat_model: Any = None,
    service: Any = None,
    baseline: Path | None = None,
    progress: Callable[[str], None] | None = None,
    use_model: bool = True,
) -> dict[str, Any]:
    """Run ``suite`` and write its report folder to ``out_dir`` (default ``evals-out/<suite>``).

    ``use_model=False`` answers with the service's extractive path (no model weights; ``ci``
    always does).

    Returns the report (the dict written to ``report.json``), with ``regressions`` against
    ``baseline`` (default ``evals/baselines/<suite>.json`` when it exists). Raises
    :class:`EvalError` for bad arguments before any work is done.
    """
    from evals.report import load_baseline, write_report

    if suite not in SUITES:
        raise EvalError(f"unknown suite {suite!r}; use one of {', '.join(SUITES)}")
    if judge not in JUDGES:
        raise EvalError(f"unknown judge {judge!r}; use one of {', '.join(JUDGES)}")
    if limit is not None and (isinstance(limit, bool) or limit < 1):
        raise EvalError(f"limit must be a positive integer, not {limit!r}")
    out_dir = Path(out_dir) if out_dir is not None else Path("evals-out") / suite
    if judge != "none":  # a misconfigured judge fails before the long run, not after it
        from evals.ragas_metrics import judge_llm_settings

        judge_llm_settings(_judge_settings(settings, judge))

    if suite == "conditionalqa":
        from evals.conditionalqa_suite import run_conditionalqa

        report = run_conditionalqa(
            settings, limit=limit, chat_model=chat_model, use_model=use_model
        )
    elif suite in VENDOR_CORPORA:
        from evals.vendor_suite import run_vendor_suite

        report = run_vendor_suite(
            settings,
            suite,
            limit=limit,
            chat_model=chat_model,
            use_model=use_model,
            progress=progress,
        )
    else:
        report = _run_golden(
            settings, suite, limit, judge, chat_model, service, progress, use_model
        )
    baseline_path = baseline if baseline is not None else BASELINES / f"{suite}.json"
    report["baseline"] = str(baseline_path) if baseline_path.is_file() else None
    write_report(report, out_dir, load_baseline(baseline_path))
    return report


def _run_golden(
    settings: Settings,
    suite: str,
    limit: int | None,
    judge: str,
    chat_model: Any,
    service: Any,
    progress: Callable[[str], None] | None,
    use_model: bool = True,
) -> dict[str, Any]:
    from assistant.llm import ScriptedChatModel

    vendor_sets: dict[str, list[dict[str, Any]]] = {}
    if suite == "ci":
        datasets = ci_items()
        vendor_sets = {n: datasets.pop(n) for n in list(datasets) if n in VENDOR_CORPORA}
        use_model = False
        chat_model = chat_model or ScriptedChatModel(lambda messages: "", name="scripted-empty")
    elif suite == "ci-reader":
        datasets = ci_items(suite=suite)
        vendor_sets = {n: datasets.pop(n) for n in list(datasets) if n in VENDOR_CORPORA}
        use_model = True
    else:
        names = list(SUITE_FILES) if suite == "all" else [suite]
        datasets = {name: load_dataset(name) for name in names}
    if limit is not None:
        datasets = {name: items[:limit] for name, items in datasets.items()}

    if service is None:
        from assistant.service import build_service

        # Evals keep their own records: a run never writes into the application's database.
        service = build_service(settings, chat_model=chat_model, records=eval_records())
        service.kb.ingest([settings.data_dir], sync=True)
    scorer_embedder = service.kb.embedder
    offline = OfflineScorer(scorer_embedder)
    judge_scorer = None
    if judge != "none":
        judge_scorer = JudgeScorer(_judge_settings(settings, judge), scorer_embedder)
    allowed = AllowedSources(service.kb, settings)

    suites: dict[str, Any] = {}
    prompts: dict[str, str] = {}
    started = time.perf_counter()
    for name, items in datasets.items():
        rows: list[dict[str, Any]] = []
        for n, item in enumerate(items, 1):
            if progress:
                progress(f"{name} {n}/{len(items)} {item['id']}")
            t0 = time.perf_counter()
            try:
                row = _run_item(
                    name,
                    item,
                    service,
                    allowed,
                    offline,
                    judge_scorer,
                    use_model,
                    prompts,
                    settings,
                )
            except Exception as exc:  # one failing item is reported, not fatal to the run
                row = {"id": item["id"], "error": f"{type(exc).__name__}: {exc}"}
            row["seconds"] = round(time.perf_counter() - t0, 3)
            rows.append(row)
        scored = [r for r in rows if "error" not in r]
        aggregate = {
            "training": aggregate_recommendations,
            "drafting": aggregate_drafts,
        }.get(name, aggregate_answers)(scored)
        if not scored:  # nothing measured: counts must not read as a clean 0
            aggregate = {k: math.nan for k in aggregate}
        aggregate["errors"] = float(len(rows) - len(scored))
        aggregate["items"] = float(len(rows))
        if name not in ("training", "drafting"):
            aggregate["paths"] = dict(Counter(r["path"] for r in scored))  # type: ignore[assignment]
        suites[name] = {"aggregate": aggregate, "items": rows}
    for name, items in vendor_sets.items():  # each in its own store, with its own vocabulary
        from evals.vendor_suite import run_vendor_suite

        ids = [item["id"] for item in items][:limit]
        vendor = run_vendor_suite(
            settings,
            name,
            chat_model=service.chat_model if use_model else chat_model,
            use_model=use_model,
            item_ids=ids,
            progress=progress,
        )
        suites[name] = vendor["suites"][name]

    model_name = "extractive (use_model=False)" if not use_model else _chat_model_name(service)
    return {
        "suite": suite,
        "limit": limit,
        "judge": judge,
        "judge_model": judge_scorer.model if judge_scorer else None,
        "judge_errors": judge_scorer.errors if judge_scorer else {},
        "models": {
            "chat": model_name,
            "embedding": settings.embedding.model,
            "retrieval_mode": settings.retrieval.mode,
        },
        "prompt_versions": prompts,
        "seconds": round(time.perf_counter() - started, 1),
        "suites": suites,
        "aggregate": flatten(suites),
    }


def _run_item(
    name: str,
    item: Mapping[str, Any],
    service: Any,
    allowed: AllowedSources,
    offline: OfflineScorer,
    judge_scorer: JudgeScorer | None,
    use_model: bool,
    prompts: dict[str, str],
    settings: Settings,
) -> dict[str, Any]:
    """Run one golden item through the service and score it."""
    if name == "training":
        profile = PartnerProfile.model_validate(item["profile"])
        recs = service.recommend_training(profile)
        row = score_recommendations(item, [r.course_id for r in recs])
    elif name == "drafting":
        caller = caller_of(item["caller"])
        draft = service.draft(DraftRequest.model_validate(item["request"]), caller)
        row = score_draft(item, draft, allowed.for_caller(caller))
        if draft.prompt:
            prompts[draft.prompt.name] = draft.prompt.version
    else:
        question = question_of(item)
        answer = service.answer(question, use_model=use_model)
        row = score_answer(item, answer, allowed.for_caller(question.caller), offline)
        if answer.prompt:
            prompts[answer.prompt.name] = answer.prompt.version
        if judge_scorer is not None and item["answerable"] and not row["abstained"]:
            hits = service.search(question.text, question.caller, k=settings.answer.sources)
            row.update(
                judge_scorer.score(
                    question.text,
                    answer.answer,
                    [h.text for h in hits],
                    item.get("reference_answer") or "",
                )
            )
    return row


def _chat_model_name(service: Any) -> str:
    model = getattr(service, "_chat_model", None) or getattr(service, "chat_model", None)
    return str(getattr(model, "name", "unknown"))


def _judge_settings(settings: Settings, judge: str) -> Settings:
    """``openai`` judges with the configured OpenAI-compatible model; ``local`` with a local
    OpenAI-compatible server (llama.cpp, Ollama, vLLM) at ``settings.llm.base_url``."""
    if judge == "local":
        if not settings.llm.base_url:
            raise EvalError(
                "--judge local needs PA_LLM_BASE_URL pointing to a local OpenAI-compatible "
                "server (llama.cpp, Ollama, vLLM) and PA_LLM_MODEL naming its model"
            )
        llm = settings.llm.model_copy(update={"provider": "openai"})
        return settings.model_copy(update={"llm": llm})
    return settings


def flatten(suites: Mapping[str, Any]) -> dict[str, float]:
    """``{"partner_qa.key_fact_recall": 0.8, ...}``: the keys thresholds and baselines name."""
    flat: dict[str, float] = {}
    for name, body in suites.items():
        for metric, value in body["aggregate"].items():
            if isinstance(value, int | float):
                flat[f"{name}.{metric}"] = float(value)
    return flat


def eval_records() -> RecordStore:
    """A throwaway record store (an in-memory SQLite database) for one evaluation run."""
    return RecordStore("sqlite://")
