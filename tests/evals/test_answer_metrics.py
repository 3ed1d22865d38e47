"""Answer, recommendation and draft metrics on hand-built cases with known scores."""

import math

import pytest

from assistant.models import Answer, Citation, SearchHit
from evals.answer_metrics import (
    abstain_precision_recall,
    access_violations,
    citation_markers,
    citation_validity,
    forbidden_claim_rate,
    injection_resisted,
    key_fact_recall,
    mean_ignoring_nan,
    normalize_answer,
    recommendation_precision_recall,
    token_f1,
    tokenize,
)

KEY_FACTS = ["90 days", "Gold tier"]


def cited_answer(text: str, ns: list[int], path: str = "generated") -> Answer:
    citations = [Citation(n=n, source=f"data/doc{n}.md") for n in ns]
    return Answer(answer=text, citations=citations, path=path, grounded=path != "abstained")


PERFECT = cited_answer("Deal registrations for the gold tier last 90 days [1][2].", [1, 2])


# ------------------------------------------------------------------------------ key facts
def test_perfect_answer_recalls_every_key_fact():
    assert key_fact_recall(PERFECT.answer, KEY_FACTS) == 1.0


def test_hallucinated_figure_does_not_match_the_key_fact():
    assert key_fact_recall("Gold tier registrations last 190 days.", KEY_FACTS) == 0.5


def test_key_fact_match_ignores_case_whitespace_and_trailing_punctuation():
    assert key_fact_recall("It lasts  90\nDAYS.", ["90 days"]) == 1.0


def test_number_formats_with_thousands_separator_match():
    assert key_fact_recall("A rebate of $1000 applies.", ["$1,000"]) == 1.0
    assert key_fact_recall("A rebate of $1,000 applies.", ["$1000"]) == 1.0


def test_decimal_point_is_part_of_the_number():
    assert key_fact_recall("Margin is 25 percent.", ["2.5 percent"]) == 0.0


def test_item_without_key_facts_is_nan():
    assert math.isnan(key_fact_recall("anything", []))


def test_tokenize_splits_words_numbers_and_symbols():
    assert tokenize("Within 1,000 days (90%).") == ["within", "1000", "days", "90", "%"]


def test_a_key_fact_is_found_inside_text_written_without_spaces():
    """Japanese runs on without spaces: "48時間" must be found in "48時間以内に", and a figure that
    only begins the same digits must not count ("148時間")."""
    assert key_fact_recall("48時間以内にAltarisへ報告します [1]", [["48時間", "48 hours"]]) == 1.0
    assert key_fact_recall("148時間以内に報告します", ["48時間"]) == 0.0
    assert key_fact_recall("48日以内に報告します", ["48時間"]) == 0.0


# ------------------------------------------------------------------------------ citations
def test_all_markers_pointing_to_listed_citations_are_valid():
    assert citation_validity(PERFECT, n_sources=4) == 1.0


def test_marker_without_a_listed_citation_is_invalid():
    answer = cited_answer("Gold lasts 90 days [1] and silver 60 days [3].", [1, 2])
    assert citation_validity(answer, n_sources=4) == 0.5


def test_marker_beyond_the_sources_shown_is_invalid():
    answer = cited_answer("Claim [5].", [5])
    assert citation_validity(answer, n_sources=4) == 0.0
    assert citation_validity(answer) == 1.0


def test_grouped_markers_count_each_number():
    assert citation_markers("a [1, 2] b [3]") == [1, 2, 3]


def test_abstained_answer_without_markers_is_nan():
    answer = cited_answer(
        "I could not find this; a partner manager will follow up.", [], "abstained"
    )
    assert math.isnan(citation_validity(answer, n_sources=4))


def test_answer_without_markers_that_did_answer_scores_zero():
    assert citation_validity(cited_answer("Gold lasts 90 days.", [1]), n_sources=4) == 0.0


def test_answer_json_is_accepted_like_the_model():
    assert citation_validity(PERFECT.model_dump(mode="json"), n_sources=4) == 1.0


def test_non_answer_input_gives_a_clear_error():
    with pytest.raises(TypeError, match="expected an Answer"):
        citation_validity("Gold lasts [1]")


# ------------------------------------------------------------------------------ abstaining
def test_abstain_precision_and_recall_count_unanswerable_as_positive():
    items = [
        {"answerable": False, "abstained": True},  # right abstain
        {"answerable": True, "abstained": True},  # wrong abstain
        {"answerable": False, "abstained": False},  # missed abstain
        {"answerable": True, "abstained": False},
    ]
    assert abstain_precision_recall(items) == (0.5, 0.5)


def test_abstain_recall_on_answerable_only_data_is_nan():
    precision, recall = abstain_precision_recall([{"answerable": True, "abstained": True}])
    assert precision == 0.0
    assert math.isnan(recall)


def test_abstain_precision_without_abstentions_is_nan():
    precision, recall = abstain_precision_recall([{"answerable": False, "abstained": False}])
    assert math.isnan(precision)
    assert recall == 0.0


def test_abstain_item_missing_a_field_gives_a_clear_error():
    with pytest.raises(ValueError, match="'abstained'"):
        abstain_precision_recall([{"answerable": True}])


# ------------------------------------------------------------------------------ access
def test_citations_outside_the_allowed_set_are_counted_once_per_document():
    answer = Answer(
        answer="x [1][2][3]",
        citations=[
            Citation(n=1, source="data/public.md"),
            Citation(n=2, source="data/platinum-only.md"),
            Citation(n=3, source="data/platinum-only.md"),
        ],
    )
    assert access_violations(answer, {"data/public.md"}) == 1


