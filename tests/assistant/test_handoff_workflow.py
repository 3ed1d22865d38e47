"""The hand-off workflow, feedback for managers and the conversation view in `RecordStore`,
on both backends: a sqlite file and a temporary PostgreSQL database (the ``db_url`` fixture)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from assistant.models import Answer, CallerContext, Citation
from assistant.records import (
    FeedbackFilters,
    HandoffFilters,
    InvalidTransition,
    RecordNotFound,
    RecordStore,
)

ACME = CallerContext(role="partner", tier="gold", region="emea", partner_id="acme", language="de")
GLOBEX = CallerContext(role="partner", tier="silver", region="na", partner_id="globex")


@pytest.fixture
def records(db_url):
    store = RecordStore(db_url)
    yield store
    store.dispose()


def _answer(text="a", path="extractive", **extra) -> Answer:
    return Answer(answer=text, path=path, grounded=path != "abstained", **extra)


def test_full_workflow_records_who_and_when(records):
    offered = records.create_handoff("MDF rate for Select?", ACME, reason="access")
    requested = records.request_handoff(offered.id, by="acme", comment="urgent, deal closes Friday")
    assigned = records.assign_handoff(offered.id, by="alice", assignee="bob")
    answered = records.reply_handoff(offered.id, by="bob", text="It is 4% for Select.")
    closed = records.close_handoff(offered.id, by="bob", note="done")

    assert [requested.status, assigned.status, answered.status, closed.status] == [
        "requested",
        "assigned",
        "answered",
        "closed",
    ]
    assert [(e.status, e.by, e.note) for e in closed.history] == [
        ("offered", None, ""),
        ("requested", "acme", ""),
        ("assigned", "alice", "bob"),
        ("answered", "bob", "It is 4% for Select."),
        ("closed", "bob", "done"),
    ]
    assert all(e.at for e in closed.history)
    assert closed.assignee == "bob" and closed.reply == "It is 4% for Select."
    assert closed.comment == "urgent, deal closes Friday" and closed.reason == "access"
    assert closed.reference == "HO-" + closed.id[:8].upper()


def test_a_closed_handoff_cannot_be_replied_to_or_closed_again(records):
    handoff = records.create_handoff("q?", ACME, status="requested")
    records.close_handoff(handoff.id, by="alice")

    with pytest.raises(InvalidTransition, match="is closed; it cannot become answered"):
        records.reply_handoff(handoff.id, by="alice", text="late")
    with pytest.raises(InvalidTransition, match="cannot become closed"):
        records.close_handoff(handoff.id, by="alice")
    assert records.get_handoff(handoff.id).reply is None


def test_requested_cannot_jump_back_to_offered_or_be_answered_by_a_failed_step(records):
    handoff = records.create_handoff("q?", ACME)
    records.close_handoff(handoff.id)

    with pytest.raises(InvalidTransition):
        records.assign_handoff(handoff.id, by="alice")
    assert records.get_handoff(handoff.id).assignee is None  # nothing half-applied


def test_replying_to_an_unassigned_handoff_assigns_it_to_the_replier(records):
    handoff = records.create_handoff("q?", ACME, status="requested", by="acme")

    answered = records.reply_handoff(handoff.id, by="carol", text="Here you go.")

    assert answered.assignee == "carol"
    assert [e.status for e in answered.history][-2:] == ["assigned", "answered"]


def test_requesting_twice_keeps_one_requested_step(records):
    handoff = records.create_handoff("q?", ACME)
    records.request_handoff(handoff.id, by="acme", due_at="2030-01-01T00:00:00+00:00")
    again = records.request_handoff(handoff.id, by="acme", comment="any news?")

    assert [e.status for e in again.history] == ["offered", "requested"]
    assert again.comment == "any news?" and again.due_at.startswith("2030-01-01")


def test_blank_reply_and_unknown_handoff_are_refused(records):
    handoff = records.create_handoff("q?", ACME, status="requested")
    with pytest.raises(ValueError, match="blank"):
        records.reply_handoff(handoff.id, by="alice", text="   ")
    with pytest.raises(RecordNotFound):
        records.assign_handoff("nope", by="alice")


def test_filters_and_paging(records):
    for i in range(5):
        records.create_handoff(f"acme {i}?", ACME, status="requested")
    globex = records.create_handoff("globex?", GLOBEX)
    records.assign_handoff(globex.id, by="alice")

    gold = records.search_handoffs(HandoffFilters(tier="GOLD", limit=2))
    second = records.search_handoffs(HandoffFilters(tier="gold", limit=2, offset=2))
    na = records.search_handoffs(HandoffFilters(region="na"))
    mine = records.search_handoffs(HandoffFilters(assignee="alice"))
    partner = records.search_handoffs(HandoffFilters(partner_id="acme", status="requested"))
    today = date.today()
    in_range = records.search_handoffs(HandoffFilters(since=today, until=today))
    future = records.search_handoffs(HandoffFilters(since=today + timedelta(days=1)))

    assert (gold.total, len(gold.items)) == (5, 2)
    assert {h.id for h in gold.items}.isdisjoint({h.id for h in second.items})
    assert [h.question for h in na.items] == ["globex?"]
    assert [h.id for h in mine.items] == [globex.id]
    assert partner.total == 5
    assert in_range.total == 6 and future.total == 0


def test_conversation_shows_questions_answers_and_the_managers_reply(records):
    cid = records.start_conversation(ACME)
    saved = records.save_answer(cid, "MDF for Select?", _answer("I can't answer", "abstained"))
    handoff = records.create_handoff(
        "MDF for Select?", ACME, answer_id=saved.answer_id, conversation_id=cid
    )
    records.request_handoff(handoff.id, by="acme")
    records.reply_handoff(handoff.id, by="alice", text="4% of revenue.")

    conversation = records.get_conversation(cid)

    assert [(m.role, m.content) for m in conversation.messages] == [
        ("user", "MDF for Select?"),
        ("assistant", "I can't answer"),
        ("manager", "4% of revenue."),
    ]
    assert conversation.messages[1].answer.path == "abstained"
    assert conversation.messages[2].by == "alice"
    assert conversation.caller == ACME


def test_feedback_for_managers_carries_question_answer_and_filters(records):
    acme_cid = records.start_conversation(ACME)
    globex_cid = records.start_conversation(GLOBEX)
    cite = Citation(n=1, source="mdf.md", title="MDF")
    a1 = records.save_answer(acme_cid, "MDF?", _answer("MDF is 3% [1].", citations=[cite]))
    a2 = records.save_answer(globex_cid, "Rebates?", _answer("Rebates are quarterly."))
    records.add_feedback(a1.answer_id, "down", "outdated figure")
    records.add_feedback(a2.answer_id, "up")

    down = records.search_feedback(FeedbackFilters(rating="down"))
    silver = records.search_feedback(FeedbackFilters(tier="silver"))
    paged = records.search_feedback(FeedbackFilters(limit=1, offset=1))

    [item] = down.items
    assert (item.question, item.comment, item.answer.citations[0].source) == (
        "MDF?",
        "outdated figure",
        "mdf.md",
    )
    assert item.caller.partner_id == "acme" and item.answer.path == "extractive"
    assert [i.question for i in silver.items] == ["Rebates?"]
    assert paged.total == 2 and len(paged.items) == 1


def test_question_log_has_path_rating_and_requested_handoffs(records):
    cid = records.start_conversation(ACME)
    answered = records.save_answer(cid, "Deal?", _answer("Yes."))
    abstained = records.save_answer(cid, "Diamond tier?", _answer("No.", "abstained"))
    records.add_feedback(answered.answer_id, "down")
    handoff = records.create_handoff("Diamond tier?", ACME, answer_id=abstained.answer_id)
    records.request_handoff(handoff.id)

    log = {q.question: q for q in records.question_log()}

    assert log["Deal?"].path == "extractive" and log["Deal?"].rating == "down"
    assert log["Diamond tier?"].path == "abstained" and log["Diamond tier?"].handoff_requested
    assert log["Deal?"].caller.language == "de"
    assert records.question_log(tier="silver") == []
    assert len(records.question_log(limit=1)) == 1
