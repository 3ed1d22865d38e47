"""ragas metrics, wired to our packaged embedding model and, optionally, to an LLM judge.

Two families, as the eval suite runs them:

- **Offline, always** (no LLM): :func:`source_precision_recall` scores the sources an answer cites
  against the item's gold sources with ragas' ``NonLLMContextPrecisionWithReference`` and
  ``NonLLMContextRecall``, comparing document ids by exact match (ragas' default Levenshtein
  similarity would call ``program/tier-benefits.md`` and ``program/tier-requirements.md`` the
  same document); :class:`OfflineScorer.semantic_similarity` is ragas' ``SemanticSimilarity``
  over :class:`PackagedEmbeddings`, the sentence-transformers model we ship, so nothing is
  downloaded.
- **LLM-judged, on request** (:class:`JudgeScorer`): faithfulness, response relevancy, LLM
  context precision and factual correctness, with a judge reached through the OpenAI wire format
  (``settings.llm.base_url`` and ``settings.llm.model``). The judge is a remote boundary, so its
  test uses the fake OpenAI server on loopback.

Every score is a float in [0, 1] or ``math.nan`` when undefined for the item (no gold source, no
reference answer, an abstention with nothing cited), never a made-up 0 or 1.
"""

from __future__ import annotations

import math
import typing as t
from collections.abc import Sequence

from assistant.settings import LLMSettings, Settings

# The judge metrics the suite reports, in report order.
JUDGE_METRICS = (
    "faithfulness",
    "response_relevancy",
    "llm_context_precision",
    "factual_correctness",
)


class JudgeNotConfiguredError(ValueError):
    """``--judge openai`` without an OpenAI-compatible endpoint or model to judge with."""


def doc_key(source: str) -> str:
    """The document a source names: catalog records ``training/catalog.yaml#PRG-FND-100`` are
    judged at file level, since citations name the file."""
    return source.split("#", 1)[0].strip().replace("\\", "/")


def same_doc(cited: str, gold: str) -> bool:
    """True when a cited source and a gold doc id name the same file (a citation may carry an
    absolute path ending in the gold id)."""
    cited, gold = doc_key(cited), doc_key(gold)
    return cited == gold or cited.endswith("/" + gold)


def cited_docs(sources: Sequence[str], gold: Sequence[str]) -> list[str]:
    """Cited sources in citation order, deduplicated, each mapped to its gold id when it names
    one (so an absolute path compares equal to the relative gold id)."""
    out: list[str] = []
    for source in sources:
        key = next((doc_key(g) for g in gold if same_doc(source, g)), doc_key(source))
        if key not in out:
            out.append(key)
    return out


def _exact_match_metric() -> t.Any:
    from ragas.metrics._string import ExactMatch

    return ExactMatch()


def source_precision_recall(cited: Sequence[str], gold: Sequence[str]) -> tuple[float, float]:
    """(context precision, context recall) of the cited documents against the gold documents.

    Precision is ragas' ranked average precision over the citations (NaN when nothing is cited:
    an abstention retrieved nothing to judge); recall the share of gold documents cited (NaN when
    the item has no gold sources).
    """
    from ragas.dataset_schema import SingleTurnSample
    from ragas.metrics._context_precision import NonLLMContextPrecisionWithReference
    from ragas.metrics._context_recall import NonLLMContextRecall

    reference = list(dict.fromkeys(doc_key(g) for g in gold if g.strip()))
    retrieved = cited_docs(cited, reference)
    if not reference:
        return math.nan, math.nan
    # Passed at construction: the default (Levenshtein) would need rapidfuzz and fuzzy ids.
    recall_metric = NonLLMContextRecall(_distance_measure=_exact_match_metric())
    sample = SingleTurnSample(retrieved_contexts=retrieved or [""], reference_contexts=reference)
    recall = float(recall_metric.single_turn_score(sample))
    if not retrieved:
        return math.nan, recall
    precision_metric = NonLLMContextPrecisionWithReference(distance_measure=_exact_match_metric())
    precision = float(precision_metric.single_turn_score(sample))
    return precision, recall


class PackagedEmbeddings:
    """ragas' embedding interface (``embed_text``/``aembed_text``) over our embedder, so ragas'
    ``SemanticSimilarity`` uses the model packaged in the wheel and never a hub model."""

    def __init__(self, embedder: t.Any) -> None:
        from ragas.embeddings.base import BaseRagasEmbedding

        outer = self

        class _Adapter(BaseRagasEmbedding):
            def embed_text(self, text: str, **kwargs: t.Any) -> list[float]:
                return [float(x) for x in outer.embedder.embed_query(text)]

            async def aembed_text(self, text: str, **kwargs: t.Any) -> list[float]:
                return self.embed_text(text)

        self.embedder = embedder
        self.ragas = _Adapter()


