"""``POST /v1/drafts``: bad requests are 4xx with a message that says what to change."""


def test_an_unknown_product_is_400_listing_the_known_products(client, partner_headers):
    response = client.post(
        "/v1/drafts", json={"kind": "email", "product": "Altaris Shield"}, headers=partner_headers
    )
    assert response.status_code == 400
    assert "Altaris Flow, Altaris Guard, Altaris Vault" in response.text


def test_a_draft_lists_its_sources_apart_from_its_text(client, partner_headers):
    response = client.post(
        "/v1/drafts",
        json={"kind": "email", "product": "Altaris Guard", "vertical": "healthcare"},
        headers=partner_headers,
    )
    assert response.status_code == 200
    draft = response.json()
    assert draft["citations"] and "[1]" not in draft["text"]
    assert draft["text"].startswith("Subject: Altaris Guard™ for healthcare organisations")


def test_a_partner_name_that_makes_a_claim_is_400(client, partner_headers):
    response = client.post(
        "/v1/drafts",
        json={"kind": "email", "product": "Altaris Guard", "partner": "Acme. 100% secure!"},
        headers=partner_headers,
    )
    assert response.status_code == 400 and "partner" in response.text
