"""The extractive answer, used when there is no reader: the best evidence units quoted
verbatim, or the reason to hand the question to a person.

It works on what :func:`assistant.answering.evidence.select` ranked, and quotes a unit only when
the evidence is strong enough by these checks (thresholds are :class:`AnswerSettings`):

* the unit is a statement: not a heading, not a question ("Can we extend?" in an FAQ), not a
  lead-in that ends in a colon (the table it introduces holds the answer);
* it names what the question names: every level, region and code the question names is named by
  the unit or its document title and section, it names no other level or region than the
  question's (or, when the question names none, the caller's own), and a table row is the row
  the question singles out (``Scored.names_asked``);
* it says something the question does not: a unit whose words all come from the question (or
  its heading) restates it, and a lone word ("Yes.") only answers the line before it;
* its strength reaches ``min_evidence``: the ranking's score without its name bonuses, i.e.
  0.6 x the embedding similarity to the question + the share of the question's terms it holds,
  each term weighted by its rarity in the corpus (IDF).

The best such unit is quoted; further ones only while their strength is within
``extract_relative_score`` of the best's, up to ``extract_max_units``. A table row is quoted with
only the columns the question names ("Elite | APJ: 29%"), and on its own: the rows beside it
hold other levels' values. Whether the caller may see the best evidence at all is the service's
check (it needs the retriever), see :meth:`AssistantService._extract_if_supported`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.answering.evidence import Evidence, Scored, Unit
from assistant.answering.verify import figures
from assistant.answering.vocabulary import Named, Vocabulary

UNFINISHED = re.compile(r"[?？:：]\s*$")
MIN_TERMS = 2  # a statement has two content words at least ("Yes." answers the line before it)


@dataclass(frozen=True)
class Extraction:
    """What the extractive step quotes (best first), or why it quotes nothing."""

    quotes: tuple[Unit, ...] = ()
    problem: str = ""

    @property
    def found(self) -> bool:
        return bool(self.quotes)


def is_statement(unit: Unit) -> bool:
    return unit.kind != "heading" and not UNFINISHED.search(unit.text)


def names_the_asked(unit: Unit, evidence: Evidence, vocabulary: Vocabulary) -> bool:
    """The unit (with its title and section) names every level, region and code the question
    names, and names no level or region other than the wanted ones (the question's, else the
    caller's)."""
    around = vocabulary.named(f"{unit.text} {unit.context}")
    for kind in ("tiers", "regions", "codes"):
        if not getattr(evidence.named, kind) <= getattr(around, kind):
            return False
    own: Named = vocabulary.named(unit.text)
    for kind in ("tiers", "regions"):
        wanted, named = getattr(evidence.preferred, kind), getattr(own, kind)
        if wanted and named and not wanted & named:
            return False
    return True


def adds_to(unit: Unit, question: str, terms: Callable[[str], list[str]]) -> bool:
    """Does the unit say more than the question and its heading (a term or a figure)?"""
    own = set(terms(unit.text))
    if len(own) < MIN_TERMS:
        return False
    said = set(terms(question)) | set(terms(unit.context))
    return bool(own - said) or bool(figures(unit.text) - figures(question))


def quotable(
    item: Scored,
    evidence: Evidence,
    question: str,
    vocabulary: Vocabulary,
    terms: Callable[[str], list[str]],
) -> bool:
    unit = item.unit
    return (
        item.names_asked
        and is_statement(unit)
        and names_the_asked(unit, evidence, vocabulary)
        and adds_to(unit, question, terms)
    )


def extract(
    question: str,
    evidence: Evidence,
    vocabulary: Vocabulary,
    terms: Callable[[str], list[str]],
    min_evidence: float,
    relative_score: float,
    max_units: int,
) -> Extraction:
    """The units an extractive answer to ``question`` quotes (see the module docstring)."""
    candidates = [s for s in evidence.units if quotable(s, evidence, question, vocabulary, terms)]
    if not candidates:
        return Extraction(problem="no passage states what the question names")
    best = candidates[0]
    if best.strength < min_evidence:
        return Extraction(
            problem=f"the best passage's strength {best.strength:.2f} is under min_evidence "
            f"{min_evidence}"
        )
    names = vocabulary.names_for(evidence.named)
    if best.unit.kind == "row":
        return Extraction((best.unit.only_columns(names),))
    chosen = [
        s.unit.only_columns(names)
        for s in candidates
        if s.strength >= relative_score * best.strength
    ]
    return Extraction(tuple(chosen[:max_units]))
