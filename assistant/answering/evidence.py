"""Evidence: the sentences and table rows of the retrieved chunks, ranked for the question.

A reader model is only as good as what it is shown, and its time to first word grows with every
prompt token, so it sees a budget of the best *units*, not whole chunks:

* a sentence (hard-wrapped lines joined, list items on their own);
* a table row rendered with its column headers, ``Elite | AMER: 31% | EMEA: 33% | APJ: 29%``,
  with the columns the question names first, so "Elite in APJ" reads 29% before anything else.

Units are ranked by their embedding similarity to the question, the share of the question's
terms they hold (``terms`` is the lexical index's analysis; weighted by ``idf``, rarity in the
corpus), and whether they name the tier, region, code
or table row the question names. Passages that try to give orders are never evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.answering.injection import looks_like_injection
from assistant.answering.vocabulary import Named, Vocabulary, fold, mentions, words
from retrieval.models import SearchHit

SENTENCE = re.compile(r"(?<=[.!?。])\s+(?=[A-Z0-9\"'(\[*¿¡])|(?<=[。！？])|\n+")
BULLET = re.compile(r"^\s*(?:[-*+\u2022\u25cf\u25aa]|\d+[.)])\s+")
MARKUP = re.compile(r"\*\*|__|`|^#+\s*", re.MULTILINE)
HEADING_WORDS = 12  # a title line is short
SIMILARITY_WEIGHT = 0.6  # of the embedding similarity beside the term overlap (at most 1)


@dataclass(frozen=True)
class Cell:
    header: str
    value: str


@dataclass(frozen=True)
class Unit:
    """One sentence or table row of a retrieved chunk."""

    hit: int  # index of the chunk in the retrieved list
    text: str  # as the reader sees it
    kind: str = "sentence"  # "sentence" | "row" | "heading" (a title line: no statement)
    label: str = ""  # a row's first cell
    cells: tuple[Cell, ...] = ()  # a row's other cells with their headers
    context: str = ""  # title and section, for ranking and for the reader's orientation

    def asked_cells(self, names: Sequence[str]) -> tuple[Cell, ...]:
        """The cells of a row whose column header names one of ``names``."""
        return tuple(c for c in self.cells if any(mentions(c.header, n) for n in names))

    def with_columns_first(self, names: Sequence[str]) -> Unit:
        """The row with the cells whose header names one of ``names`` first."""
        if self.kind != "row" or not names:
            return self
        first = self.asked_cells(names)
        return self._with_cells(first + tuple(c for c in self.cells if c not in first))

    def only_columns(self, names: Sequence[str]) -> Unit:
        """The row with only the cells whose header names one of ``names`` (the whole row when
        none does): what an extractive answer quotes for "Elite in APJ"."""
        if self.kind != "row" or not names:
            return self
        cells = self.asked_cells(names)
        return self._with_cells(cells) if cells else self

    def _with_cells(self, cells: tuple[Cell, ...]) -> Unit:
        return Unit(self.hit, render_row(self.label, cells), "row", self.label, cells, self.context)


def render_row(label: str, cells: Sequence[Cell]) -> str:
    return " | ".join([label, *(f"{c.header}: {c.value}" for c in cells if c.value)])


def _split_cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_rule(cells: list[str]) -> bool:
    return all(set(c) <= set("-: ") for c in cells)


def _table_units(hit: int, lines: list[str], context: str) -> list[Unit]:
    rows = [cells for cells in map(_split_cells, lines) if not _is_rule(cells)]
    if len(rows) < 2:
        return [Unit(hit, " | ".join(r), "sentence", context=context) for r in rows]
    header, units = rows[0], []
    for cells in rows[1:]:
        pairs = tuple(Cell(h, c) for h, c in zip(header[1:], cells[1:]))
        label = cells[0]
        units.append(Unit(hit, render_row(label, pairs), "row", label, pairs, context))
    return units


def _clean(text: str) -> str:
    text = MARKUP.sub("", text).strip()
    return re.sub(r"\s+([,.;:!?)])", r"\1", re.sub(r"\s+", " ", text))


def _is_heading(lines: list[str]) -> bool:
    """A block of one line that states nothing: a Markdown heading, or a short line without
    closing punctuation, figures or a colon ("2. Margin on approved registered deals")."""
    if len(lines) != 1:
        return False
    line = lines[0].strip()
    if re.match(r"^#+\s", line):
        return True
    if BULLET.match(line) and not re.match(r"^\s*\d+[.)]\s", line):
        return False  # a list item of its own
    text = BULLET.sub("", line).strip()
    return 0 < len(text.split()) <= HEADING_WORDS and not re.search(r"[.!?。！？:：]$|\d|:", text)


def units_of(hit_index: int, hit: SearchHit) -> list[Unit]:
    """The sentences, table rows and heading lines of one chunk, in order."""
    section = hit.section
    if hit.title and section.startswith(hit.title):  # heading paths start with the title
        section = section[len(hit.title) :].lstrip(" >")
    context = " > ".join(p for p in (hit.title, section) if p)
    out: list[Unit] = []
    for block in re.split(r"\n\s*\n", hit.text):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        table = [line for line in lines if line.count("|") >= 2 or " | " in line]
        if len(table) >= 2:
            out.extend(_table_units(hit_index, table, context))
            lines = [line for line in lines if line not in table]
        if _is_heading(lines):
            out.append(
                Unit(hit_index, _clean(BULLET.sub("", lines[0])), "heading", context=context)
            )
            continue
        items: list[str] = []
        for line in lines:
            if BULLET.match(line) or not items or re.match(r"^#+\s", line):
                items.append(BULLET.sub("", line).strip())
            else:
                items[-1] += " " + line.strip()
        for item in items:
            for sentence in SENTENCE.split(item):
                cleaned = _clean(sentence or "")
                if len(cleaned) > 2:
                    out.append(Unit(hit_index, cleaned, "sentence", context=context))
    return out


@dataclass(frozen=True)
class Scored:
    unit: Unit
    score: float
    names_asked: bool  # names every tier/region/code/row the question names that it could
    overlap: float = 0.0  # IDF-weighted share of the question's terms in the unit and its context
    similarity: float = 0.0  # embedding similarity of the unit (with its context) to the question

    @property
    def strength(self) -> float:
        """How strongly the unit's content matches the question: ``score`` without the name
        bonuses and the source's rank, which order units but are no evidence of an answer."""
        return round(SIMILARITY_WEIGHT * self.similarity + self.overlap, 4)


