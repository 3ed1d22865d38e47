"""Channel managers through the API: the hand-off workflow, who may see and change what, the
conversation view, feedback (JSON and CSV) and insights. The real service over the sample
corpus; every route is tried without credentials, as a partner and as a manager."""

from __future__ import annotations

import csv
import io

import pytest
from api_helpers import ABSTAIN_QUESTION, ADMIN, MANAGER

from api.auth import Authenticator


def _bearer(auth, sub, **claims):
    return {"Authorization": "Bearer " + auth.issue_token(sub, **claims)}


@pytest.fixture
def rival(auth):
    return _bearer(auth, "rival", tier="gold", region="emea")


@pytest.fixture
def abstained(client, partner_headers):
    """An abstained answer the partner asked to hand to a person, with a comment."""
    answer = client.post(
        "/v1/chat", json={"question": ABSTAIN_QUESTION}, headers=partner_headers
    ).json()
    assert answer["path"] == "abstained" and answer["handoff_id"]
    receipt = client.post(
        "/v1/handoffs",
        json={"answer_id": answer["answer_id"], "comment": "Customer meeting on Monday"},
        headers=partner_headers,
    )
    assert receipt.status_code == 201
    return answer, receipt.json()


def test_requesting_a_handoff_gives_a_reference_and_the_expected_response_time(
    abstained, api_settings, client
):
    answer, receipt = abstained

    assert receipt["id"] == answer["handoff_id"]
    assert receipt["answer_id"] == answer["answer_id"]
    assert receipt["conversation_id"] == answer["conversation_id"]
    assert receipt["reference"] == "HO-" + receipt["id"][:8].upper()
    assert receipt["expected_response_hours"] == api_settings.handoff.response_hours
    assert receipt["status"] == "requested" and receipt["due_at"]
    assert receipt["comment"] == "Customer meeting on Monday"
    # Why the assistant did not answer is for the manager; the partner's receipt leaves it out.
    assert receipt["reason"] is None and receipt["evidence"]
    managed = client.get(f"/v1/handoffs/{receipt['id']}", headers=MANAGER).json()
    assert managed["reason"] == "no_source"
    assert [e["status"] for e in receipt["history"]] == ["offered", "requested"]
    assert receipt["history"][1]["by"] == "acme"


def test_manager_assigns_replies_and_closes_and_the_partner_reads_the_reply(
    client, abstained, partner_headers
):
    answer, receipt = abstained
    hid = receipt["id"]

    assigned = client.post(f"/v1/handoffs/{hid}/assign", json={}, headers=MANAGER)
    handed = client.post(f"/v1/handoffs/{hid}/assign", json={"assignee": "dana"}, headers=ADMIN)
    replied = client.post(
        f"/v1/handoffs/{hid}/reply", json={"text": "Jupiter is out of scope."}, headers=MANAGER
    )
    conversation = client.get(
        f"/v1/conversations/{answer['conversation_id']}", headers=partner_headers
    ).json()
    own = client.get(f"/v1/handoffs/{hid}", headers=partner_headers).json()
    closed = client.post(f"/v1/handoffs/{hid}/close", json={"note": "done"}, headers=MANAGER)

    assert assigned.json()["assignee"] == "channel_manager"
    assert handed.json()["assignee"] == "dana"
    assert replied.json()["status"] == "answered"
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant", "manager"]
    assert conversation["messages"][1]["answer"]["path"] == "abstained"
    assert conversation["messages"][2]["content"] == "Jupiter is out of scope."
    assert own["reply"] == "Jupiter is out of scope."
    assert closed.json()["status"] == "closed"
    assert [e["status"] for e in closed.json()["history"]] == [
        "offered",
        "requested",
        "assigned",
        "assigned",
        "answered",
        "closed",
    ]


def test_invalid_steps_are_409_with_the_reason(client, abstained):
    hid = abstained[1]["id"]
    client.post(f"/v1/handoffs/{hid}/close", json={}, headers=MANAGER)

    again = client.post(f"/v1/handoffs/{hid}/close", json={}, headers=MANAGER)
    late = client.post(f"/v1/handoffs/{hid}/reply", json={"text": "hi"}, headers=MANAGER)

    assert (again.status_code, again.json()["error"]) == (409, "conflict")
    assert "is closed" in again.json()["message"]
    assert late.status_code == 409


def test_blank_reply_is_422_and_unknown_handoff_404(client, abstained):
    hid = abstained[1]["id"]

    assert (
        client.post(f"/v1/handoffs/{hid}/reply", json={"text": " "}, headers=MANAGER).status_code
        == 422
    )
    assert client.post("/v1/handoffs/nope/close", json={}, headers=MANAGER).status_code == 404


MANAGER_ROUTES = [
    ("GET", "/v1/feedback", None),
    ("GET", "/v1/feedback?format=csv", None),
    ("GET", "/v1/insights", None),
    ("POST", "/v1/handoffs/{id}/assign", {}),
    ("POST", "/v1/handoffs/{id}/reply", {"text": "Hello"}),
    ("POST", "/v1/handoffs/{id}/close", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), MANAGER_ROUTES)
def test_manager_routes_refuse_anonymous_and_partners(
    client, abstained, partner_headers, method, path, body
):
    url = path.replace("{id}", abstained[1]["id"])

    anonymous = client.request(method, url, json=body)
    partner = client.request(method, url, json=body, headers=partner_headers)
    manager = client.request(method, url, json=body, headers=MANAGER)

    assert anonymous.status_code == 401
    assert partner.status_code == 403
    assert manager.status_code == 200, manager.text


