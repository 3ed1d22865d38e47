"""Admin routes, probes, metrics, the demo page and the widget's static files."""

from __future__ import annotations

import pytest
from api_helpers import ADMIN, MANAGER
from fastapi.testclient import TestClient

from api.app import create_app


def test_stats_for_admin(client):
    response = client.get("/v1/admin/stats", headers=ADMIN)

    assert response.status_code == 200
    stats = response.json()
    # The client's store holds the sample corpus: every document has chunks, counted by type.
    assert stats["documents"] > 0 and stats["chunks"] >= stats["documents"]
    by_type = stats["by_doc_type"]
    assert sum(t["chunks"] for t in by_type.values()) == stats["chunks"]
    assert "program_rule" in by_type and stats["embedding_model"]


def test_ingest_is_admin_only(client):
    response = client.post("/v1/admin/ingest", json={"paths": ["data"]}, headers=MANAGER)

    assert response.status_code == 403


def test_ingest_needs_at_least_one_path(client):
    response = client.post("/v1/admin/ingest", json={"paths": []}, headers=ADMIN)

    assert response.status_code == 422


def test_healthz_is_ok(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_service_checks(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["ready"] is True


def test_readyz_is_503_before_the_service_exists(api_settings):
    app = create_app(api_settings, service=None)  # no lifespan run: nothing built yet

    response = TestClient(app).get("/readyz")

    assert response.status_code == 503
    assert response.json()["ready"] is False


def test_metrics_count_requests_and_answers_by_path(client, partner_headers):
    client.post("/v1/chat", json={"question": "How do I register a deal?"}, headers=partner_headers)

    text = client.get("/metrics").text

    assert 'pa_http_requests_total{method="POST",route="/v1/chat",status="200"} 1.0' in text
    assert "pa_answers_total{" in text


def test_unknown_route_is_404_json(client):
    response = client.get("/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_demo_page_embeds_the_widget_with_a_working_token(client):
    page = client.get("/?tier=gold&region=emea").text
    token = page.split('data-token="')[1].split('"')[0]

    response = client.post(
        "/v1/search", json={"query": "deal"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert '<script src="/static/widget.js"' in page
    assert response.status_code == 200


def test_demo_page_is_404_in_production(api_settings, api_service):
    auth = api_settings.auth.model_copy(update={"environment": "production", "demo": False})
    app = create_app(api_settings.model_copy(update={"auth": auth}), service=api_service)

    assert TestClient(app).get("/").status_code == 404


def test_demo_mode_in_production_refuses_to_start(api_settings, api_service):
    auth = api_settings.auth.model_copy(update={"environment": "production", "demo": True})

    with pytest.raises(ValueError, match="demo"):
        create_app(api_settings.model_copy(update={"auth": auth}), service=api_service)


def test_widget_files_are_served(client):
    assert "PartnerAssistant" in client.get("/static/widget.js").text
    assert client.get("/static/widget.css").status_code == 200


def test_suggestions_follow_the_language(client):
    german = client.get("/v1/suggestions?lang=de").json()
    unknown = client.get("/v1/suggestions?lang=xx").json()

    assert german["language"] == "de" and german["suggestions"]
    assert unknown["language"] == "en"


def test_openapi_documents_the_versioned_routes(client):
    paths = client.get("/openapi.json").json()["paths"]

    assert {"/v1/chat", "/v1/search", "/v1/feedback", "/v1/handoffs"} <= set(paths)
    assert "401" in paths["/v1/chat"]["post"]["responses"]
