"""Names a question can ask about, and how to find them in text.

Nothing here is a word list: level and region names come from the access settings (their codes,
display names and aliases, e.g. ``PA_ACCESS_ALIASES='{"emea": ["Europe"]}'``), codes are
recognised by shape (letters and digits: SKUs, course codes, versions), and table rows and
columns bring their own labels from the document. A question "What does an Elite partner get in
APJ?" names the tier ``elite`` and the region ``apj`` in any configured vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ingestion.settings import AccessSettings

CODE = re.compile(
    r"(?<![\w-])(?=[\w.-]*\d)(?=[\w.-]*[A-Za-z])[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)+(?![\w-])|(?<![\w-])[A-Z]{2,}\d+[A-Z0-9]*(?![\w-])"
)
# "30-minute", "60-day": a quantity written as one word, not a code.
QUANTITY = re.compile(r"^\d+(?:[.,]\d+)?-[a-z]+$", re.IGNORECASE)
# A capitalised word with a number names one of a series: "Severity 2", "Tier 3", "Guard 6.0".
LABELLED = re.compile(r"\b([A-Z][a-z]{2,}) (\d{1,3}(?:\.\d+)?)\b")
WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower case without accents, so "Région" and "region" match."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


def mentions(text: str, name: str) -> bool:
    """Does ``text`` name ``name`` as whole words (case- and accent-insensitive)?"""
    target = words(name)
    if not target:
        return False
    tokens = words(text)
    n = len(target)
    return any(tokens[i : i + n] == target for i in range(len(tokens) - n + 1))


def names_as_name(text: str, name: str) -> bool:
    """``name`` occurs in ``text`` written as a name: capitalised ("Registered partners", "EMEA",
    "Gold"), not as the common word ("a registered deal", "gold standard" in lower case). Text
    without capitals (or in a script without case) is matched as it is."""
    target = words(name)
    if not target or not mentions(text, name):
        return False
    if not any(c.isupper() for c in text):
        return True
    pattern = r"\b" + r"\W+".join(re.escape(w) for w in name.split()) + r"\b"
    for match in re.finditer(pattern, text, re.IGNORECASE):
        first = match.group(0)[0]
        if first.isupper() or first.isupper() == first.islower():
            return True
    return False


@dataclass(frozen=True)
class Named:
    """What a text names: tier and region codes, and codes such as SKUs or one of a numbered
    series ("severity 2")."""

    tiers: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.tiers or self.regions or self.codes)


@dataclass
class Vocabulary:
    """Tier and region names with their aliases, from settings."""

    tiers: dict[str, list[str]] = field(default_factory=dict)
    regions: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, access: AccessSettings) -> Vocabulary:
        aliases = {k.lower(): v for k, v in access.aliases.items()}
        return cls(
            tiers={t: [t, *aliases.get(t, [])] for t in access.tiers},
            regions={r: [r, *aliases.get(r, [])] for r in access.regions},
        )

    def named(self, text: str) -> Named:
        return Named(
            tiers=frozenset(
                t for t, names in self.tiers.items() if any(names_as_name(text, n) for n in names)
            ),
            regions=frozenset(
                r for r, names in self.regions.items() if any(names_as_name(text, n) for n in names)
            ),
            codes=frozenset(
                [c.lower() for c in CODE.findall(text) if not QUANTITY.match(c)]
                + [f"{w.lower()} {n}" for w, n in LABELLED.findall(text)]
            ),
        )

    def names_for(self, named: Named) -> list[str]:
        """Every name of the tiers and regions in ``named``."""
        return [n for code in sorted(named.regions | named.tiers) for n in self.names_of(code)]

    def names_of(self, code: str) -> list[str]:
        return self.tiers.get(code) or self.regions.get(code) or [code]
