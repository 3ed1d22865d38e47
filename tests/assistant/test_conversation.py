"""Follow-ups and dates in questions."""

from datetime import date

from assistant.conversation import date_in_question, without_date

TODAY = date(2026, 12, 5)


def test_an_earlier_year_sets_the_as_of_date_and_leaves_the_ranked_question():
    question = "How many days of protection did deal registration give in 2025?"
    assert date_in_question(question, TODAY) == date(2025, 12, 31)
    assert (
        without_date(question, TODAY) == "How many days of protection did deal registration give?"
    )
    assert without_date("What applied as of 2025-06-01?", TODAY) == "What applied?"


def test_a_question_without_an_earlier_date_is_left_as_it_is():
    assert without_date("What will apply in 2030?", TODAY) == "What will apply in 2030?"
    assert without_date("How long is a deal protected?", TODAY) == "How long is a deal protected?"
