"""Who owns a conversation: the identity that started it (a token's issuer and subject, or one
API key), never a role; and a conversation keeps the access it was started with."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app

QUESTION = "How do I register a deal?"


def _ask(client, headers, question=QUESTION, conversation_id=None):
    body = {"question": question}
    if conversation_id:
        body["conversation_id"] = conversation_id
    return client.post("/v1/chat", json=body, headers=headers)


def _bearer(auth, sub, **claims):
    return {"Authorization": "Bearer " + auth.issue_token(sub, **claims)}


@pytest.fixture(params=["named", "unnamed"])
def managers(request, api_settings, api_service):
    """A client and two manager keys of the same role (named as people, or not named)."""
    names = [":alice", ":bob"] if request.param == "named" else ["", ""]
    keys = [SecretStr(f"mgr-key-{i}:channel_manager{name}") for i, name in enumerate(names, 1)]
    auth = api_settings.auth.model_copy(update={"api_keys": keys})
    app = create_app(api_settings.model_copy(update={"auth": auth}), service=api_service)
    with TestClient(app) as client:
        yield client, {"X-API-Key": "mgr-key-1"}, {"X-API-Key": "mgr-key-2"}


def test_a_manager_key_continues_its_own_conversation(managers):
    client, first, _ = managers
    started = _ask(client, first).json()

    assert _ask(client, first, "And for gold?", started["conversation_id"]).status_code == 200


def test_a_second_manager_key_cannot_continue_the_first_keys_conversation(managers):
    client, first, second = managers
    started = _ask(client, first).json()

    response = _ask(client, second, "What did they ask?", started["conversation_id"])

    assert response.status_code == 404


def test_a_second_manager_key_cannot_rate_the_first_keys_answer(managers):
    client, first, second = managers
    answer = _ask(client, first).json()

    response = client.post(
        "/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "down"}, headers=second
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    "changed", [{"tier": "silver", "region": "emea"}, {"tier": "gold", "region": "na"}]
)
def test_the_same_subject_with_other_access_cannot_continue(client, auth, changed):
    started = _ask(client, _bearer(auth, "acme", tier="gold", region="emea")).json()

    response = _ask(
        client, _bearer(auth, "acme", **changed), "And the rebates?", started["conversation_id"]
    )

    assert response.status_code == 403
    assert "new conversation" in response.json()["message"]


def test_the_same_subject_from_the_demo_issuer_is_another_identity(client, auth):
    page = client.get("/?tier=gold&region=emea").text
    demo = {"Authorization": "Bearer " + page.split('data-token="')[1].split('"')[0]}
    started = _ask(client, _bearer(auth, "demo-partner", tier="gold", region="emea")).json()

    assert _ask(client, demo, "And for gold?", started["conversation_id"]).status_code == 404
