"""ConditionalQA loading, page-to-HTML, the official scorer and our free-text scores."""

import json
import math
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from evals import answer_metrics
from evals.beir import DatasetFormatError
from evals.conditionalqa import (
    GoldAnswer,
    Page,
    Question,
    answer_present,
    best_token_f1,
    conditions_stated,
    evaluate_predictions,
    load_conditionalqa,
    normalize_answer,
    page_to_html,
    score_answers,
    score_free_text,
    token_f1,
    unanswerable_score,
)

CQA = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "conditionalqa_dev"
URL = "https://www.gov.uk/disability-payment"
CONDITION = "<p>‘Severe disablement’ means at least 60% disabled.</p>"

PAGE = Page(
    url=URL,
    title="Disability Payment & Help",
    contents=(
        "<h1>Overview</h1>",
        "<p>You may get a payment if you’re disabled.</p>",
        "<h2>Who can claim</h2>",
        "<li>you live in the UK</li>",
        "<li>you’re over 16</li>",
        "<tr>Rate | Weekly amount</tr>",
        "<tr>Higher | £89.60</tr>",
        "<p>Ask HM Revenue & Customs.</p>",
    ),
)

CONDITIONAL = Question(
    qid="q1",
    question="Can I claim compensation?",
    scenario="I was injured by a vaccine.",
    url=URL,
    not_answerable=False,
    answers=(GoldAnswer("yes", (CONDITION,)),),
)
EXTRACTIVE = Question(
    qid="q2",
    question="How long until I hear back?",
    scenario="",
    url=URL,
    not_answerable=False,
    answers=(GoldAnswer("within 10 days"),),
)
UNANSWERABLE = Question(
    qid="q3", question="What is the maximum?", scenario="", url=URL, not_answerable=True
)


