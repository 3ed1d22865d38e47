"""``GET /v1/conversations/{id}``: the caller's own conversation, read back after a reload."""

from __future__ import annotations


def _ask(client, headers, question, conversation_id=None):
    body = {"question": question}
    if conversation_id:
        body["conversation_id"] = conversation_id
    return client.post("/v1/chat", json=body, headers=headers).json()


def test_conversation_lists_questions_and_answers_in_order(client, partner_headers):
    first = _ask(client, partner_headers, "How do I register a deal?")
    second = _ask(client, partner_headers, "How long is it valid?", first["conversation_id"])

    response = client.get(f"/v1/conversations/{first['conversation_id']}", headers=partner_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == first["conversation_id"]
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("user", "How do I register a deal?"),
        ("assistant", first["answer"]),
        ("user", "How long is it valid?"),
        ("assistant", second["answer"]),
    ]
    assert body["messages"][1]["answer"]["answer_id"] == first["answer_id"]
    assert body["messages"][1]["answer"]["citations"] == first["citations"]
    assert all(m["created_at"] for m in body["messages"])


def test_another_partners_conversation_is_404(client, partner_headers, auth):
    first = _ask(client, partner_headers, "How do I register a deal?")
    other = {"Authorization": "Bearer " + auth.issue_token("rival", tier="gold", region="emea")}

    response = client.get(f"/v1/conversations/{first['conversation_id']}", headers=other)

    assert response.status_code == 404


def test_unknown_conversation_is_404_and_a_bad_id_is_422(client, partner_headers):
    assert client.get("/v1/conversations/nope", headers=partner_headers).status_code == 404
    assert client.get("/v1/conversations/a%20b", headers=partner_headers).status_code == 422


def test_conversation_needs_a_caller(client):
    assert client.get("/v1/conversations/anything").status_code == 401
