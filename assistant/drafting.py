"""Personalised drafts (email, social post, solution brief) from approved material only.

A draft goes to the partner's customers under the partner's name, so it may only say what the
vendor's approved material says about the product, and must follow the vendor's brand rules.
It is assembled deterministically from source sentences the caller may see, and every sentence
must pass :func:`customer_facing`:

- it is *about the product* (the product, by full or short name, is named within its first
  words): guidance to partners ("Do not promise HIPAA compliance…", "For pricing see the
  guide…") is addressed to the partner, is never about the product, and so is never pasted;
- it is not a question (discovery questions are for the partner), not an instruction, and holds
  no price (a currency amount) — prices and discounts belong in a quote, not in marketing;
- figures (percentages, times, counts) only come from approved marketing material, where claims
  carry their footnotes, never from price lists or program rules;
- it holds no phrase the corpus's brand rules forbid (:func:`brand_rules`).

Messaging written for one vertical (a family of documents whose titles differ only in their
last part, "Vertical Messaging - Healthcare" / "- Retail") is used only for that vertical.

Brand rules are read from the corpus, not from a list in code (:func:`brand_rules`): the
documents that define them are found by retrieval; a phrase in quotes in a negated sentence
("Do not claim that any product is "unhackable"…") or an item listed under a negated heading
("Claims that are not approved") is forbidden, and a name written with ™ or ® there gets that
mark at its first mention in the draft. Product names come from document metadata; the first
mention of each product is its full name.

The body carries no ``[n]`` markers: sources are returned with the draft (``citations``) and
listed after it by each channel. Every figure in the body is checked against the sources.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from assistant.answering.evidence import SENTENCE, Scored, select, units_of
from assistant.answering.text import terms
from assistant.answering.verify import MARKER, NEGATION
from assistant.citations import citation_for
from assistant.models import CallerContext, Citation, Draft, DraftRequest, SearchHit
from assistant.prompt_files import load_prompt

KIND_LABEL = {
    "email": "co-marketing email",
    "social_post": "social media post",
    "solution_brief": "solution brief",
}
DRAFT_DOC_TYPES = ("marketing_asset", "product_doc")
APPROVED_DOC_TYPE = "marketing_asset"  # where claims with figures may come from
FACTS = 4
FACT_SHARE = 0.6  # a fact scores at least this share of the best one (else it is off-topic)
MIN_FACT_CHARS = 12  # shorter pieces are labels, not claims
SUBJECT_WITHIN = 4  # words: a sentence is about the product when it names it this early
MAX_PHRASE_WORDS = 6  # a quoted "phrase" longer than this is an example text, not a word rule
MAX_NAME_WORDS = 6  # "Acme Systems Integration GmbH & Co" fits; a sales pitch does not
BRAND_QUERY = "brand and trademark guidelines: product names, wording, forbidden claims"

_QUOTED = re.compile(r"[\"“]([^\"”\n]{1,80})[\"”]")
_MARKED = re.compile(r"((?:[A-Z][\w-]*[ \t])*[A-Z][\w-]*)[ \t]?([™®])")
_MARKS = re.compile(r"[ \t]?[™®]")
_BULLET = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)])\s+(.*)$", re.M)
_CURRENCY = re.compile(r"[$€£¥]\s?\d|\d[\d,.]*\s?(?:[$€£¥]|[A-Z]{3}\b)|\b[A-Z]{3}\s?\d", re.UNICODE)
_INSTRUCTION = re.compile(r"^(?:do not|don't|never|please|note:)\b", re.IGNORECASE)
_TITLE_SEPARATOR = re.compile(r"\s+[-–—|:]\s+|:\s+")
_NAME = re.compile(r"^[\w&.,'’()\- ]{1,80}$")
_VERTICAL = re.compile(r"^[^\W\d_][\w&'’\- ]{0,39}$")
# A figure as written: "$1,450" and "1450" are the same figure, "12%" keeps its %.
_NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?%?(?![\w])")


class DraftRequestError(ValueError):
    """The request cannot be drafted as asked (unknown product, a partner name that is not a
    name); the message says what to change. The API answers 400."""


@dataclass(frozen=True)
class BrandRules:
    """What the corpus's brand documents require of customer-facing text."""

    forbidden: tuple[str, ...] = ()  # phrases a draft must not contain
    marks: tuple[tuple[str, str], ...] = ()  # (name, "™" or "®") for the first mention
    sources: tuple[str, ...] = ()  # the documents that state the rules

    def violations(self, text: str) -> list[str]:
        return [p for p in self.forbidden if _phrase(p).search(text)]