def test_partners_list_and_see_only_their_own_handoffs(client, abstained, partner_headers, rival):
    hid = abstained[1]["id"]
    client.post("/v1/handoffs", json={"question": "Rival's question?"}, headers=rival)

    mine = client.get("/v1/handoffs", headers=partner_headers).json()
    theirs = client.get("/v1/handoffs", headers=rival).json()
    everyone = client.get("/v1/handoffs", headers=MANAGER).json()
    sneaky = client.get("/v1/handoffs?partner_id=acme", headers=rival).json()

    assert [h["id"] for h in mine["items"]] == [hid]
    assert [h["question"] for h in theirs["items"]] == ["Rival's question?"]
    assert everyone["total"] == 2
    assert [h["question"] for h in sneaky["items"]] == ["Rival's question?"]
    assert client.get(f"/v1/handoffs/{hid}", headers=rival).status_code == 404
    assert client.get(f"/v1/handoffs/{hid}", headers=partner_headers).status_code == 200
    assert client.get(f"/v1/handoffs/{hid}").status_code == 401


def test_conversation_is_for_its_owner_and_managers_only(client, abstained, partner_headers, rival):
    cid = abstained[0]["conversation_id"]

    assert client.get(f"/v1/conversations/{cid}", headers=partner_headers).status_code == 200
    assert client.get(f"/v1/conversations/{cid}", headers=MANAGER).status_code == 200
    assert client.get(f"/v1/conversations/{cid}", headers=rival).status_code == 404
    assert client.get(f"/v1/conversations/{cid}").status_code == 401
    assert client.get("/v1/conversations/nope", headers=MANAGER).status_code == 404


def test_handoff_list_filters_and_pages(client, partner_headers, auth):
    silver = _bearer(auth, "sil", tier="silver", region="na")
    for i in range(3):
        client.post("/v1/handoffs", json={"question": f"Gold {i}?"}, headers=partner_headers)
    client.post("/v1/handoffs", json={"question": "Silver?"}, headers=silver)

    page = client.get("/v1/handoffs?tier=gold&limit=2&offset=2", headers=MANAGER).json()
    na = client.get("/v1/handoffs?region=na", headers=MANAGER).json()
    partner = client.get("/v1/handoffs?partner_id=sil", headers=MANAGER).json()
    future = client.get("/v1/handoffs?since=2999-01-01", headers=MANAGER).json()
    bad = client.get("/v1/handoffs?status=lost", headers=MANAGER)

    assert (page["total"], len(page["items"]), page["offset"]) == (3, 1, 2)
    assert [h["question"] for h in na["items"]] == ["Silver?"]
    assert partner["total"] == 1 and future["total"] == 0
    assert bad.status_code == 422


def test_feedback_with_comment_is_readable_by_managers_as_json_and_csv(client, partner_headers):
    answer = client.post(
        "/v1/chat", json={"question": "How do I register a deal?"}, headers=partner_headers
    ).json()
    client.post(
        "/v1/feedback",
        json={"answer_id": answer["answer_id"], "rating": "down", "comment": "missing the form"},
        headers=partner_headers,
    )

    page = client.get("/v1/feedback?rating=down", headers=MANAGER).json()
    ups = client.get("/v1/feedback?rating=up", headers=MANAGER).json()
    exported = client.get("/v1/feedback?format=csv", headers=MANAGER)

    [item] = page["items"]
    assert item["question"] == "How do I register a deal?"
    assert item["comment"] == "missing the form"
    assert item["answer"]["path"] == answer["path"] and item["answer"]["citations"]
    assert item["caller"]["partner_id"] == "acme"
    assert ups["total"] == 0
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows[0]["comment"] == "missing the form" and rows[0]["tier"] == "gold"
    assert rows[0]["citations"].startswith("[1]")


def test_insights_report_the_abstention_as_a_topic_and_export_it(client, abstained):
    report = client.get("/v1/insights", headers=MANAGER).json()

    assert report["questions"] == 1 and report["abstained"] == 1
    assert report["handoffs_requested"] == 1
    [topic] = report["topics"]
    assert topic["name"] == ABSTAIN_QUESTION and topic["kind"] in {
        "missing_content",
        "restricted_content",
        "language",
        "retrieval_miss",
    }
    assert report["volume"][0]["answer_rate"] == 0.0
    exported = client.get("/v1/insights/topics/0/eval.jsonl", headers=MANAGER)
    assert exported.status_code == 200 and ABSTAIN_QUESTION in exported.text
    assert client.get("/v1/insights/topics/5/eval.jsonl", headers=MANAGER).status_code == 404


def test_named_api_key_names_the_manager_in_the_trail(api_settings):
    from pydantic import SecretStr

    settings = api_settings.model_copy(
        update={
            "auth": api_settings.auth.model_copy(
                update={"api_keys": [SecretStr("k1:channel_manager:alice")]}
            )
        }
    )
    caller = Authenticator(settings).caller_from_api_key("k1").caller

    assert (caller.role, caller.partner_id) == ("channel_manager", "alice")
    with pytest.raises(ValueError, match="key:role"):
        Authenticator(
            settings.model_copy(
                update={
                    "auth": settings.auth.model_copy(update={"api_keys": [SecretStr("k:boss")]})
                }
            )
        )


def test_dashboard_shell_is_served_without_data(client):
    page = client.get("/manage")

    assert page.status_code == 200 and "m-login-form" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "HO-" not in page.text
