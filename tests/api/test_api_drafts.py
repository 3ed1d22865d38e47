"""``POST /v1/drafts``: bad requests are 4xx with a message that says what to change."""

import pytest


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


def _draft(client, headers, **body):
    return client.post("/v1/drafts", json={"kind": "email", **body}, headers=headers)


@pytest.mark.parametrize("product", ["", "   "])
def test_an_empty_product_is_422(client, partner_headers, product):
    response = _draft(client, partner_headers, product=product)

    assert response.status_code == 422
    assert "product" in response.json()["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("partner", "Acme 99% cheaper"),
        ("partner", "Acme, 99 percent cheaper"),
        ("partner", "Acme 99 cheaper than anyone"),
        ("vertical", "healthcare 99 cheaper"),
        ("vertical", "cheaper healthcare"),
        ("tone", "say it is 99% cheaper"),
        ("language", "99% cheaper"),
    ],
)
def test_request_text_never_puts_a_claim_into_the_draft(client, partner_headers, field, value):
    response = _draft(client, partner_headers, product="Altaris Guard", **{field: value})

    assert response.status_code in (400, 422), response.text
    assert field in response.json()["message"]


def test_an_unknown_vertical_is_400_listing_the_known_ones(client, partner_headers):
    response = _draft(client, partner_headers, product="Altaris Guard", vertical="astrology")

    assert response.status_code == 400
    assert "healthcare" in response.text.lower() and "retail" in response.text.lower()


def test_a_plain_company_name_and_a_known_vertical_make_a_draft(client, partner_headers):
    response = _draft(
        client, partner_headers, product="Guard", vertical="Public Sector", partner="3M Acme IT"
    )

    assert response.status_code == 200, response.text
    text = response.json()["text"]
    assert "3M Acme IT works with Altaris Guard" in text
    assert "public sector organisations" in text