class OfflineScorer:
    """The offline ragas metrics that need a model: semantic similarity of answer and reference."""

    def __init__(self, embedder: t.Any) -> None:
        from ragas.metrics._answer_similarity import SemanticSimilarity

        self.metric = SemanticSimilarity(embeddings=PackagedEmbeddings(embedder).ragas)

    def semantic_similarity(self, response: str, reference: str) -> float:
        """Cosine similarity of the answer and the reference answer (NaN without a reference)."""
        from ragas.dataset_schema import SingleTurnSample

        if not reference.strip():
            return math.nan
        sample = SingleTurnSample(response=response or " ", reference=reference)
        return float(self.metric.single_turn_score(sample))


def judge_llm_settings(settings: Settings) -> LLMSettings:
    """The judge's settings: the product's LLM group, which must name an OpenAI-compatible
    endpoint (a local SmolLM2 is far too weak to judge, so ``local`` is refused)."""
    llm = settings.llm
    if llm.provider != "openai":
        raise JudgeNotConfiguredError(
            "the LLM judge needs PA_LLM_PROVIDER=openai with PA_LLM_MODEL (and PA_LLM_BASE_URL "
            "for a non-OpenAI server); run with --judge none for the offline metrics only"
        )
    if llm.base_url is None and llm.api_key is None:
        raise JudgeNotConfiguredError(
            "the LLM judge needs PA_LLM_API_KEY (api.openai.com) or PA_LLM_BASE_URL"
        )
    return llm


def ragas_llm(llm: LLMSettings) -> t.Any:
    """A ragas LLM over langchain-openai's ``ChatOpenAI`` for the configured endpoint."""
    import warnings

    from langchain_openai import ChatOpenAI
    from ragas.llms.base import LangchainLLMWrapper

    key = llm.api_key.get_secret_value() if llm.api_key else "not-needed"
    chat = ChatOpenAI(
        model=llm.model,
        base_url=llm.base_url,
        api_key=key,
        temperature=0.0,
        timeout=llm.timeout,
        max_retries=llm.max_retries,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return LangchainLLMWrapper(chat)


class JudgeScorer:
    """LLM-judged ragas metrics. ``metrics`` picks a subset of :data:`JUDGE_METRICS`.

    A metric that fails for an item (the judge returned unparsable JSON, timed out) scores NaN for
    that item and the failure is counted in ``errors``, so one bad reply never sinks a run.
    """

    def __init__(
        self,
        settings: Settings,
        embedder: t.Any,
        metrics: Sequence[str] = JUDGE_METRICS,
    ) -> None:
        from ragas.metrics._answer_relevance import ResponseRelevancy
        from ragas.metrics._context_precision import LLMContextPrecisionWithReference
        from ragas.metrics._factual_correctness import FactualCorrectness
        from ragas.metrics._faithfulness import Faithfulness

        unknown = set(metrics) - set(JUDGE_METRICS)
        if unknown:
            raise ValueError(f"unknown judge metrics {sorted(unknown)}; use {JUDGE_METRICS}")
        llm_settings = judge_llm_settings(settings)
        self.model = llm_settings.model
        llm = ragas_llm(llm_settings)
        builders = {
            "faithfulness": lambda: Faithfulness(llm=llm),
            "response_relevancy": lambda: ResponseRelevancy(
                llm=llm, embeddings=PackagedEmbeddings(embedder).ragas
            ),
            "llm_context_precision": lambda: LLMContextPrecisionWithReference(llm=llm),
            "factual_correctness": lambda: FactualCorrectness(llm=llm),
        }
        self.metrics: dict[str, t.Any] = {name: builders[name]() for name in metrics}
        self.errors: dict[str, int] = {}

    def score(
        self, question: str, response: str, contexts: Sequence[str], reference: str
    ) -> dict[str, float]:
        """Each configured metric for one answered item (NaN where an input is missing)."""
        from ragas.dataset_schema import SingleTurnSample

        sample = SingleTurnSample(
            user_input=question,
            response=response,
            retrieved_contexts=list(contexts),
            reference=reference or None,
        )
        needs = {
            "faithfulness": bool(contexts) and bool(response.strip()),
            "response_relevancy": bool(response.strip()),
            "llm_context_precision": bool(contexts) and bool(reference.strip()),
            "factual_correctness": bool(reference.strip()) and bool(response.strip()),
        }
        scores: dict[str, float] = {}
        for name, metric in self.metrics.items():
            if not needs[name]:
                scores[name] = math.nan
                continue
            try:
                value = float(metric.single_turn_score(sample))
            except Exception:  # a judge failure is a NaN for this item, counted
                self.errors[name] = self.errors.get(name, 0) + 1
                value = math.nan
            scores[name] = value
        return scores
