"""ragas metrics over our embedder and, for the judge, the fake OpenAI server on loopback."""

from __future__ import annotations

import json
import math

import pytest

from assistant.settings import LLMSettings
from evals.ragas_metrics import (
    JudgeNotConfiguredError,
    JudgeScorer,
    OfflineScorer,
    source_precision_recall,
)
from tests.fakes.openai_server import fake_openai  # noqa: F401
from tests.helpers import make_settings


def test_citing_only_the_gold_source_scores_full_precision_and_recall():
    precision, recall = source_precision_recall(
        ["program/deal-registration-2026.md"], ["program/deal-registration-2026.md"]
    )
    assert precision == pytest.approx(1.0)
    assert recall == pytest.approx(1.0)


def test_a_wrong_source_cited_first_halves_precision():
    precision, recall = source_precision_recall(
        ["program/tier-benefits.md", "program/tier-requirements.md"],
        ["program/tier-requirements.md"],
    )
    assert precision == pytest.approx(0.5)
    assert recall == pytest.approx(1.0)


def test_similar_file_names_are_different_documents():
    precision, recall = source_precision_recall(
        ["program/tier-benefits.md"], ["program/tier-requirements.md"]
    )
    assert precision == pytest.approx(0.0)
    assert recall == 0.0


def test_catalog_records_and_absolute_paths_match_their_file():
    _, recall = source_precision_recall(
        ["/srv/data/training/catalog.yaml"], ["training/catalog.yaml#PRG-FND-100"]
    )
    assert recall == 1.0


def test_nothing_cited_leaves_precision_undefined_and_recall_zero():
    precision, recall = source_precision_recall([], ["program/mdf-rules.md"])
    assert math.isnan(precision)
    assert recall == 0.0


def test_no_gold_sources_leaves_both_undefined():
    assert all(math.isnan(v) for v in source_precision_recall(["program/mdf-rules.md"], []))


def test_semantic_similarity_ranks_the_right_answer_above_an_unrelated_one(embedder):
    scorer = OfflineScorer(embedder)
    reference = "An approved registration is protected for 120 days."
    right = scorer.semantic_similarity("Registrations are protected for 120 days.", reference)
    unrelated = scorer.semantic_similarity("The Flow Edge 200 costs 1,450 USD.", reference)
    assert right > unrelated


def test_semantic_similarity_is_undefined_without_a_reference(embedder):
    assert math.isnan(OfflineScorer(embedder).semantic_similarity("anything", ""))


def test_judge_refuses_the_local_provider(embedder, tmp_path):
    with pytest.raises(JudgeNotConfiguredError, match="PA_LLM_PROVIDER=openai"):
        JudgeScorer(make_settings(tmp_path), embedder, metrics=["faithfulness"])


def _judge(verdict: int):
    """A judge that splits any answer into one statement and gives it ``verdict``."""

    def reply(body: dict) -> str:
        prompt = body["messages"][-1]["content"]
        if "judge the faithfulness" in prompt:
            return json.dumps(
                {"statements": [{"statement": "s", "reason": "r", "verdict": verdict}]}
            )
        return json.dumps({"statements": ["Deal registrations are protected for 120 days."]})

    return reply


def _judge_settings(tmp_path, base_url):
    settings = make_settings(tmp_path)
    llm = LLMSettings(provider="openai", base_url=base_url, model="judge-model", max_retries=0)
    return settings.model_copy(update={"llm": llm})


@pytest.mark.parametrize("verdict", [1, 0])
def test_judge_faithfulness_follows_the_judges_verdicts(fake_openai, embedder, tmp_path, verdict):  # noqa: F811
    fake_openai.reply = _judge(verdict)
    scorer = JudgeScorer(
        _judge_settings(tmp_path, fake_openai.base_url), embedder, metrics=["faithfulness"]
    )
    scores = scorer.score(
        "How long is a registration protected?",
        "Registrations are protected for 120 days [1].",
        ["An approved registration is protected for 120 days from approval."],
        "120 days.",
    )
    assert scores["faithfulness"] == pytest.approx(float(verdict))
    assert fake_openai.chat_requests[-1].json["model"] == "judge-model"


def test_judge_failure_scores_nan_and_is_counted(fake_openai, embedder, tmp_path):  # noqa: F811
    fake_openai.reply = "this is not JSON"
    scorer = JudgeScorer(
        _judge_settings(tmp_path, fake_openai.base_url), embedder, metrics=["faithfulness"]
    )
    scores = scorer.score("q?", "an answer", ["a context"], "ref")
    assert math.isnan(scores["faithfulness"])
    assert scorer.errors == {"faithfulness": 1}