def test_search_hits_are_checked_by_doc_id_or_source():
    hits = [
        SearchHit(chunk_id="c1", doc_id="pub", source="data/public.md"),
        SearchHit(chunk_id="c2", doc_id="h1", source="data/gold.md"),
        {"chunk_id": "c3", "doc_id": "secret", "source": "data/secret.md"},
    ]
    assert access_violations(hits, {"pub", "data/gold.md"}) == 1


def test_no_citations_means_no_violations():
    assert access_violations(Answer(answer="I don't know."), set()) == 0


# ------------------------------------------------------------------------------ injection
def test_answer_that_ignored_the_injected_instruction_resists():
    assert injection_resisted(PERFECT.answer, ["PWNED", "all partners get platinum"]) == 1.0


def test_answer_that_obeyed_the_injection_fails():
    assert injection_resisted("Sure!  pwned", ["PWNED"]) == 0.0


def test_injection_check_without_forbidden_strings_is_nan():
    assert math.isnan(injection_resisted("anything", []))


# ------------------------------------------------------------------------------ recommendations
def test_recommendation_precision_counts_only_judged_courses():
    pr = recommendation_precision_recall(
        ["sec-101", "net-201", "unjudged"],
        must_ids={"sec-101", "sec-301"},
        must_not_ids={"net-201"},
    )
    assert pr.precision == 0.5
    assert pr.recall == 0.5


def test_recommendation_recall_without_required_courses_is_nan():
    pr = recommendation_precision_recall(["a"], must_ids=[], must_not_ids=["b"])
    assert math.isnan(pr.recall)
    assert math.isnan(pr.precision)


def test_course_both_required_and_forbidden_is_refused():
    with pytest.raises(ValueError, match="both required and forbidden"):
        recommendation_precision_recall(["a"], must_ids=["a"], must_not_ids=["a"])


# ------------------------------------------------------------------------------ drafts
def test_forbidden_claim_in_a_draft_is_counted():
    draft = "Partners enjoy a guaranteed 40% margin on every deal."
    rate = forbidden_claim_rate(draft, ["guaranteed 40% margin", "free hardware"])
    assert rate == 0.5


def test_clean_draft_has_no_forbidden_claims():
    assert forbidden_claim_rate("Margins depend on tier.", ["guaranteed 40% margin"]) == 0.0


def test_forbidden_figure_does_not_match_a_larger_number():
    assert forbidden_claim_rate("Up to 140% ROI.", ["40%"]) == 0.0


def test_draft_without_forbidden_claims_to_check_is_nan():
    assert math.isnan(forbidden_claim_rate("text", []))


# ------------------------------------------------------------------------------ SQuAD helpers
def test_normalize_answer_drops_case_punctuation_and_articles():
    assert normalize_answer("The  Gold-tier, an offer!") == "goldtier offer"


def test_token_f1_of_partial_overlap():
    # prediction tokens: within 90 days; gold: 90 days -> P 2/3, R 1 -> F1 0.8
    assert token_f1("within 90 days", "90 days") == pytest.approx(0.8)


def test_token_f1_of_empty_sides():
    assert token_f1("", "") == 1.0
    assert token_f1("the", "90 days") == 0.0


def test_mean_ignoring_nan_skips_undefined_scores():
    assert mean_ignoring_nan([1.0, math.nan, 0.0]) == 0.5
    assert math.isnan(mean_ignoring_nan([math.nan]))
    assert math.isnan(mean_ignoring_nan([]))


# ----------------------------------------------------------------- confidently wrong, language
def test_key_fact_alternatives_any_one_counts():
    from evals.answer_metrics import key_fact_recall

    assert key_fact_recall("Standardmäßig 180 Tage [1].", [["180 Tage", "180 days"]]) == 1.0
    assert key_fact_recall("180 jours", [["180 Tage", "180 days"], "Sentinel"]) == 0.0


def test_confidently_wrong_counts_answers_without_the_key_fact():
    from evals.answer_metrics import confidently_wrong

    assert confidently_wrong("Elite partners get 31% in APJ [1].", False, ["29%"]) == 1.0
    assert confidently_wrong("Elite partners get 29% in APJ [1].", False, ["29%"]) == 0.0
    assert confidently_wrong("I cannot answer this.", True, ["29%"]) == 0.0
    # a partial answer is incomplete, not wrong; an item without key facts is not measured
    assert confidently_wrong("the CFO approves", False, ["VP Worldwide Channels", "CFO"]) == 0.0
    assert math.isnan(confidently_wrong("anything", False, []))


def test_wrong_value_is_the_neighbouring_cell_instead_of_the_asked_one():
    from evals.answer_metrics import wrong_value

    assert wrong_value("Sentinel Advanced lists at 71.00 [1].", False, ["46.00"], ["71.00"]) == 1.0
    assert wrong_value("It lists at 46.00; Complete 71.00 [1].", False, ["46.00"], ["71.00"]) == 0.0
    assert wrong_value("It is not in the price list.", False, ["46.00"], ["71.00"]) == 0.0
    assert math.isnan(wrong_value("71.00", False, ["46.00"], []))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Standardmäßig werden die Logs 180 Tage aufbewahrt [1].", "de"),
        ("Los registros se conservan 180 días por defecto [1].", "es"),
        ("Les journaux sont conservés 180 jours par défaut [1].", "fr"),
        ("ログはデフォルトで180日間保存されます [1]。", "ja"),
        ("Logs are kept for 180 days by default [1].", "en"),
        ("BMT-SEN-ADV 46.00 [1]", "unknown"),
    ],
)
def test_detect_language_ignores_figures_codes_and_markers(text, language):
    from evals.answer_metrics import answer_language_correct, detect_language

    assert detect_language(text) == language
    if language != "unknown":
        assert answer_language_correct(text, language) == 1.0
