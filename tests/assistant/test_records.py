"""`RecordStore` on both backends: a sqlite file in tmp_path and a temporary PostgreSQL database
(the ``db_url`` fixture)."""

from __future__ import annotations

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