def draft(service: Any, request: DraftRequest, caller: CallerContext) -> Draft:
    products = known_products(service, caller)
    product = canonical_product(request.product, products)
    rules = brand_rules(service, caller, products)
    partner = checked_partner(request.partner, rules)
    vertical = canonical_vertical(request.vertical, known_verticals(service, caller, products))
    forms = product_forms(product, products)
    query = f"{product} {vertical} value proposition benefits customers".strip()
    hits, variants = draft_sources(service, query, caller, vertical, products, rules)
    usable = [_only_customer_facing(hit, forms, rules) for hit in hits]
    approved = [
        h if h.metadata.get("doc_type") == APPROVED_DOC_TYPE else h.model_copy(update={"text": ""})
        for h in usable
    ]
    evidence = best_facts(service, query, approved) or best_facts(  # product documents only
        service,
        query,
        usable,  # when no approved material fits
    )
    evidence = evidence[: 1 if request.kind == "social_post" else FACTS]
    if not evidence:
        hint = f"; material written for: {', '.join(sorted(variants))}" if variants else ""
        raise LookupError(
            f"no approved material about {product} for {vertical or 'any vertical'} that can go "
            f"to customers is available to you{hint}"
        )
    used = sorted({e.unit.hit + 1 for e in evidence})

    first_hit: dict[str, SearchHit] = {}  # one citation per document
    for n in used:
        first_hit.setdefault(hits[n - 1].source, hits[n - 1])
    citations: list[Citation] = [
        citation_for(i, hit) for i, hit in enumerate(first_hit.values(), start=1)
    ]
    facts = [_fact(e.unit.text) for e in evidence]
    text = apply_brand_rules(
        compose(request.kind, product, partner, vertical, facts), products, rules
    )
    sources = " ".join(hits[n - 1].text for n in used)
    unsupported = sorted(_numbers(text.replace(partner, " ")) - _numbers(sources))
    return Draft(
        kind=request.kind,
        text=text,
        citations=citations,
        grounded=not unsupported and not rules.violations(text),
        removed_claims=unsupported,
        prompt=load_prompt("draft").ref,
    )


def best_facts(service: Any, query: str, hits: list[SearchHit]) -> list[Scored]:
    """The sentences of ``hits`` that say most about ``query`` (the answer path's ranking:
    embedding similarity and IDF-weighted overlap), best first, at most :data:`FACTS`."""
    ranked = select(
        query,
        hits,
        service.vocabulary,
        terms,
        service.idf,
        service._similarity(query),
        budget_chars=sum(len(h.text) for h in hits) + 1,
        max_units=len(hits) * 50 + 1,
    )
    facts = [s for s in ranked.units if len(s.unit.text) >= MIN_FACT_CHARS]
    if not facts:
        return []
    best = facts[0].score
    return [s for s in facts if s.score >= FACT_SHARE * best][:FACTS]


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").replace("$", "") for n in _NUMBER.findall(text)}


def compose(kind: str, product: str, partner: str, vertical: str, facts: list[str]) -> str:
    """The draft's text around its facts; the only words not from a source are these."""
    audience = f"{vertical} organisations" if vertical else "organisations like yours"
    body = "\n".join(f"- {f}" for f in facts)
    if kind == "email":
        return (
            f"Subject: {product} for {audience}\n\n"
            f"Hello,\n\n{partner} works with {product} to help {audience}.\n\n{body}\n\n"
            f"Would you like a short call to see how this applies to you?\n\nBest regards,\n{partner}"
        )
    if kind == "social_post":
        return f"{facts[0]} {partner} helps {audience} put {product} to work."
    return (
        f"{product} for {audience}\n\nThe solution\n{body}\n\n"
        f"Why {partner}\n{partner} plans, deploys and supports {product} for {audience}."
    )


# -- products -------------------------------------------------------------------------------


def known_products(service: Any, caller: CallerContext) -> list[str]:
    """Product names from the metadata of the marketing and product documents the caller may
    see (the ``products`` field), sorted."""
    names: set[str] = set()
    for meta in _visible_metadata(service, caller, DRAFT_DOC_TYPES):
        names.update(p.strip() for p in str(meta.get("products") or "").split(",") if p.strip())
    return sorted(names)


