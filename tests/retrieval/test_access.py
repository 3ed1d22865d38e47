"""No partner ever receives a chunk outside their tier, region or audience — on any path.

The oracle here reads the chunk's human-readable ``tiers``/``regions``/``audience`` fields, not the
boolean flags the filter uses, so a bug in how flags are written or read is caught too.
"""

from datetime import date

import pytest

from assistant.models import CallerContext
from assistant.settings import AccessSettings
from retrieval.access import AccessError, AccessFilter

ACCESS = AccessSettings()
TIERS = [None, *ACCESS.tiers]
REGIONS = [None, *ACCESS.regions]
QUERIES = [
    "discount approval matrix for extra discount",
    "platinum benefits and dedicated resources",
    "market development funds in EMEA",
    "deal registration protection period",
    "training courses for certification",
]


def may_see(caller: CallerContext, metadata: dict) -> bool:
    if caller.role in ("channel_manager", "admin"):
        return True
    tiers = [t for t in metadata.get("tiers", "").split(",") if t]
    regions = [r for r in metadata.get("regions", "").split(",") if r]
    return (
        metadata["audience"] == "partner"
        and (not tiers or (caller.tier is not None and caller.tier in tiers))
        and (not regions or (caller.region is not None and caller.region in regions))
    )


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("region", REGIONS)
def test_dense_filter_and_lexical_predicate_select_the_same_chunks(sample_kb, tier, region):
    caller = CallerContext(role="partner", tier=tier, region=region)
    access = AccessFilter.build(caller, ACCESS, sample_kb.store.documents())
    chunks = list(sample_kb.store.iter_chunks())
    by_where = set(sample_kb.store.chunks.get(where=access.where(), include=[])["ids"])
    by_predicate = {c.chunk_id for c in chunks if access.allows(c.metadata)}
    assert by_where == by_predicate
    assert all(may_see(caller, c.metadata) for c in chunks if c.chunk_id in by_predicate)


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("region", REGIONS)
def test_a_partner_never_receives_a_chunk_they_may_not_see(sample_kb, mode, tier, region):
    caller = CallerContext(role="partner", tier=tier, region=region)
    for query in QUERIES:
        for hit in sample_kb.retriever.retrieve(query, caller, k=20, mode=mode):
            assert may_see(caller, hit.metadata), (query, hit.source, hit.metadata.get("tiers"))


def test_partners_get_no_internal_documents_and_channel_managers_do(sample_kb):
    query = "discount approval matrix who approves extra discount"
    partner = sample_kb.retriever.retrieve(query, CallerContext(tier="platinum", region="na"), k=20)
    manager = sample_kb.retriever.retrieve(query, CallerContext(role="channel_manager"), k=20)
    assert all(h.metadata["audience"] == "partner" for h in partner)
    assert any(h.metadata["audience"] == "internal" for h in manager)


def test_restricted_documents_reach_exactly_their_audience(sample_kb):
    chunks = list(sample_kb.store.iter_chunks())
    tier_only = next(
        c for c in chunks if c.metadata["tiers"] and c.metadata["audience"] == "partner"
    )
    allowed_tier = tier_only.metadata["tiers"].split(",")[0]
    denied = [t for t in ACCESS.tiers if t not in tier_only.metadata["tiers"].split(",")]
    region = (tier_only.metadata["regions"].split(",") or [None])[0] or "na"
    query = tier_only.text[:200]
    ok = sample_kb.retriever.retrieve(query, CallerContext(tier=allowed_tier, region=region), k=10)
    assert tier_only.chunk_id in {h.chunk_id for h in ok}
    for tier in denied:
        hits = sample_kb.retriever.retrieve(query, CallerContext(tier=tier, region=region), k=10)
        assert tier_only.chunk_id not in {h.chunk_id for h in hits}


def test_superseded_rule_is_hidden_today_and_shown_for_an_earlier_date(sample_kb):
    documents = sample_kb.store.documents()
    old_id, old = next((d, r) for d, r in documents.items() if r.metadata.get("superseded_by"))
    new = documents[old.metadata["superseded_by"]]
    new_start = date.fromisoformat(new.metadata["effective_date"])
    today = AccessFilter.build(CallerContext(role="admin"), ACCESS, documents)
    before = AccessFilter.build(
        CallerContext(role="admin", as_of=date(new_start.year - 1, new_start.month, 1)),
        ACCESS,
        documents,
    )
    old_chunk = next(c for c in sample_kb.store.iter_chunks() if c.metadata["source"] == old_id)
    assert not today.allows(old_chunk.metadata)
    assert before.allows(old_chunk.metadata)


