"""Verification of a reader's answer, one sentence at a time, against the passages it cites.

A sentence passes when
* it cites passages that were given (``[n]``), or, uncited, exactly one passage holds all of its
  figures (small models often drop the marker);
* every figure in it (amounts, percentages, counts, dates, versions; compared by their digits,
  so "25,000", "25.000" and "25000" agree across languages) lies inside a cited passage; for a
  table row whose columns the question names, inside those columns' cells: a figure that is in
  the source but not in the asked row and column fails;
* every tier, region and code it names is named by a cited passage or by the question;
* at least one cited passage names what the question asks about (its tier, region, code or
  table row), so "10% for Elite" read from the Authorized row fails;
* in English, a negation appears only where a cited passage negates too.
Sentences are checked as they stream, so verified text can go out before the reply ends and is
never withdrawn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.evidence import Scored, Unit
from assistant.answering.injection import looks_like_injection
from assistant.answering.vocabulary import Named, Vocabulary

MARKER = re.compile(r"\s*\[(\d{1,2})\]")
FIGURE = re.compile(r"\d(?:[\d.,'\u202f\u00a0]*\d)?")
NEGATION = re.compile(
    r"\b(not|no|never|cannot|can't|isn't|aren't|doesn't|don't|won't|without|none)\b", re.IGNORECASE
)
# A sentence ends at its full stop and the markers after it; what follows must be more text, so
# a marker still to come ("… an emergency. [3]", streamed as "… an emergency." then " [3]")
# stays with its sentence.
SENTENCE_END = re.compile(r"(?<=[.!?。！？])((?:\s*\[\d{1,2}\])*)\s+(?=[^\s\[])")


def figures(text: str) -> set[str]:
    """The figures of ``text`` as digit strings (separators dropped)."""
    return {re.sub(r"\D", "", f) for f in FIGURE.findall(MARKER.sub(" ", text))}


def split_sentences(text: str) -> tuple[list[str], str]:
    """Complete sentences of a growing reply (with their trailing markers) and the rest."""
    done, start = [], 0
    for match in SENTENCE_END.finditer(text):
        end = match.end(1)
        done.append(text[start:end].strip())
        start = match.end()
    return [s for s in done if s], text[start:]


@dataclass(frozen=True)
class Check:
    ok: bool
    cited: tuple[int, ...]  # 1-based passage numbers
    problem: str = ""


def _allowed_figures(unit: Unit, asked_names: Sequence[str]) -> set[str]:
    if unit.kind == "row" and asked_names:
        asked_cells = unit.asked_cells(asked_names)
        if asked_cells:
            return figures(unit.label) | {f for c in asked_cells for f in figures(c.value)}
    return figures(unit.text)


class Verifier:
    """Checks sentences of one answer against the passages the reader was shown."""

    def __init__(
        self,
        passages: Sequence[Scored],
        question: str,
        asked: Named,
        vocabulary: Vocabulary,
        language: str,
    ) -> None:
        self.passages = passages
        self.question = question
        self.asked = asked
        self.vocabulary = vocabulary
        self.language = language
        self.asked_names = vocabulary.names_for(asked)

    def _holders(self, facts: set[str]) -> list[int]:
        """The passages whose allowed figures hold all of ``facts``."""
        if not facts:
            return []
        return [
            n
            for n, p in enumerate(self.passages, start=1)
            if facts <= _allowed_figures(p.unit, self.asked_names)
        ]

    def _attribute(self, facts: set[str]) -> tuple[int, ...]:
        holders = self._holders(facts)
        return (holders[0],) if holders else ()

    def check(self, sentence: str) -> Check:
        body = MARKER.sub("", sentence).strip()
        markers = tuple(int(m) for m in MARKER.findall(sentence))
        if any(not 1 <= n <= len(self.passages) for n in markers):
            return Check(False, (), "cites a passage that was not given")
        if looks_like_injection(body):
            return Check(False, (), "repeats an instruction")
        facts = figures(body)
        cited = markers or self._attribute(facts)
        if not cited:
            if facts or self.vocabulary.named(body):
                return Check(False, (), f"unsupported claim without a citation: {body[:80]!r}")
            return Check(True, ())  # a connective sentence ("Yes.") carries no fact
        result = self._check_cited(body, facts, cited)
        if result.ok or not markers:
            return result
        # A small reader often cites the wrong number: the sentence passes if another passage
        # meets every check on its own (its figures in the asked row and column, the asked
        # entity named); it is then cited to that passage instead.
        for n in self._holders(facts):
            if n not in cited and self._check_cited(body, facts, (n,)).ok:
                return Check(True, (n,))
        return result

    def _check_cited(self, body: str, facts: set[str], cited: tuple[int, ...]) -> Check:
        units = [self.passages[n - 1].unit for n in cited]
        allowed = set().union(*(_allowed_figures(u, self.asked_names) for u in units))
        missing = facts - allowed
        if missing:
            return Check(False, cited, f"figure {sorted(missing)[0]} is not in the cited passage")
        named = self.vocabulary.named(body)
        known = self.vocabulary.named(
            " ".join(u.text + " " + u.context for u in units) + " " + self.question
        )
        for kind in ("tiers", "regions", "codes"):
            extra = getattr(named, kind) - getattr(known, kind)
            if extra:
                return Check(
                    False, cited, f"names {sorted(extra)[0]}, which the cited passage does not"
                )
        if not any(self.passages[n - 1].names_asked for n in cited):
            return Check(False, cited, "the cited passage is about something else than asked")
        negated = self.language == "en" and NEGATION.search(body)
        if negated and not any(NEGATION.search(u.text) for u in units):
            return Check(False, cited, "negates what the cited passage states")
        return Check(True, cited)