def write_cqa(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    page = {"_id": URL, "title": PAGE.title, "url": URL, "contents": list(PAGE.contents)}
    (folder / "corpus.jsonl").write_text(json.dumps(page) + "\n")
    rows = [
        {"_id": "q1", "text": "Can I claim?", "scenario": "I was injured.", "url": URL,
         "not_answerable": False, "answers": [["yes", [CONDITION]]], "evidences": [CONDITION]},
        {"_id": "q3", "text": "What is the maximum?", "scenario": "", "url": URL,
         "not_answerable": True, "answers": [], "evidences": []},
    ]  # fmt: skip
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (folder / "qrels" / "dev.tsv").write_text(f"query-id\tcorpus-id\tscore\nq1\t{URL}\t1\n")
    return folder


# ------------------------------------------------------------------------------ loading
def test_tiny_folder_loads_pages_questions_answers_and_conditions(tmp_path):
    data = load_conditionalqa(write_cqa(tmp_path))
    assert data.pages[URL].contents[0] == "<h1>Overview</h1>"
    assert data.questions["q1"].answers == (GoldAnswer("yes", (CONDITION,)),)
    assert data.questions["q3"].not_answerable
    assert data.qrels == {"q1": {URL: 1}}


def test_question_about_an_unknown_page_is_refused(tmp_path):
    folder = write_cqa(tmp_path)
    with (folder / "queries.jsonl").open("a") as handle:
        row = {"_id": "q9", "text": "?", "url": "https://elsewhere", "not_answerable": True,
               "answers": []}  # fmt: skip
        handle.write(json.dumps(row) + "\n")
    with pytest.raises(DatasetFormatError, match=r"queries.jsonl:3: page https://elsewhere"):
        load_conditionalqa(folder)


def test_malformed_question_is_reported_with_its_line(tmp_path):
    folder = write_cqa(tmp_path)
    with (folder / "queries.jsonl").open("a") as handle:
        handle.write(json.dumps({"_id": "q9", "url": URL}) + "\n")
    with pytest.raises(DatasetFormatError, match=r"queries.jsonl:3: malformed question"):
        load_conditionalqa(folder)


@pytest.mark.skipif(not CQA.is_dir(), reason="shared ConditionalQA copy not present")
def test_real_dev_split_has_published_sizes():
    data = load_conditionalqa(CQA)
    assert len(data.pages) == 59
    assert len(data.questions) == 285
    assert sum(q.not_answerable for q in data.questions.values()) == 14


@pytest.mark.skipif(not CQA.is_dir(), reason="shared ConditionalQA copy not present")
def test_gold_answers_score_full_marks_with_the_official_scorer_on_the_real_dev_split():
    questions = load_conditionalqa(CQA).questions
    gold = {q.qid: [(a.text, list(a.conditions)) for a in q.answers] for q in questions.values()}
    report = evaluate_predictions(gold, questions)
    assert report["total"] == {
        "em": 1.0, "em_with_conditions": 1.0, "f1": 1.0, "f1_with_conditions": 1.0,
        "questions": 285.0,
    }  # fmt: skip


# ------------------------------------------------------------------------------ page_to_html
def parse(page: Page) -> BeautifulSoup:
    return BeautifulSoup(page_to_html(page), "lxml")


def test_page_title_is_the_only_h1_and_section_headings_move_down_a_level():
    soup = parse(PAGE)
    assert [h.get_text() for h in soup.find_all("h1")] == ["Disability Payment & Help"]
    assert [h.get_text() for h in soup.find_all("h2")] == ["Overview"]
    assert [h.get_text() for h in soup.find_all("h3")] == ["Who can claim"]


def test_list_items_are_grouped_in_one_list():
    items = parse(PAGE).find("ul").find_all("li")
    assert [li.get_text() for li in items] == ["you live in the UK", "you’re over 16"]


def test_table_rows_become_cells_in_one_table():
    rows = parse(PAGE).find("table").find_all("tr")
    assert [[td.get_text() for td in row.find_all("td")] for row in rows] == [
        ["Rate", "Weekly amount"],
        ["Higher", "£89.60"],
    ]


def test_page_text_survives_including_bare_ampersands():
    text = parse(PAGE).get_text(" ")
    assert "Ask HM Revenue & Customs." in text
    assert "You may get a payment if you’re disabled." in text


def test_fragment_split_across_two_entries_is_rejoined():
    page = Page(
        url=URL, title="T", contents=("<p>Write the number on the back", "of your cheque.</p>")
    )
    text = " ".join(parse(page).find("p").get_text(" ").split())
    assert text == "Write the number on the back of your cheque."


# ------------------------------------------------------------------------------ official scorer
def test_token_f1_and_normalisation_are_the_shared_ones():
    assert token_f1 is answer_metrics.token_f1
    assert normalize_answer is answer_metrics.normalize_answer


def test_exact_answer_with_its_conditions_scores_one():
    gold = [("yes", [CONDITION])]
    assert score_answers([("Yes.", [CONDITION])], gold).f1_with_conditions == 1.0


def test_missing_conditions_zero_the_conditional_scores_only():
    scores = score_answers([("yes", [])], [("yes", [CONDITION])])
    assert (scores.em, scores.em_with_conditions) == (1.0, 0.0)


def test_half_right_conditions_give_condition_f1():
    gold = [("yes", ["<p>a</p>", "<p>b</p>"])]
    # predicted {a, c}: precision 1/2, recall 1/2 -> F1 0.5
    assert score_answers([("yes", ["<p>a</p>", "<p>c</p>"])], gold).em_with_conditions == 0.5


def test_answers_are_paired_in_the_best_order():
    gold = [("within 10 days", []), ("by post", [])]
    assert score_answers([("by post", []), ("within 10 days", [])], gold).em == 1.0


def test_extra_answers_are_discounted():
    scores = score_answers([("within 10 days", []), ("by post", [])], [("within 10 days", [])])
    assert scores.em == pytest.approx(math.exp(-1))


def test_short_prediction_is_not_rewarded():
    gold = [("a1", []), ("b2", []), ("c3", [])]
    assert score_answers([("a1", [])], gold).em == pytest.approx(1 / 3)


def test_unanswerable_question_scores_one_only_without_prediction():
    assert score_answers([], []).f1 == 1.0
    assert score_answers([("yes", [])], []).f1 == 0.0


def test_question_without_prediction_scores_zero_in_the_means():
    questions = {"q1": CONDITIONAL, "q2": EXTRACTIVE}
    report = evaluate_predictions({"q2": [("within 10 days", [])]}, questions)
    assert report["total"]["em"] == 0.5
    assert report["extractive"]["em"] == 1.0
    assert report["yesno"]["em"] == 0.0
    assert report["conditional"]["questions"] == 1


# ------------------------------------------------------------------------------ free text
def test_yes_no_answer_is_read_from_the_leading_word():
    assert answer_present("No, you cannot claim.", ["no"]) == 1.0
    assert answer_present("No, you cannot claim.", ["yes"]) == 0.0


def test_yes_no_answer_without_clear_polarity_misses():
    assert answer_present("You can claim; there is no fee. Yes, apply now.", ["yes"]) == 0.0


def test_extractive_answer_is_found_as_a_phrase_not_a_substring():
    assert answer_present("You will hear back within 10 days [1].", ["within 10 days"]) == 1.0
    assert answer_present("You will hear back within 110 days.", ["within 10 days"]) == 0.0


def test_answer_present_without_gold_answers_is_nan():
    assert math.isnan(answer_present("anything", []))


def test_best_token_f1_takes_the_closest_gold_answer():
    assert best_token_f1("by post", ["within 10 days", "by post"]) == 1.0


def test_paraphrased_condition_with_its_number_is_stated():
    prediction = "Yes, if the vaccine left you severely disabled, at least 60% disablement."
    assert conditions_stated(prediction, [CONDITION]) == 1.0


def test_condition_with_a_wrong_number_is_not_stated():
    prediction = "Yes, if you are severely disabled, at least 50% disablement."
    assert conditions_stated(prediction, [CONDITION]) == 0.0


def test_fraction_of_conditions_stated():
    conditions = [CONDITION, "<li>you live in Scotland</li>"]
    assert conditions_stated("Only if at least 60% severely disabled.", conditions) == 0.5


def test_conditions_stated_without_conditions_is_nan():
    assert math.isnan(conditions_stated("Yes.", []))


def test_abstaining_on_an_unanswerable_question_is_correct():
    assert unanswerable_score(abstained=True) == 1.0
    scores = score_free_text(UNANSWERABLE, "I can't find this; a specialist will follow up.", True)
    assert scores.abstain_correct == 1.0
    assert math.isnan(scores.answer_present)


def test_answering_an_unanswerable_question_is_wrong():
    assert score_free_text(UNANSWERABLE, "The maximum is £100.", False).abstain_correct == 0.0


def test_abstaining_on_an_answerable_question_scores_zero_whatever_the_message_says():
    scores = score_free_text(CONDITIONAL, "Yes, a partner manager will call you.", abstained=True)
    assert (scores.answer_present, scores.best_f1, scores.conditions_stated) == (0.0, 0.0, 0.0)
    assert scores.abstain_correct == 0.0


def test_good_conditional_answer_scores_on_every_count():
    text = "Yes [1]. You qualify only if you are at least 60% disabled (severe disablement)."
    scores = score_free_text(CONDITIONAL, text, abstained=False)
    assert (scores.answer_present, scores.conditions_stated, scores.abstain_correct) == (1, 1, 1)
