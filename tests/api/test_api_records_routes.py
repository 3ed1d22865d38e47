"""Feedback and hand-offs through the API end up in the `RecordStore`."""

from __future__ import annotations

from api_helpers import MANAGER


def _answer(client, headers, question="How do I register a deal?"):
    return client.post("/v1/chat", json={"question": question}, headers=headers).json()


def test_feedback_is_stored(client, partner_headers, app):
    answer = _answer(client, partner_headers)

    response = client.post(
        "/v1/feedback",
        json={"answer_id": answer["answer_id"], "rating": "down", "comment": "outdated"},
        headers=partner_headers,
    )

    assert response.status_code == 201
    [stored] = app.state.records.list_feedback(answer["answer_id"])
    assert (stored.rating, stored.comment) == ("down", "outdated")


def test_feedback_with_bad_rating_is_422(client, partner_headers):
    answer = _answer(client, partner_headers)

    response = client.post(
        "/v1/feedback",
        json={"answer_id": answer["answer_id"], "rating": "meh"},
        headers=partner_headers,
    )

    assert response.status_code == 422


def test_feedback_on_unknown_answer_is_404(client, partner_headers):
    response = client.post(
        "/v1/feedback", json={"answer_id": "nope", "rating": "up"}, headers=partner_headers
    )

    assert response.status_code == 404


def test_feedback_on_another_partners_answer_is_404(client, partner_headers, auth):
    answer = _answer(client, partner_headers)
    other = {"Authorization": "Bearer " + auth.issue_token("rival", tier="gold", region="emea")}

    response = client.post(
        "/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "up"}, headers=other
    )

    assert response.status_code == 404


def test_handoff_from_question_is_listed_for_managers(client, partner_headers):
    created = client.post(
        "/v1/handoffs", json={"question": "Can I get an MDF exception?"}, headers=partner_headers
    )

    listed = client.get("/v1/handoffs", headers=MANAGER).json()

    assert created.status_code == 201
    assert created.json()["caller"]["partner_id"] == "acme"
    assert [h["id"] for h in listed["items"]] == [created.json()["id"]]
    assert listed["total"] == 1


def test_handoff_from_answer_carries_its_question(client, partner_headers):
    answer = _answer(client, partner_headers, "How do I register a deal?")

    created = client.post(
        "/v1/handoffs", json={"answer_id": answer["answer_id"]}, headers=partner_headers
    ).json()

    assert created["question"] == "How do I register a deal?"
    assert created["answer_id"] == answer["answer_id"]
    assert created["status"] == "requested"


def test_handoff_without_question_or_answer_is_422(client, partner_headers):
    assert client.post("/v1/handoffs", json={}, headers=partner_headers).status_code == 422


def test_handoffs_filter_by_status(client, partner_headers):
    client.post("/v1/handoffs", json={"question": "Help?"}, headers=partner_headers)

    closed = client.get("/v1/handoffs?status=closed", headers=MANAGER).json()
    requested = client.get("/v1/handoffs?status=requested", headers=MANAGER).json()

    assert closed["items"] == [] and closed["total"] == 0
    assert [h["question"] for h in requested["items"]] == ["Help?"]
