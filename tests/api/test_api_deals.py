"""``/v1/deals`` and ``/v1/onboarding`` over the sample corpus: identity from the token only,
partners see only their own registrations, managers review, onboarding from the join claim."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from api_helpers import MANAGER

DEAL = {
    "customer": "Contoso",
    "customer_domain": "contoso.example",
    "region": "emea",
    "first_year_value": 25000,
    "currency": "USD",
    "kind": "new",
    "proposal_sent": False,
    "products": ["Altaris Guard"],
}


def bearer(auth, sub, tier="gold", region="emea", **claims):
    return {"Authorization": "Bearer " + auth.issue_token(sub, tier=tier, region=region, **claims)}


def test_precheck_gives_a_cited_verdict_under_the_sample_rule(client, partner_headers):
    response = client.post("/v1/deals/precheck", json=DEAL, headers=partner_headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {
        "eligible",
        "checks",
        "protection_days",
        "extension_days",
        "approval_business_days",
        "conflicts",
        "rule",
    }
    assert body["eligible"] is True
    assert (body["protection_days"], body["extension_days"], body["approval_business_days"]) == (
        120,
        60,
        2,
    )
    assert body["rule"]["source"] == "program/deal-registration-2026.md"
    minimum = next(c for c in body["checks"] if c["id"] == "minimum_value")
    assert minimum["citation"]["section"].endswith("Eligibility > Which deals qualify")
    assert "15,000 USD" in minimum["detail"]


def test_precheck_on_an_earlier_date_uses_the_2025_rule(client, partner_headers):
    small = {**DEAL, "first_year_value": 12000}
    now = client.post("/v1/deals/precheck", json=small, headers=partner_headers).json()
    then = client.post(
        "/v1/deals/precheck?as_of=2025-06-01", json=small, headers=partner_headers
    ).json()
    assert now["eligible"] is False and then["eligible"] is True
    assert then["rule"]["version"] == "2025.1" and then["protection_days"] == 90


def test_a_euro_deal_cannot_be_compared_with_a_dollar_minimum(client, partner_headers):
    body = client.post(
        "/v1/deals/precheck", json={**DEAL, "currency": "EUR"}, headers=partner_headers
    ).json()
    minimum = next(c for c in body["checks"] if c["id"] == "minimum_value")
    assert body["eligible"] is False and minimum["detail"].startswith("Cannot compare")


@pytest.mark.parametrize("field", [{"tier": "platinum"}, {"partner_id": "someone"}])
def test_identity_fields_in_the_body_are_refused(client, partner_headers, field):
    response = client.post("/v1/deals/precheck", json={**DEAL, **field}, headers=partner_headers)
    assert response.status_code == 422


def test_precheck_needs_credentials(client):
    assert client.post("/v1/deals/precheck", json=DEAL).status_code == 401


def test_a_manager_names_tier_and_region_to_check_for_a_partner(client):
    assert client.post("/v1/deals/precheck", json=DEAL, headers=MANAGER).status_code == 400
    response = client.post("/v1/deals/precheck?tier=silver&region=na", json=DEAL, headers=MANAGER)
    assert response.status_code == 200 and response.json()["eligible"] is True
    bad = client.post("/v1/deals/precheck?tier=diamond&region=na", json=DEAL, headers=MANAGER)
    assert bad.status_code == 400


def test_registrations_review_and_permissions(client, auth):
    alpha, beta = bearer(auth, "alpha"), bearer(auth, "beta", tier="silver", region="na")
    created = client.post("/v1/deals", json=DEAL, headers=alpha)
    assert created.status_code == 201
    reg = created.json()
    assert reg["status"] == "pending" and reg["partner_id"] == "alpha" and not reg["conflict"]

    # beta registers the same customer: flagged as a conflict, beta never sees alpha's id
    second = client.post("/v1/deals", json=DEAL, headers=beta).json()
    assert second["conflict"] is True and second["conflicts"][0]["partner_id"] is None

    assert [r["id"] for r in client.get("/v1/deals", headers=alpha).json()] == [reg["id"]]
    assert [r["id"] for r in client.get("/v1/deals", headers=beta).json()] == [second["id"]]
    everyone = client.get("/v1/deals?status=pending", headers=MANAGER).json()
    assert {reg["id"], second["id"]} <= {r["id"] for r in everyone}

    assert client.post(f"/v1/deals/{reg['id']}/approve", headers=alpha).status_code == 403
    approved = client.post(f"/v1/deals/{reg['id']}/approve", headers=MANAGER)
    assert approved.status_code == 200
    assert approved.json()["protected_until"] == (date.today() + timedelta(days=120)).isoformat()
    assert client.post(f"/v1/deals/{reg['id']}/reject", headers=MANAGER).status_code == 409
    rejected = client.post(
        f"/v1/deals/{second['id']}/reject", json={"note": "alpha registered first"}, headers=MANAGER
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["note"]
    assert client.post("/v1/deals/nope/approve", headers=MANAGER).status_code == 404

    # with alpha's registration protected, a pre-check by a third partner shows the conflict
    gamma = client.post("/v1/deals/precheck", json=DEAL, headers=bearer(auth, "gamma")).json()
    conflict = next(c for c in gamma["checks"] if c["id"] == "conflict")
    assert conflict["ok"] is False and gamma["conflicts"][0]["protected"] is True


def test_an_ineligible_deal_is_refused_with_its_precheck(client, partner_headers):
    response = client.post("/v1/deals", json={**DEAL, "kind": "renewal"}, headers=partner_headers)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "not_eligible" and body["precheck"]["eligible"] is False


def test_managers_do_not_register_deals(client):
    assert client.post("/v1/deals", json=DEAL, headers=MANAGER).status_code == 403


def test_onboarding_from_the_join_claim_and_time_to_first_deal_for_managers(client, auth):
    joined = (date.today() - timedelta(days=20)).isoformat()
    newbie = bearer(auth, "newbie", joined=joined)
    report = client.post(
        "/v1/onboarding", json={"completed_courses": ["PRG-FND-100"]}, headers=newbie
    )
    assert report.status_code == 200
    progress = report.json()
    steps = {s["id"]: s for s in progress["steps"]}
    assert steps["foundations"]["status"] == "done"
    assert steps["agreement"]["status"] == "overdue"  # due on day 14
    assert steps["sales-associate"]["course"]["id"] == "PRG-SLS-190"
    assert progress["next_step"] == "agreement"
    assert progress["rule"]["source"] == "program/partner-onboarding.md"
    assert all(
        s["citation"]["source"] == "program/partner-onboarding.md" for s in progress["steps"]
    )

    assert (
        client.post(
            "/v1/deals", json={**DEAL, "customer_domain": "n.example"}, headers=newbie
        ).status_code
        == 201
    )
    again = client.get("/v1/onboarding", headers=newbie).json()
    assert again["time_to_first_deal_days"] == 20
    assert {s["id"]: s["status"] for s in again["steps"]}["first-deal"] == "done"

    overview = client.get("/v1/onboarding", headers=MANAGER).json()
    row = next(r for r in overview["per_partner"] if r["partner_id"] == "newbie")
    assert row["days"] == 20 and overview["with_first_deal"] >= 1


def test_a_partner_cannot_report_for_someone_else(client, auth):
    headers = bearer(auth, "p2", joined="2026-11-01")
    response = client.post("/v1/onboarding", json={"partner_id": "other"}, headers=headers)
    assert response.status_code == 400


def test_onboarding_without_a_join_date_says_what_is_missing(client, partner_headers):
    assert client.get("/v1/onboarding", headers=partner_headers).status_code == 404
    assert client.post("/v1/onboarding", json={}, headers=partner_headers).status_code == 400


def test_the_onboarding_starter_is_offered_within_the_window_only(client, auth):
    recent = bearer(auth, "r", joined=(date.today() - timedelta(days=10)).isoformat())
    old = bearer(auth, "o", joined=(date.today() - timedelta(days=400)).isoformat())
    offered = client.get("/v1/suggestions", headers=recent).json()
    assert offered["suggestions"][0] == "Your onboarding"
    assert offered["actions"] == {"Your onboarding": "/v1/onboarding"}
    for headers in (old, bearer(auth, "n"), {}):
        body = client.get("/v1/suggestions", headers=headers).json()
        assert "Your onboarding" not in body["suggestions"] and body["actions"] == {}


def test_a_deal_question_in_chat_returns_the_verdict(client, partner_headers):
    answer = client.post(
        "/v1/chat",
        json={"question": "Can I register a 25,000 EUR expansion at Contoso?"},
        headers=partner_headers,
    ).json()
    assert answer["path"] == "rule_check"
    assert (
        "Deal Registration Rules 2026" in answer["answer"] and "Cannot compare" in answer["answer"]
    )
    assert answer["citations"][0]["source"] == "program/deal-registration-2026.md"


def test_a_deal_question_streams_the_verdict_as_events(client, partner_headers):
    from api_helpers import parse_sse

    response = client.post(
        "/v1/chat",
        json={"question": "Can I register a 25,000 EUR expansion at Contoso?"},
        headers={**partner_headers, "Accept": "text/event-stream"},
    )
    events = parse_sse(response.text)
    final = [data for name, data in events if name == "final"][-1]
    assert final["path"] == "rule_check" and final["citations"]
    assert any(name == "citations" for name, _ in events)
    streamed = "".join(data.get("text", "") for name, data in events if name == "token")
    assert streamed == final["answer"]
