"""`RecordStore` on both backends: a sqlite file in tmp_path and a temporary PostgreSQL database
(the ``db_url`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from assistant.models import Answer, CallerContext, Citation
from assistant.records import RecordNotFound, RecordStore

PARTNER = CallerContext(role="partner", tier="gold", region="emea", partner_id="p-1")


@pytest.fixture
def records(db_url):
    store = RecordStore(db_url)
    yield store
    store.dispose()


def _answer(text: str, **extra) -> Answer:
    return Answer(answer=text, path="generated", grounded=True, **extra)


def test_history_lists_turns_in_order(records):
    cid = records.start_conversation(PARTNER)
    records.save_answer(cid, "first?", _answer("one"))
    records.save_answer(cid, "second?", _answer("two"))

    history = records.get_conversation_history(cid)

    assert [(t.role, t.content) for t in history] == [
        ("user", "first?"),
        ("assistant", "one"),
        ("user", "second?"),
        ("assistant", "two"),
    ]


def test_history_max_turns_keeps_the_latest(records):
    cid = records.start_conversation(PARTNER)
    records.save_answer(cid, "first?", _answer("one"))
    records.save_answer(cid, "second?", _answer("two"))

    assert [t.content for t in records.get_conversation_history(cid, max_turns=2)] == [
        "second?",
        "two",
    ]


def test_save_answer_assigns_an_id_and_is_idempotent(records):
    cid = records.start_conversation(PARTNER)
    saved = records.save_answer(cid, "q?", _answer("a"))
    records.save_answer(cid, "q?", saved)

    assert saved.answer_id
    assert len(records.get_conversation_history(cid)) == 2
    assert records.get_answer(saved.answer_id).answer.answer == "a"


def test_conversation_remembers_its_caller(records):
    cid = records.start_conversation(PARTNER)

    assert records.get_conversation_caller(cid) == PARTNER


def test_unknown_conversation_raises_not_found(records):
    with pytest.raises(RecordNotFound):
        records.get_conversation_history("nope")


def test_feedback_is_stored_for_an_answer(records):
    saved = records.save_answer(None, "q?", _answer("a"))
    records.add_feedback(saved.answer_id, "down", "wrong tier")

    [feedback] = records.list_feedback(saved.answer_id)
    assert (feedback.rating, feedback.comment) == ("down", "wrong tier")


def test_feedback_on_unknown_answer_raises_not_found(records):
    with pytest.raises(RecordNotFound):
        records.add_feedback("missing", "up")


def test_handoff_moves_from_offered_to_requested(records):
    cite = Citation(n=1, source="deal-reg.md", title="Deal registration", page=3)
    offered = records.create_handoff("q?", PARTNER, [cite], answer_id="a-1", conversation_id="c")

    requested = records.request_handoff(offered.id)

    assert offered.status == "offered"
    assert requested.status == "requested"
    assert requested.evidence == [cite]
    assert records.find_handoff_for_answer("a-1").id == offered.id


def test_list_handoffs_filters_by_status(records):
    first = records.create_handoff("one?", PARTNER)
    records.create_handoff("two?", PARTNER)
    records.request_handoff(first.id)

    assert [h.question for h in records.list_handoffs(status="requested")] == ["one?"]
    assert len(records.list_handoffs()) == 2


def test_restart_loses_nothing(db_url):
    store = RecordStore(db_url)
    cid = store.start_conversation(PARTNER)
    saved = store.save_answer(cid, "q?", _answer("a", citations=[Citation(n=1, source="s")]))
    store.add_feedback(saved.answer_id, "up")
    handoff = store.create_handoff("q?", PARTNER, answer_id=saved.answer_id)
    store.dispose()

    reopened = RecordStore(db_url)
    try:
        assert [t.content for t in reopened.get_conversation_history(cid)] == ["q?", "a"]
        assert reopened.get_answer(saved.answer_id).answer.citations[0].source == "s"
        assert reopened.list_feedback(saved.answer_id)[0].rating == "up"
        assert reopened.get_handoff(handoff.id).caller == PARTNER
    finally:
        reopened.dispose()


def test_in_memory_url_keeps_tables_across_calls():
    store = RecordStore("sqlite://")
    cid = store.start_conversation(PARTNER)

    assert store.get_conversation_history(cid) == []


def test_instants_are_stored_and_given_back_in_utc(records):
    cid = records.start_conversation(PARTNER)
    saved = records.save_answer(cid, "q?", _answer("a"))
    handoff = records.create_handoff(
        "q?", PARTNER, answer_id=saved.answer_id, due_at="2030-01-01T09:00:00+02:00"
    )

    created = datetime.fromisoformat(records.get_answer(saved.answer_id).created)
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)
    assert records.get_handoff(handoff.id).due_at == "2030-01-01T07:00:00+00:00"


def test_a_due_date_without_an_offset_is_refused(records):
    offered = records.create_handoff("q?", PARTNER)

    with pytest.raises(ValueError, match="UTC offset"):
        records.request_handoff(offered.id, due_at="2030-01-01T09:00:00")
    with pytest.raises(ValueError, match="ISO 8601"):
        records.create_handoff("q?", PARTNER, due_at="next friday")
    assert records.get_handoff(offered.id).status == "offered"


def test_question_log_window_is_by_utc_day_and_reads_path_rating_and_handoff(records):
    cid = records.start_conversation(PARTNER)
    answered = records.save_answer(cid, "one?", _answer("a"))
    abstained = records.save_answer(cid, "two?", Answer(answer="-", path="abstained"))
    records.add_feedback(answered.answer_id, "down")
    offered = records.create_handoff("two?", PARTNER, answer_id=abstained.answer_id)
    records.request_handoff(offered.id)
    today = datetime.now(UTC).date()

    log = records.question_log(since=today, until=today, tier="GOLD")

    assert [(q.question, q.path, q.rating, q.handoff_requested) for q in log] == [
        ("two?", "abstained", None, True),
        ("one?", "generated", "down", False),
    ]
    assert log[0].caller == PARTNER
    assert records.question_log(until=today - timedelta(days=1)) == []
    assert records.question_log(tier="silver") == []


def test_question_vectors_are_kept_per_model(records):
    vector = np.array([0.25, -1.0, 3.5], dtype="<f4")
    records.store_vectors("model-a", {"How do I register?": vector})
    records.store_vectors("model-a", {"How do I register?": vector * 2})  # replaced, not added

    found = records.cached_vectors("model-a", ["How do I register?", "Unknown?"])

    assert list(found) == ["How do I register?"]
    assert np.array_equal(found["How do I register?"], vector * 2)
    assert records.cached_vectors("model-b", ["How do I register?"]) == {}
