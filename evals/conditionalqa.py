"""ConditionalQA (dev split): eligibility rules whose answers hold only under conditions.

The data reads like partner-program rules (who qualifies, under which conditions, with which
exceptions), so it tests three things our own golden set is too small for: answer quality,
abstaining on the 14 unanswerable questions, and whether an answer states its conditions.

Three parts:

- **Loading** (:func:`load_conditionalqa`) from the shared folder (``corpus.jsonl``,
  ``queries.jsonl``, ``qrels/dev.tsv``; BEIR layout), and :func:`page_to_html`, which joins a
  page's HTML fragments into one document the ingestion HTML loader can read.
- **The official scorer** (:func:`score_answers`, :func:`evaluate_predictions`), re-implemented
  from the dataset's ``evaluate.py`` for predictions in its structured form
  ``[(answer, [condition, ...]), ...]``: EM and SQuAD token F1 after :func:`normalize_answer`,
  the best pairing of predicted and gold answers, a discount ``exp(1 - predicted/gold)`` for extra
  answers, "with conditions" variants multiplied by the F1 of the predicted condition set
  (conditions match as exact evidence strings), and an unanswerable question scoring 1 exactly
  when nothing is predicted. Two places where the official script does not do what it says are
  done as it says (see :func:`score_answers` and :func:`evaluate_predictions`).
- **Free-text scores** for our assistant, which answers in prose with citations rather than in
  that structured form: :func:`answer_present`, :func:`best_token_f1`, :func:`conditions_stated`
  and :func:`score_free_text` (abstaining on an unanswerable question is correct).
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import Stemmer

from evals.answer_metrics import contains_phrase, normalize_answer, token_f1, tokenize
from evals.beir import DatasetFormatError, read_jsonl, read_qrels

__all__ = [
    "AnswerScores",
    "ConditionalQA",
    "FreeTextScores",
    "GoldAnswer",
    "Page",
    "Question",
    "answer_present",
    "best_token_f1",
    "conditions_stated",
    "evaluate_predictions",
    "load_conditionalqa",
    "normalize_answer",
    "page_to_html",
    "score_answers",
    "score_free_text",
    "strip_tags",
    "token_f1",
    "unanswerable_score",
]

YES_NO = ("yes", "no")
# Above this many predicted answers the pairing search (n! orders) is refused, not run for hours.
MAX_PREDICTED_ANSWERS = 8


@dataclass(frozen=True)
class Page:
    """One GOV.UK page: ``contents`` are HTML fragments, one per heading, paragraph, item or row."""

    url: str
    title: str
    contents: tuple[str, ...]


@dataclass(frozen=True)
class GoldAnswer:
    text: str
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    """A question asked by someone in the situation ``scenario`` describes, about page ``url``."""

    qid: str
    question: str
    scenario: str
    url: str
    not_answerable: bool
    answers: tuple[GoldAnswer, ...] = ()
    evidences: tuple[str, ...] = ()

    @property
    def is_yes_no(self) -> bool:
        return any(a.text.strip().lower() in YES_NO for a in self.answers)

    @property
    def is_conditional(self) -> bool:
        return any(a.conditions for a in self.answers)

    @property
    def gold_conditions(self) -> list[str]:
        """Conditions of every gold answer, deduplicated, in order."""
        return list(dict.fromkeys(c for a in self.answers for c in a.conditions))


@dataclass
class ConditionalQA:
    pages: dict[str, Page] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)


# ------------------------------------------------------------------------------------- loading
def load_conditionalqa(folder: Path | str) -> ConditionalQA:
    """Read the dev split from ``folder`` (e.g. ``../shared/datasets/conditionalqa_dev``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetFormatError(f"dataset folder not found: {folder}")
    corpus_file, queries_file = folder / "corpus.jsonl", folder / "queries.jsonl"
    pages: dict[str, Page] = {}
    for line_no, row in read_jsonl(corpus_file):
        url, contents = row.get("_id"), row.get("contents")
        if not isinstance(url, str) or not isinstance(contents, list):
            raise DatasetFormatError(f"{corpus_file}:{line_no}: needs '_id' and a 'contents' list")
        title = str(row.get("title") or "")
        pages[url] = Page(url=url, title=title, contents=tuple(str(f) for f in contents))
    questions: dict[str, Question] = {}
    for line_no, row in read_jsonl(queries_file):
        try:
            question = _question_from_row(row)
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetFormatError(
                f"{queries_file}:{line_no}: malformed question ({exc})"
            ) from None
        if question.url not in pages:
            raise DatasetFormatError(
                f"{queries_file}:{line_no}: page {question.url} is not in corpus.jsonl"
            )
        questions[question.qid] = question
    qrels = read_qrels(folder / "qrels" / "dev.tsv")
    return ConditionalQA(pages=pages, questions=questions, qrels=qrels)


def _question_from_row(row: Mapping[str, Any]) -> Question:
    answers = tuple(
        GoldAnswer(text=str(text), conditions=tuple(str(c) for c in conditions))
        for text, conditions in row["answers"]
    )
    return Question(
        qid=str(row["_id"]),
        question=str(row["text"]),
        scenario=str(row.get("scenario") or ""),
        url=str(row["url"]),
        not_answerable=bool(row["not_answerable"]),
        answers=answers,
        evidences=tuple(str(e) for e in row.get("evidences") or ()),
    )


_FRAGMENT = re.compile(r"^\s*<(\w+)>(.*)</\1>\s*$", re.S)
_HEADING = re.compile(r"^h([1-6])$")
_BARE_AMP = re.compile(r"&(?!#?\w+;)")


def page_to_html(page: Page) -> str:
    """One HTML document for a page: the title as the only ``<h1>``, section headings kept one
    level down (the pages use ``<h1>`` for their sections), list items inside ``<ul>``, table rows
    (``"a | b"`` text) inside ``<table>`` with one cell per column, and bare text in ``<p>``.
    Fragments that are not a single element (a few paragraphs span two) pass through as-is."""
    title = html.escape(page.title)
    body: list[str] = [f"<h1>{title}</h1>"]
    open_group: str | None = None
    for fragment in page.contents:
        match = _FRAGMENT.match(fragment)
        tag = match.group(1).lower() if match else None
        group = {"li": "ul", "tr": "table"}.get(tag or "")
        if group != open_group:
            if open_group:
                body.append(f"</{open_group}>")
            if group:
                body.append(f"<{group}>")
            open_group = group
        inner = _BARE_AMP.sub("&amp;", match.group(2)) if match else ""
        if match is None:
            body.append(
                _BARE_AMP.sub("&amp;", fragment)
                if "<" in fragment
                else f"<p>{html.escape(fragment)}</p>"
            )
        elif tag == "tr":
            cells = "".join(f"<td>{cell.strip()}</td>" for cell in inner.split("|"))
            body.append(f"<tr>{cells}</tr>")
        elif heading := _HEADING.match(tag or ""):
            level = min(int(heading.group(1)) + 1, 6)
            body.append(f"<h{level}>{inner}</h{level}>")
        else:
            body.append(f"<{tag}>{inner}</{tag}>")
    if open_group:
        body.append(f"</{open_group}>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n"
        f'<link rel="canonical" href="{html.escape(page.url, quote=True)}">\n'
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def strip_tags(fragment: str) -> str:
    """The text of an HTML fragment (conditions and evidences are stored as HTML)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment)).strip()


# ------------------------------------------------------------------------------ official scorer
@dataclass(frozen=True)
class AnswerScores:
    em: float
    em_with_conditions: float
    f1: float
    f1_with_conditions: float


def conditions_f1(predicted: Sequence[str], gold: Sequence[str]) -> float:
    """F1 of a predicted condition set against the gold one, conditions matching as exact
    strings; with no gold conditions it is 1.0 exactly when none is predicted."""
    if not gold:
        return float(not predicted)
    if not predicted:
        return 0.0
    correct = sum(c in gold for c in predicted)
    if correct == 0:
        return 0.0
    precision, recall = correct / len(predicted), correct / len(gold)
    return 2 * precision * recall / (precision + recall)


def score_answers(
    predicted: Sequence[tuple[str, Sequence[str]]], gold: Sequence[tuple[str, Sequence[str]]]
) -> AnswerScores:
    """The official per-question scores for structured predictions.

    Predicted answers are paired with gold answers in the order that maximises each score, a
    missing prediction pairing as ``("", [])``, and EM/F1 are multiplied by
    ``exp(1 - max(predicted, gold) / gold)``. The official script pads a short prediction with
    a single placeholder whatever the shortfall, so two or more missing answers give a
    discount above 1 there; here a short prediction is never rewarded.
    """
    if not gold:
        return AnswerScores(*[float(not predicted)] * 4)
    if len(predicted) > MAX_PREDICTED_ANSWERS:
        raise ValueError(
            f"{len(predicted)} predicted answers; at most {MAX_PREDICTED_ANSWERS} can be paired"
        )
    n_gold = len(gold)
    padded = list(predicted) + [("", ())] * max(0, n_gold - len(predicted))
    best = [0.0, 0.0, 0.0, 0.0]
    for ordered in itertools.permutations(padded, n_gold):
        totals = [0.0, 0.0, 0.0, 0.0]
        for (pred_text, pred_conds), (gold_text, gold_conds) in zip(ordered, gold, strict=True):
            cond_f1 = conditions_f1(list(pred_conds), list(gold_conds))
            em = float(normalize_answer(pred_text) == normalize_answer(gold_text))
            f1 = token_f1(pred_text, gold_text)
            for i, value in enumerate((em, em * cond_f1, f1, f1 * cond_f1)):
                totals[i] += value
        best = [max(b, t / n_gold) for b, t in zip(best, totals, strict=True)]
    gamma = math.exp(1.0 - max(len(predicted), n_gold) / n_gold)
    return AnswerScores(
        em=best[0] * gamma,
        em_with_conditions=best[1],
        f1=best[2] * gamma,
        f1_with_conditions=best[3],
    )


def evaluate_predictions(
    predictions: Mapping[str, Sequence[tuple[str, Sequence[str]]]],
    questions: Mapping[str, Question],
) -> dict[str, dict[str, float]]:
    """Mean official scores over all questions and over the ``yesno``, ``extractive`` and
    ``conditional`` subsets, as ``evaluate.py`` reports them (a subset with no question is NaN).

    A question with no prediction scores 0 (``evaluate.py`` computes that 0 and then leaves the
    question out of the means, which rewards skipping hard questions).
    """
    per_question: dict[str, AnswerScores] = {}
    for qid, question in questions.items():
        gold = [(a.text, list(a.conditions)) for a in question.answers]
        if qid in predictions:
            per_question[qid] = score_answers(predictions[qid], gold)
        else:
            per_question[qid] = AnswerScores(0.0, 0.0, 0.0, 0.0)

    subsets = {
        "total": list(questions),
        "yesno": [q for q, x in questions.items() if x.answers and x.is_yes_no],
        "extractive": [q for q, x in questions.items() if x.answers and not x.is_yes_no],
        "conditional": [q for q, x in questions.items() if x.is_conditional],
    }
    report: dict[str, dict[str, float]] = {}
    for name, qids in subsets.items():
        report[name] = {
            metric: (
                sum(getattr(per_question[q], metric) for q in qids) / len(qids)
                if qids
                else math.nan
            )
            for metric in ("em", "em_with_conditions", "f1", "f1_with_conditions")
        }
        report[name]["questions"] = float(len(qids))
    return report


# ----------------------------------------------------------------------------- free-text scores
# Function words that say nothing about which condition is meant.
_STOPWORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not of off on once only or other our ours out over own same she should
    so some such than that the their theirs them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would
    you your yours yourself s t ll re ve d m"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_stemmer = Stemmer.Stemmer("english")


def answer_present(prediction: str, gold_answers: Sequence[str]) -> float:
    """1.0 when a free-text prediction contains one of the gold answers, else 0.0; NaN when the
    question has no gold answer (score it with :func:`unanswerable_score`).

    A gold "yes"/"no" is matched by the prediction's polarity: its first token when that is yes
    or no ("No, you cannot..."), else the one of the two that occurs alone in it; a prediction
    with both or neither has no polarity and misses. Other gold answers match as token sequences
    (:func:`evals.answer_metrics.contains_phrase`), so "within 10 days" is found in "You will hear
    within 10 days." but "10 days" is not found in "110 days".
    """
    golds = [g for g in gold_answers if g.strip()]
    if not golds:
        return math.nan
    tokens = tokenize(prediction)
    polarity = _polarity(tokens)
    for gold in golds:
        gold_tokens = tokenize(gold)
        if len(gold_tokens) == 1 and gold_tokens[0] in YES_NO:
            if polarity == gold_tokens[0]:
                return 1.0
        elif contains_phrase(tokens, gold):
            return 1.0
    return 0.0


def best_token_f1(prediction: str, gold_answers: Sequence[str]) -> float:
    """SQuAD token F1 against the closest gold answer (NaN with no gold answer). Long prose
    answers score low on precision by construction; compare systems, not absolute values."""
    golds = [g for g in gold_answers if g.strip()]
    if not golds:
        return math.nan
    return max(token_f1(prediction, gold) for gold in golds)


def conditions_stated(
    prediction: str, gold_conditions: Sequence[str], min_overlap: float = 0.5
) -> float:
    """Fraction of the gold conditions that a free-text answer states; NaN with no conditions.

    A gold condition (an HTML fragment such as ``<p>... at least 60% disabled.</p>``) is reduced
    to its **key content tokens**: its words minus function words (:data:`_STOPWORDS`), stemmed
    with the Snowball English stemmer so "disabled" meets "disablement", plus its numbers. It
    counts as stated when **every number** of it occurs in the answer (a wrong threshold is a
    wrong condition) and at least ``min_overlap`` of its distinct content stems do (the answer
    may paraphrase). A condition with no key token is skipped; if all are skipped, NaN.
    This is a lexical proxy: it sees that the answer names the condition, not that it applies
    it correctly.
    """
    if not 0.0 < min_overlap <= 1.0:
        raise ValueError(f"min_overlap must be in (0, 1], got {min_overlap!r}")
    answer_numbers, answer_stems = _key_tokens(prediction)
    verdicts: list[bool] = []
    for condition in gold_conditions:
        numbers, stems = _key_tokens(strip_tags(condition))
        if not numbers and not stems:
            continue
        numbers_ok = numbers <= answer_numbers
        words_ok = not stems or len(stems & answer_stems) / len(stems) >= min_overlap
        verdicts.append(numbers_ok and words_ok)
    return sum(verdicts) / len(verdicts) if verdicts else math.nan


def unanswerable_score(abstained: bool) -> float:
    """An unanswerable question is answered correctly by abstaining (1.0), wrongly otherwise."""
    return 1.0 if abstained else 0.0


@dataclass(frozen=True)
class FreeTextScores:
    answer_present: float
    best_f1: float
    conditions_stated: float
    abstain_correct: float


def score_free_text(question: Question, answer_text: str, abstained: bool) -> FreeTextScores:
    """All free-text scores of one answer. ``abstain_correct`` is 1.0 when the assistant abstained
    exactly when the question is unanswerable. An abstention on an answerable question scores 0
    for the answer and its conditions, whatever words the hand-off message happens to contain;
    on an unanswerable question the answer scores are NaN (there is no gold answer)."""
    golds = [a.text for a in question.answers]
    conditions = question.gold_conditions
    if question.not_answerable or not golds:
        return FreeTextScores(math.nan, math.nan, math.nan, unanswerable_score(abstained))
    if abstained:
        return FreeTextScores(0.0, 0.0, 0.0 if conditions else math.nan, 0.0)
    return FreeTextScores(
        answer_present=answer_present(answer_text, golds),
        best_f1=best_token_f1(answer_text, golds),
        conditions_stated=conditions_stated(answer_text, conditions),
        abstain_correct=1.0,
    )


def _polarity(tokens: Sequence[str]) -> str | None:
    if tokens and tokens[0] in YES_NO:
        return tokens[0]
    present = [word for word in YES_NO if word in tokens]
    return present[0] if len(present) == 1 else None


def _key_tokens(text: str) -> tuple[set[str], set[str]]:
    numbers: set[str] = set()
    words: list[str] = []
    for token in tokenize(text):
        if token[0].isdigit():
            numbers.add(token)
        elif token.isalpha() and token not in _STOPWORDS:
            words.append(token)
    return numbers, set(_stemmer.stemWords(words))