def canonical_product(name: str, products: list[str]) -> str:
    """The corpus's name for ``name`` (its full name, or a short form only it has); anything
    else is a :class:`DraftRequestError` that lists the products one may draft about."""
    wanted = " ".join(name.split()).casefold()
    for product in products:
        if product.casefold() == wanted:
            return product
    by_short = [p for p in products if _short_form(p, products).casefold() == wanted]
    if len(by_short) == 1:
        return by_short[0]
    known = ", ".join(products) or "none (no product is named in the documents you may see)"
    raise DraftRequestError(f"unknown product {name!r}; known products: {known}")


def product_forms(product: str, products: list[str]) -> tuple[str, ...]:
    """How a sentence may name the product: in full, or by its short form."""
    short = _short_form(product, products)
    return (product, short) if short != product else (product,)


def _short_form(product: str, products: list[str]) -> str:
    """The name without the vendor word every product name starts with ("Altaris Guard" ->
    "Guard"); the full name when the products share no first word."""
    first = {p.split()[0] for p in products if len(p.split()) > 1}
    words = product.split()
    return (
        " ".join(words[1:]) if len(first) == 1 and len(words) > 1 and words[0] in first else product
    )


# -- sources --------------------------------------------------------------------------------


def draft_sources(
    service: Any,
    query: str,
    caller: CallerContext,
    vertical: str,
    products: list[str],
    rules: BrandRules,
) -> tuple[list[SearchHit], set[str]]:
    """Marketing and product passages for the query without other verticals' messaging, and
    the names of the variants left out (to tell the caller which verticals have material).
    A document that states brand rules and is about no product is guidance for partners and
    their reviewers, never material for a draft."""
    hits = [
        h
        for h in service.kb.retriever.retrieve(query, caller, k=30)
        if h.metadata.get("doc_type") in DRAFT_DOC_TYPES
        and not (h.source in rules.sources and not h.metadata.get("products"))
    ]
    titles = {
        source: record.metadata.get("title", "")
        for source, record in service.kb.store.documents().items()
    }
    excluded = other_variants(titles, vertical, products)
    kept = [h for h in hits if h.source not in excluded][:8]
    return kept, {excluded[h.source] for h in hits if h.source in excluded}


def variant_families(titles: dict[str, str], products: list[str]) -> list[list[tuple[str, str]]]:
    """Documents written for different audiences, as families of (source, variant name):
    documents whose titles share everything but their last part ("Vertical Messaging -
    Retail", "- Healthcare"). Families named after a product ("Altaris Guard - Overview",
    "- Licensing") are one product's documents, not variants."""
    families: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for source, title in titles.items():
        parts = _TITLE_SEPARATOR.split(title.strip())
        if len(parts) >= 2:
            families[" ".join(parts[:-1]).casefold()].append((source, parts[-1]))
    product_names = {p.casefold() for p in products}
    return [
        members
        for prefix, members in families.items()
        if len(members) >= 2 and not any(p in prefix for p in product_names)
    ]


def other_variants(titles: dict[str, str], vertical: str, products: list[str]) -> dict[str, str]:
    """Sources (with their variant name) of documents written for another audience than
    ``vertical`` (:func:`variant_families`): only the variant named like the requested vertical
    is kept (none when no vertical is asked for)."""
    wanted = _significant_words(vertical)
    excluded: dict[str, str] = {}
    for members in variant_families(titles, products):
        for source, variant in members:
            words = _significant_words(variant)
            if not any(_same_word(w, v) for w in wanted for v in words):
                excluded[source] = variant
    return excluded


def known_verticals(service: Any, caller: CallerContext, products: list[str]) -> list[str]:
    """The verticals the caller's marketing and product documents write for: the variant
    names of :func:`variant_families`, sorted."""
    titles = {
        str(m.get("source", "")): str(m.get("title") or "")
        for m in _visible_metadata(service, caller, DRAFT_DOC_TYPES)
    }
    return sorted(
        {variant for members in variant_families(titles, products) for _, variant in members}
    )


def canonical_vertical(name: str | None, verticals: list[str]) -> str:
    """The corpus's name for the requested vertical, as the draft writes it ("finance" ->
    "financial services"), or "" when none is asked for. Every word of the request must name
    the same vertical, so the request cannot add words of its own to the text; anything else is
    a :class:`DraftRequestError` listing the known verticals."""
    if name is None or not name.strip():
        return ""
    wanted = _significant_words(name)
    matches = [
        v
        for v in verticals
        if wanted and all(any(_same_word(w, x) for x in _significant_words(v)) for w in wanted)
    ]
    if len(matches) != 1 or not _VERTICAL.match(name.strip()):
        known = ", ".join(verticals) or "none (leave vertical out)"
        raise DraftRequestError(
            f"vertical {name!r} is not one the documents write for; known verticals: {known}"
        )
    return " ".join(w if w.isupper() else w.lower() for w in matches[0].split())


