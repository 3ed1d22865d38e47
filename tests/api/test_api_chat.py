"""``POST /v1/chat``: JSON and Server-Sent Events, with the history kept on the server."""

from __future__ import annotations

from api_helpers import parse_sse

from assistant.models import Answer


def _ask(client, headers, question, conversation_id=None, stream=False):
    body = {"question": question}
    if conversation_id:
        body["conversation_id"] = conversation_id
    if stream:
        headers = {**headers, "Accept": "text/event-stream"}
    return client.post("/v1/chat", json=body, headers=headers)


def test_chat_returns_answer_json_with_conversation_id(client, partner_headers):
    response = _ask(client, partner_headers, "How do I register a deal?")

    assert response.status_code == 200
    body = response.json()
    Answer.model_validate(body)
    assert body["conversation_id"]
    assert body["answer_id"]


def test_sse_sends_progress_then_tokens_then_citations_then_final(client, partner_headers):
    response = _ask(client, partner_headers, "How do I register a deal?", stream=True)

    assert response.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in parse_sse(response.text)]
    assert names[0] == "progress" and "token" in names
    assert names.index("token") > names.index("progress")
    assert names[-2:] == ["citations", "final"]
    assert set(names[:-2]) == {"progress", "token"}


def test_sse_tokens_add_up_to_the_final_answer(client, partner_headers):
    events = parse_sse(_ask(client, partner_headers, "How do I register a deal?", stream=True).text)

    streamed = "".join(data["text"] for name, data in events if name == "token")
    final = events[-1][1]
    assert streamed.strip() == final["answer"].strip()
    assert final["conversation_id"] and final["answer_id"]


def test_follow_up_reads_history_from_the_stored_conversation(client, partner_headers, app):
    first = _ask(client, partner_headers, "How do I register a deal?").json()

    _ask(client, partner_headers, "And how long is it valid?", first["conversation_id"])

    history = app.state.records.get_conversation_history(first["conversation_id"])
    assert [t.content for t in history if t.role == "user"] == [
        "How do I register a deal?",
        "And how long is it valid?",
    ]


def test_follow_up_is_read_in_the_light_of_the_stored_history(client, partner_headers):
    first = _ask(client, partner_headers, "How do I register a deal?").json()

    second = _ask(client, partner_headers, "And how long is it valid?", first["conversation_id"])

    assert "deal" in (second.json()["standalone_question"] or "").lower()


def test_streamed_answer_is_stored_under_its_conversation(client, partner_headers, app):
    events = parse_sse(_ask(client, partner_headers, "How do I register a deal?", stream=True).text)
    final = events[-1][1]

    stored = app.state.records.get_answer(final["answer_id"])
    assert stored.conversation_id == final["conversation_id"]


def test_unknown_conversation_is_404(client, partner_headers):
    response = _ask(client, partner_headers, "Hi?", conversation_id="doesnotexist")

    assert response.status_code == 404


def test_another_partners_conversation_is_404(client, partner_headers, auth):
    first = _ask(client, partner_headers, "How do I register a deal?").json()
    other = {"Authorization": "Bearer " + auth.issue_token("rival", tier="gold", region="emea")}

    response = _ask(client, other, "What did they ask?", first["conversation_id"])

    assert response.status_code == 404


def test_blank_question_is_422_with_a_message(client, partner_headers):
    response = _ask(client, partner_headers, "   ")

    assert response.status_code == 422
    assert response.json()["message"].startswith("body.question")


def test_a_nul_character_is_422_with_a_message(client, partner_headers):
    # PostgreSQL cannot store NUL in text: refused at the door, never a 500 from the database.
    response = _ask(client, partner_headers, "How long is a deal\x00 protected?")

    assert response.status_code == 422
    assert "NUL" in response.json()["message"]


def test_malformed_json_is_422_not_500(client, partner_headers):
    response = client.post(
        "/v1/chat",
        content=b"{not json",
        headers={**partner_headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def _rows(app, table):
    from sqlalchemy import text

    with app.state.records.engine.connect() as connection:
        return connection.execute(text(f"select count(*) from {table}")).scalar()


def test_an_answer_is_saved_once_by_the_service_whichever_way_it_is_asked(
    client, partner_headers, app
):
    before = _rows(app, "messages")
    _ask(client, partner_headers, "How do I register a deal?")
    _ask(client, partner_headers, "How do I register a deal?", stream=True)
    assert _rows(app, "messages") == before + 2


def test_a_request_refused_by_the_full_queue_writes_nothing(client, partner_headers, app):
    before = (_rows(app, "conversations"), _rows(app, "messages"))
    queue = app.state.answer_queue
    held = [queue.reserve() for _ in range(queue.capacity)]
    try:
        response = _ask(client, partner_headers, "How do I register a deal?")
    finally:
        for ticket in held:
            ticket.release()
    assert response.status_code == 503
    assert (_rows(app, "conversations"), _rows(app, "messages")) == before


def test_the_schema_says_which_fields_are_plain_text(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    chat = schemas["ChatResponse"]["properties"]
    citation_ref = chat["citations"]["items"]["$ref"].rsplit("/", 1)[-1]
    citation = schemas[citation_ref]["properties"]
    hits = schemas["SearchResponse"]["properties"]["hits"]

    for field in (chat["answer"], citation["title"], citation["section"], citation["quote"], hits):
        assert "plain text" in field["description"].lower(), field
    assert "http" in citation["url"]["description"]
