"""Insights on a seeded question log over the sample corpus, with the real embedding model:
topics found by clustering, each with the right kind of gap, volume per day, sentiment and the
export to evaluation questions. The question log is read from both backends (``db_url``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.insights import (
    InsightsFilters,
    classify,
    cluster,
    conversation_sentiment,
    corpus_languages,
    question_vectors,
)
from assistant.llm import ScriptedChatModel
from assistant.models import Answer, CallerContext
from assistant.records import LoggedQuestion, RecordStore
from assistant.service import build_service
from evals.suite import QA_FIELDS
from tests.helpers import CountingEmbedder

SILVER = CallerContext(role="partner", tier="silver", region="emea", partner_id="s1")
GOLD_DE = CallerContext(
    role="partner", tier="gold", region="emea", partner_id="g-de", language="de"
)
GOLD = CallerContext(role="partner", tier="gold", region="na", partner_id="g1")

SEEDED = {
    "language": (
        GOLD_DE,
        "abstained",
        [
            "Wie registriere ich einen Deal?",
            "Wie registriere ich einen neuen Deal im Portal?",
            "Wie lange ist meine Deal-Registrierung gültig?",
        ],
    ),
    "missing_content": (
        GOLD,
        "abstained",
        [
            "What are the requirements for the Diamond partner tier?",
            "How do we qualify for Diamond partner tier status?",
            "Which benefits come with the Diamond partner tier?",
        ],
    ),
    "restricted_content": (
        SILVER,
        "abstained",
        [
            "How much money can we get from the Platinum Innovation Fund?",
            "What amount does the Platinum Innovation Fund pay per year?",
            "How much funding does the Platinum Innovation Fund give?",
        ],
    ),
}


def test_cluster_groups_near_vectors_and_keeps_far_ones_apart():
    rng = np.random.default_rng(0)
    centres = np.eye(8, dtype=np.float32)[:3]
    points = np.vstack([c + 0.05 * rng.standard_normal((5, 8)) for c in centres])

    groups, centre_rows = cluster(points, threshold=0.8)

    assert sorted(sorted(g) for g in groups) == [
        list(range(0, 5)),
        list(range(5, 10)),
        list(range(10, 15)),
    ]
    assert all(c in g for g, c in zip(groups, centre_rows, strict=True))
    # Without room for the neighbour lists the same topics come out.
    assert cluster(points, threshold=0.8, max_pairs=0) == (groups, centre_rows)


def test_cluster_does_not_chain_through_intermediate_points():
    # Four points 30 degrees apart on an arc: each neighbour pair passes the threshold, so
    # single-link clustering would make one group of points 90 degrees apart.
    angles = np.radians([0, 30, 60, 90])
    points = np.stack([np.cos(angles), np.sin(angles)], axis=1)

    groups, centres = cluster(points, threshold=np.cos(np.radians(35)))

    assert len(groups) == 2
    assert not any({0, 3} <= set(g) for g in groups)
    for group, centre in zip(groups, centres, strict=True):
        assert all(points[i] @ points[centre] >= np.cos(np.radians(35)) for i in group)


def test_sentiment_lists_its_signals():
    def q(cid, rating=None, handoff=False, text="How do I register?"):
        return LoggedQuestion(
            answer_id=f"{cid}-{rating}-{handoff}",
            conversation_id=cid,
            question=text,
            path="extractive",
            created="2026-01-01T00:00:00+00:00",
            caller=GOLD,
            rating=rating,
            handoff_requested=handoff,
        )

    log = [q("c1", "up"), q("c2", "down"), q("c2", handoff=True), q("c3", text="Useless answer")]

    result = {s.conversation_id: s for s in conversation_sentiment(log, ["useless"])}

    assert (result["c1"].label, result["c1"].score) == ("positive", 1)
    assert (result["c2"].label, result["c2"].signals) == (
        "negative",
        ["thumbs down", "asked for a person"],
    )
    assert result["c3"].signals == ["said 'useless'"]


@pytest.fixture
def seeded(db_url, sample_kb, sample_settings):
    records = RecordStore(db_url)  # the question log on each backend
    service = build_service(
        sample_settings,
        chat_model=ScriptedChatModel(lambda m: "unused"),
        kb=sample_kb,
        records=records,
    )
    for caller, path, questions in SEEDED.values():
        for text in questions:
            cid = records.start_conversation(caller)
            records.save_answer(cid, text, Answer(answer="-", path=path))
    # Answered, but rated down: the documents partners see do cover it.
    for text in [
        "How long is a registered deal protected?",
        "For how long is a registered deal protected?",
        "How many days is a registered deal protected?",
    ]:
        cid = records.start_conversation(GOLD)
        saved = records.save_answer(cid, text, Answer(answer="-", path="extractive"))
        records.add_feedback(saved.answer_id, "down", "not what I asked")
    for text in ["What is deal registration?", "Who approves MDF requests?"]:
        cid = records.start_conversation(GOLD)
        saved = records.save_answer(cid, text, Answer(answer="-", path="extractive"))
        records.add_feedback(saved.answer_id, "up")
    yield service
    records.dispose()


def test_seeded_gaps_form_topics_of_the_right_kind(seeded):
    report = seeded.insights()

    kinds = {t.kind: t for t in report.topics}
    assert report.questions == 14 and report.abstained == 9
    assert report.answer_rate == pytest.approx(5 / 14, abs=1e-3)
    assert set(kinds) == {"language", "missing_content", "restricted_content", "retrieval_miss"}
    for kind, (caller, _, questions) in SEEDED.items():
        topic = kinds[kind]
        assert topic.size == 3, (kind, topic.examples)
        assert topic.name in questions and set(topic.examples) == set(questions)
        assert topic.by_tier == {caller.tier: 3} and topic.by_language == {caller.language: 3}
        assert topic.action and topic.why
    assert kinds["retrieval_miss"].thumbs_down == 3
    assert "diamond" in kinds["missing_content"].terms
    restricted = kinds["restricted_content"]
    assert any("platinum" in d.source for d in restricted.documents), restricted.documents
    assert [d.day for d in report.volume] and sum(d.questions for d in report.volume) == 14
    assert report.sentiment.counts["negative"] == 3 and report.sentiment.counts["positive"] == 2
    assert report.timings["cluster_s"] >= 0


def test_filters_narrow_the_window(seeded):
    report = seeded.insights(InsightsFilters(tier="silver"))

    assert report.questions == 3
    assert [t.kind for t in report.topics] == ["restricted_content"]


def test_a_gap_topic_exports_as_golden_eval_questions(seeded):
    report = seeded.insights()
    index = next(i for i, t in enumerate(report.topics) if t.kind == "missing_content")

    lines = [json.loads(x) for x in seeded.export_gap(index, version="2026.1").splitlines()]

    assert {item["question"] for item in lines} == set(SEEDED["missing_content"][2])
    assert all(set(QA_FIELDS) <= set(item) for item in lines)
    assert all(item["answerable"] and item["caller"]["tier"] == "gold" for item in lines)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Wo finde ich die aktuelle Preisliste für Händler?", "language"),
        ("What will the weather be like on Jupiter next Tuesday?", "missing_content"),
    ],
)
def test_foreign_words_are_a_language_gap_but_unknown_english_words_are_not(seeded, question, kind):
    asker = CallerContext(role="partner", tier="gold", region="na", language="en")

    found, why, _ = classify(seeded, question, [question], [asker], corpus_languages(seeded))

    assert found == kind, why


def test_each_question_is_embedded_once_and_its_vector_kept(seeded):
    counting = CountingEmbedder(seeded.kb.embedder)
    texts = ["How do I register a deal?", "Wie registriere ich einen Deal?"]

    first = question_vectors(seeded, texts, counting.embed_documents)
    second = question_vectors(seeded, [*texts, "A new question?"], counting.embed_documents)

    assert counting.embedded == [*texts, "A new question?"]
    np.testing.assert_allclose(first, second[:2], rtol=1e-6)
    assert second.shape == (3, first.shape[1])