def _significant_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.casefold()) if len(w) > 2}


def _same_word(a: str, b: str) -> bool:
    """ "finance" names "Financial Services": the same stem (a shared start of 5+ letters)."""
    size = min(len(a), len(b), 5)
    return a == b or (size >= 5 and a[:size] == b[:size])


def _only_customer_facing(hit: SearchHit, forms: tuple[str, ...], rules: BrandRules) -> SearchHit:
    """The hit with only the sentences a customer draft may use (table rows as claims)."""
    approved = hit.metadata.get("doc_type") == APPROVED_DOC_TYPE
    prose = "\n".join(line for line in hit.text.splitlines() if not line.lstrip().startswith("|"))
    # Split again after cleaning ("**Title.** Sentence" is two sentences), so that every piece
    # best_facts() may pick later has been checked on its own.
    pieces = [
        piece.text
        for sentence in units_of(0, hit.model_copy(update={"text": prose}))
        for piece in units_of(0, hit.model_copy(update={"text": _fact(sentence.text)}))
    ]
    kept = [s for s in pieces if customer_facing(s, forms, rules, approved)] + [
        s
        for s in table_claims(hit.text, forms)
        if customer_facing(s, forms, rules, approved, named_in_row=True)
    ]
    return hit.model_copy(update={"text": "\n\n".join(kept)})


def table_claims(text: str, forms: tuple[str, ...]) -> list[str]:
    """Rows of a table that name the product, as sentences: the first cell that is a statement
    (four words or more) is the claim, and the cells after it qualify it (a footnote, a
    condition), so they follow in parentheses and a claim keeps its footnote. Cells before it
    (ids) are left out."""
    claims = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        row = _MARKS.sub("", " ".join(cells))
        if len(cells) < 2 or not any(_phrase(form).search(row) for form in forms):
            continue
        for i, cell in enumerate(cells):
            if len(cell.split()) >= 4:
                rest = "; ".join(c.rstrip(".") for c in cells[i + 1 :] if c)
                claims.append(f"{cell.rstrip('.')} ({rest})." if rest else f"{cell.rstrip('.')}.")
                break
    return claims


def customer_facing(
    sentence: str,
    forms: tuple[str, ...],
    rules: BrandRules,
    approved: bool,
    named_in_row: bool = False,
) -> bool:
    """May this source sentence go into a customer draft about the product (see the module
    docstring)? ``named_in_row``: a table row already known to be about the product."""
    text = _fact(sentence)
    if not text or text.endswith("?") or "|" in text or _INSTRUCTION.match(text):
        return False
    words = text.split()
    opening = " ".join(words[: SUBJECT_WITHIN + max(len(f.split()) for f in forms) - 1])
    if not named_in_row and not any(_phrase(f).search(_MARKS.sub("", opening)) for f in forms):
        return False
    if _CURRENCY.search(text) or (_numbers(text) and not approved):
        return False
    return not rules.violations(text)


def _fact(sentence: str) -> str:
    """A source sentence as a line of the draft: no markers, bullets or wrapping quotes."""
    text = " ".join(MARKER.sub("", sentence).split())
    text = re.sub(r"^(?:[-*+\u2022]|\d+[.)])\s+", "", text).strip('"“” ')
    return text if not text or text[-1] in ".!?)" else text + "."


# -- brand rules ----------------------------------------------------------------------------


def brand_rules(service: Any, caller: CallerContext, products: list[str]) -> BrandRules:
    """The brand rules written in the corpus (see the module docstring). The documents that
    state them are found by retrieval; all their chunks are read."""
    hits = service.kb.retriever.retrieve(BRAND_QUERY, caller, k=10)
    rule_docs = {h.source for h in hits if _states_rules(h.text, h.section)}
    forbidden: dict[str, None] = {}
    marks: dict[str, str] = {}
    names = {p.casefold() for p in products}
    for hit in _chunks_of(service, caller, rule_docs):
        text = " ".join(hit.text.split())
        for name, mark in _MARKED.findall(text):
            marks.setdefault(name, mark)
        for phrase in _forbidden_phrases(hit.text, hit.section):
            if phrase.casefold() not in names:
                forbidden.setdefault(phrase, None)
    forbidden_list = tuple(p for p in forbidden if p not in marks)
    return BrandRules(
        forbidden=forbidden_list,
        marks=tuple(sorted(marks.items(), key=lambda m: -len(m[0]))),
        sources=tuple(sorted(rule_docs)),
    )