@pytest.mark.parametrize(
    ("caller", "message"),
    [
        (CallerContext(tier="diamond"), "unknown tier"),
        (CallerContext(region="mars"), "unknown region"),
    ],
)
def test_bad_filters_get_a_clear_error(sample_kb, caller, message):
    with pytest.raises(AccessError, match=message):
        sample_kb.retriever.retrieve("margins", caller)


@pytest.mark.parametrize("tier", TIERS)
def test_dense_candidates_are_the_filtered_nearest_whether_or_not_the_store_is_asked_again(
    sample_kb, sample_settings, tier
):
    """The dense path asks the store unfiltered and keeps what the caller may see; with few
    candidates (so a restrictive caller falls back to the filtered query) the result must be
    the same nearest visible chunks the filtered query returns."""
    from retrieval.hybrid import HybridRetriever

    retrieval = sample_settings.retrieval.model_copy(update={"candidates": 3})
    settings = sample_settings.model_copy(update={"retrieval": retrieval})
    retriever = HybridRetriever(settings, sample_kb.store, sample_kb.embedder, sample_kb.lexical)
    retriever.sync()
    caller = CallerContext(role="partner", tier=tier, region="emea")
    access = AccessFilter.build(caller, ACCESS, sample_kb.store.documents())
    for query in QUERIES:
        vector = sample_kb.embedder.embed_query(query)
        got = [cid for cid, _ in retriever._dense(vector, 3, access)]
        want = [c.chunk_id for c, _ in sample_kb.store.query(vector, 3, access.where())]
        assert got == want, query


@pytest.mark.parametrize(
    "fusion",
    [
        {"method": "minmax"},
        {"method": "zscore"},
        {"method": "rrf", "by_document": True},
        {"method": "minmax", "by_document": True},
    ],
)
@pytest.mark.parametrize("tier,region", [(None, None), ("silver", "na"), ("gold", "emea")])
def test_no_fusion_setting_lets_a_chunk_leak(sample_kb, fusion, tier, region):
    from dataclasses import replace

    retriever = sample_kb.retriever
    default = retriever.fusion
    retriever.fusion = replace(default, **fusion)
    try:
        caller = CallerContext(role="partner", tier=tier, region=region)
        for query in QUERIES:
            for hit in retriever.retrieve(query, caller, k=20, mode="hybrid"):
                assert may_see(caller, hit.metadata), (fusion, query, hit.source)
    finally:
        retriever.fusion = default


@pytest.mark.parametrize("role", ["partner", "channel_manager"])
@pytest.mark.parametrize("as_of", [None, date(2025, 6, 1)])
def test_the_vectorized_mask_is_the_same_rule_as_the_predicate(sample_kb, role, as_of):
    from retrieval.access import AccessColumns

    metadata = [c.metadata for c in sample_kb.store.iter_chunks()]
    columns = AccessColumns(metadata)
    for tier in TIERS:
        for region in REGIONS:
            caller = CallerContext(role=role, tier=tier, region=region, as_of=as_of)
            access = AccessFilter.build(caller, ACCESS, sample_kb.store.documents())
            assert access.mask(columns).tolist() == [access.allows(m) for m in metadata]


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("region", REGIONS)
def test_browsing_structured_records_shows_exactly_what_the_caller_may_see(sample_kb, tier, region):
    caller = CallerContext(role="partner", tier=tier, region=region)
    access = AccessFilter.build(caller, ACCESS, sample_kb.store.documents())
    expected = {
        c.chunk_id
        for c in sample_kb.store.iter_chunks()
        if c.metadata.get("doc_type") == "program_rule" and access.allows(c.metadata)
    }

    browsed = sample_kb.retriever.browse(caller, {"doc_type": "program_rule"})

    assert {hit.chunk_id for hit in browsed} == expected
    assert all(may_see(caller, hit.metadata) for hit in browsed)
    assert all(hit.metadata["doc_type"] == "program_rule" and hit.text for hit in browsed)


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("region", [None, "emea"])
def test_the_visible_share_is_the_share_of_chunks_the_caller_may_see(sample_kb, tier, region):
    # the dense path sizes its unfiltered fetch by this share (HybridRetriever._dense)
    caller = CallerContext(role="partner", tier=tier, region=region)
    retriever = sample_kb.retriever
    retriever.sync()
    access = AccessFilter.build(caller, ACCESS, retriever._documents)
    metadata = retriever.lexical.metadata
    expected = sum(access.allows(m) for m in metadata) / len(metadata)
    assert retriever.lexical.visible_share(access) == pytest.approx(expected)
    assert 0 < expected < 1  # the sample corpus holds chunks every partner is kept from
