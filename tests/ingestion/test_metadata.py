"""Metadata decides visibility, so it is validated strictly."""

import pytest

from assistant.settings import AccessSettings
from ingestion.documents import LoadError
from ingestion.metadata import chunk_metadata, validate_metadata

ACCESS = AccessSettings()


def test_unknown_tier_is_an_error():
    with pytest.raises(LoadError, match="unknown tier 'diamond'"):
        validate_metadata({"doc_type": "faq", "tiers": ["gold", "diamond"]}, ACCESS)


def test_unknown_region_is_an_error():
    with pytest.raises(LoadError, match="unknown region 'mars'"):
        validate_metadata({"doc_type": "faq", "regions": "emea, mars"}, ACCESS)


@pytest.mark.parametrize("value", ["2026-13-01", "next week", "01/02/2026", 20260101])
def test_malformed_date_is_an_error(value):
    with pytest.raises(LoadError, match="effective_date"):
        validate_metadata({"doc_type": "faq", "effective_date": value}, ACCESS)


def test_unknown_doc_type_is_an_error():
    with pytest.raises(LoadError, match="doc_type"):
        validate_metadata({"doc_type": "memo"}, ACCESS)


def test_internal_doc_type_forces_internal_audience():
    meta = validate_metadata({"doc_type": "internal", "audience": "partner"}, ACCESS)
    assert meta.audience == "internal"


def test_absent_tiers_mean_every_tier_and_listed_tiers_only_those():
    open_doc = chunk_metadata(validate_metadata({"doc_type": "faq"}, ACCESS), ACCESS)
    assert all(open_doc[f"tier_{t}"] for t in ACCESS.tiers) and open_doc["tiers_all"]
    gold = chunk_metadata(
        validate_metadata({"doc_type": "faq", "tiers": ["Gold", "platinum"]}, ACCESS), ACCESS
    )
    assert gold["tier_gold"] and gold["tier_platinum"] and not gold["tier_silver"]
    assert not gold["tiers_all"] and gold["tiers"] == "gold,platinum"