def _states_rules(text: str, section: str) -> bool:
    heading = section.rsplit(">", 1)[-1]
    return bool(_forbidden_phrases(text, section)) or bool(
        _MARKED.search(text) and NEGATION.search(text + " " + heading)
    )


def _forbidden_phrases(text: str, section: str) -> list[str]:
    """Quoted phrases in negated sentences, and the items listed under a negated heading."""
    found: list[str] = []
    heading = section.rsplit(">", 1)[-1]
    if NEGATION.search(heading):
        for item in _BULLET.findall(text):
            quoted = _QUOTED.findall(item)
            plain = item.strip().rstrip(".")
            found += quoted or ([plain] if 0 < len(plain.split()) <= 4 else [])
    flat = " ".join(text.split())
    for sentence in SENTENCE.split(flat):
        # Only what follows the negation: in `"Sentinel Complete", never "Sentinel Pro"` the
        # first name is the right one.
        negation = NEGATION.search(_QUOTED.sub(lambda m: " " * len(m[0]), sentence))
        if negation:
            found += _QUOTED.findall(sentence[negation.start() :])
    return [
        " ".join(p.split()).strip(" .,;")
        for p in found
        if 0 < len(p.split()) <= MAX_PHRASE_WORDS and not _MARKS.search(p)
    ]


def apply_brand_rules(text: str, products: list[str], rules: BrandRules) -> str:
    """Full product name at each product's first mention (a short form there is expanded),
    and the corpus's ™/® on the first mention of each marked name, none after it."""
    text = _MARKS.sub("", text)
    for product in products:
        short = _short_form(product, products)
        first = re.search(rf"{_boundary(product)}|{_boundary(short)}", text)
        if first and first.group(0) != product:
            text = text[: first.start()] + product + text[first.end() :]
    if not rules.marks:
        return text
    names = [name for name, _ in rules.marks]
    pattern = re.compile("|".join(_boundary(n) for n in names))
    marked: set[str] = set()
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        name = match.group(0)
        out.append(text[last : match.end()])
        if name not in marked:
            marked.add(name)
            out.append(dict(rules.marks)[name])
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def checked_partner(name: str | None, rules: BrandRules) -> str:
    """The partner's name as the draft writes it, refused when it is not a company name: a
    sentence, a figure ("99% cheaper", "Acme 99 cheaper"), more than a name's few words, or
    wording the brand rules forbid. The name is the only free text of a request that reaches a
    draft, so it must not be a way to put claims into it."""
    partner = " ".join((name or "Our team").split())
    if (
        not _NAME.match(partner)
        or re.search(r"[.!?]\s+\S", partner)
        or _numbers(partner)
        or len(partner.split()) > MAX_NAME_WORDS
    ):
        raise DraftRequestError(
            f"partner must be a company name of up to {MAX_NAME_WORDS} words, without figures "
            "(letters, digits within names such as 3M, & . ' -)"
        )
    broken = rules.violations(partner)
    if broken:
        raise DraftRequestError(f"partner contains wording the brand rules forbid: {broken}")
    return partner


# -- helpers --------------------------------------------------------------------------------


def _phrase(phrase: str) -> re.Pattern[str]:
    """A phrase as a whole-word pattern; an all-capitals abbreviation ("AG") matches only in
    capitals and not inside a code ("AG-EDR-200")."""
    flags = 0 if phrase.isupper() else re.IGNORECASE
    return re.compile(_boundary(phrase), flags)


def _boundary(phrase: str) -> str:
    words = r"\s+".join(re.escape(w) for w in phrase.split())
    return rf"(?<![\w-]){words}(?![\w-])"


def _visible_metadata(
    service: Any, caller: CallerContext, doc_types: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The metadata of every chunk of these document types the caller may see."""
    where = {"doc_type": {"$in": list(doc_types)}}
    return [hit.metadata for hit in service.kb.retriever.browse(caller, where)]


def _chunks_of(service: Any, caller: CallerContext, sources: set[str]) -> list[SearchHit]:
    """Every chunk of the given documents that the caller may see."""
    if not sources:
        return []
    return service.kb.retriever.browse(caller, {"source": {"$in": sorted(sources)}})