@dataclass
class Evidence:
    """The units chosen for the reader, best first, and what the question names."""

    units: list[Scored] = field(default_factory=list)
    named: Named = field(default_factory=Named)  # what the question names
    preferred: Named = field(default_factory=Named)  # that, or else the caller's tier and region

    @property
    def best(self) -> float:
        return self.units[0].score if self.units else 0.0


def _row_names_asked(unit: Unit, question_words: set[str], rows: Sequence[Unit]) -> bool:
    """Does a row's label hold the words that single it out among its table's rows?

    "Sentinel Advanced" vs "Sentinel Complete": "sentinel" is in every row, "advanced" only in
    one; a question that says "advanced" asks about that row and no other.
    """
    siblings = (
        [
            r
            for r in rows
            if r.hit == unit.hit
            and r.kind == "row"
            and r.cells
            and r.cells[0].header == unit.cells[0].header
        ]
        if unit.cells
        else []
    )
    if len(siblings) < 2:
        return True
    shared = set.intersection(*(set(words(r.label)) for r in siblings))
    asked_rows = [r for r in siblings if (set(words(r.label)) - shared) & question_words]
    # "Relay Business" asks for that row, not "Relay Business Plus": a row whose label the
    # question says in full wins over one whose label adds words the question does not say.
    in_full = [r for r in asked_rows if set(words(r.label)) - shared <= question_words]
    asked_rows = in_full or asked_rows
    return not asked_rows or unit in asked_rows


def names_what_is_asked(unit: Unit, asked: Named, vocabulary: Vocabulary) -> bool:
    """A unit that names tiers (or regions, or codes) must name one the question asks about."""
    own = vocabulary.named(f"{unit.text}")
    for kind in ("tiers", "regions", "codes"):
        wanted, present = getattr(asked, kind), getattr(own, kind)
        if wanted and present and not (wanted & present):
            return False
    return True


def select(
    question: str,
    hits: Sequence[SearchHit],
    vocabulary: Vocabulary,
    terms: Callable[[str], list[str]],
    idf: Callable[[str], float],
    similarity: Callable[[list[str]], list[float]] | None,
    budget_chars: int,
    max_units: int,
    caller: Named | None = None,
) -> Evidence:
    """The best units for ``question`` within ``budget_chars`` (at most ``max_units``).

    ``caller`` names the asker's own tier and region: when the question names none ("What is
    my margin?"), table rows and columns for them are read first (ordering only; what the
    question names is what verification holds an answer to).
    """
    asked = vocabulary.named(question)
    preferred = Named(
        tiers=asked.tiers or (caller.tiers if caller else frozenset()),
        regions=asked.regions or (caller.regions if caller else frozenset()),
    )
    asked_names = vocabulary.names_for(preferred)
    units = [
        u.with_columns_first(asked_names)
        for i, hit in enumerate(hits)
        if not looks_like_injection(hit.text)
        for u in units_of(i, hit)
    ]
    if not units:
        return Evidence([], asked, preferred)
    q_words = set(words(question))
    weights = {t: idf(t) for t in set(terms(question))}
    norm = sum(weights.values()) or 1.0
    sims = (
        similarity([f"{u.context}: {u.text}" for u in units]) if similarity else [0.0] * len(units)
    )
    scored = []
    for unit, sim in zip(units, sims):
        u_terms = set(terms(f"{unit.context} {unit.text}"))
        overlap = sum(w for t, w in weights.items() if t in u_terms) / norm
        fits = names_what_is_asked(unit, asked, vocabulary) and _row_names_asked(
            unit, q_words, units
        )
        named_here = vocabulary.named(unit.text)
        wanted = preferred if unit.kind == "row" else asked  # the caller's own row first
        bonus = 0.15 * len(
            (wanted.tiers & named_here.tiers)
            | (wanted.regions & named_here.regions)
            | (asked.codes & named_here.codes)
        )
        if unit.kind == "row":
            bonus += 0.1 * sum(
                1 for c in unit.cells[:1] if any(mentions(c.header, n) for n in asked_names)
            )
        score = (
            SIMILARITY_WEIGHT * sim + overlap + bonus + 0.03 / (1 + unit.hit) - (0 if fits else 0.5)
        )
        scored.append(Scored(unit, round(score, 4), fits, round(overlap, 4), round(sim, 4)))
    scored.sort(key=lambda s: -s.score)
    chosen: list[Scored] = []
    used, seen = 0, set()
    for item in scored:
        key = fold(item.unit.text)[:120]
        if key in seen:
            continue
        if chosen and used + len(item.unit.text) > budget_chars:
            continue
        seen.add(key)
        chosen.append(item)
        used += len(item.unit.text)
        if len(chosen) == max_units:
            break
    return Evidence(chosen, asked, preferred)
