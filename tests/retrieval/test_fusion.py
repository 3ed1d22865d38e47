"""Fusion methods on hand-made rankings: what each keeps and throws away."""

import pytest

from retrieval.fusion import FusionConfig, fuse

DENSE = [("a", 0.90), ("b", 0.50), ("c", 0.49)]
LEXICAL = [("c", 30.0), ("b", 29.0), ("d", 1.0)]


def order(config, **kwargs):
    return [item for item, _ in fuse(config, DENSE, LEXICAL, **kwargs)]


def test_rrf_uses_ranks_only():
    # b is second in both lists: by rank it beats a, which only one list holds
    assert order(FusionConfig("rrf", rrf_k=60)) == ["c", "b", "a", "d"]


def test_minmax_keeps_the_size_of_a_lead():
    # a leads dense by a wide margin (0.90 vs 0.50): score fusion keeps it above b
    ranked = order(FusionConfig("minmax", dense_weight=1, lexical_weight=1))
    assert ranked.index("a") < ranked.index("b") and ranked.index("c") < ranked.index("b")
    assert ranked[-1] == "d"


@pytest.mark.parametrize("method", ["minmax", "zscore"])
def test_weights_tilt_score_fusion(method):
    assert order(FusionConfig(method, dense_weight=1, lexical_weight=0.01))[0] == "a"
    assert order(FusionConfig(method, dense_weight=0.01, lexical_weight=1))[0] == "c"


def test_an_item_missing_from_a_list_gets_that_lists_floor():
    fused = dict(fuse(FusionConfig("zscore"), DENSE, LEXICAL))
    assert fused["d"] < fused["b"]  # d is only at the bottom of lexical and absent from dense


def test_exact_code_matches_are_a_third_signal():
    # a code match adds code_weight to a normalized score: at 1 (as much as leading one list)
    # d climbs from last to above b; at the default 0.5 it gains half that and stays below
    without = dict(fuse(FusionConfig("minmax"), DENSE, LEXICAL))
    default = dict(fuse(FusionConfig("minmax"), DENSE, LEXICAL, codes=["d"]))
    assert default["d"] == pytest.approx(without["d"] + FusionConfig().code_weight)
    ranked = order(FusionConfig("minmax", code_weight=1.0), codes=["d"])
    assert ranked.index("d") < ranked.index("b")
    assert order(FusionConfig("minmax"), codes=["d"]).index("d") > ranked.index("d")


def test_document_fusion_gives_the_documents_score_to_its_best_chunk_only():
    # x2 is weak on its own (last in dense, absent from lexical); y1 is second in both lists.
    # Grouping x's chunks under x's score would put x2 before y1.
    dense = [("x1", 0.9), ("y1", 0.8), ("x2", 0.3)]
    lexical = [("x1", 6.0), ("y1", 5.0)]
    ranked = fuse(FusionConfig("rrf", by_document=True), dense, lexical, key=lambda c: c[0])
    assert [i for i, _ in ranked] == ["x1", "y1", "x2"]


def test_document_fusion_credits_a_document_both_lists_found_in_different_chunks():
    # Dense finds x through x1, lexical through x2; chunk by chunk y1 (in both lists) wins,
    # by document x is first in both lists and its best chunk leads.
    dense = [("x1", 0.9), ("y1", 0.85)]
    lexical = [("x2", 6.0), ("y1", 5.9)]
    by_chunk = fuse(FusionConfig("rrf"), dense, lexical)
    by_document = fuse(FusionConfig("rrf", by_document=True), dense, lexical, key=lambda c: c[0])
    assert by_chunk[0][0] == "y1"
    assert by_document[0][0] in ("x1", "x2")
