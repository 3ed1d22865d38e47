"""The user interface's own words, one JSON file a language: ``api/static/i18n/<lang>.json``.

The widget fetches those files itself (it reads their top-level keys); the API reads them here,
for the widget's starter questions and for the channels that speak for themselves, such as the
Slack bot (its strings are the file's ``"slack"`` section). Adding a language is adding a file.
A string missing from a file, or a language without a file, falls back to English.

Example::

    t = strings("slack", "de")
    t("handoffConfirmed", ref="HO-1A2B", hours="24")   # the German sentence, filled in
    pick_language("de-DE", "fr")                        # "de": the first shipped one
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

I18N_DIR = Path(__file__).resolve().parent / "static" / "i18n"
FALLBACK = "en"


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """The UI languages shipped (one JSON file each), sorted."""
    return tuple(sorted(path.stem for path in I18N_DIR.glob("*.json")))


@lru_cache(maxsize=16)
def messages(language: str) -> dict[str, Any]:
    """The whole file for ``language``; English when there is no such file."""
    path = I18N_DIR / f"{language}.json"
    if language not in languages():
        path = I18N_DIR / f"{FALLBACK}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def starter_questions(language: str) -> list[str]:
    """The starter questions in ``language`` (English if there is no translation): the widget
    and Slack's App Home show the same ones."""
    suggestions = messages(language).get("suggestions", [])
    return [str(q) for q in suggestions] if isinstance(suggestions, list) else []


def shipped(language: str | None) -> str | None:
    """``language`` as a shipped UI language, or None. Slack locales (``de-DE``) and POSIX ones
    (``fr_FR``) count as their language."""
    if not language:
        return None
    code = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    return code if code in languages() else None


def pick_language(*candidates: str | None) -> str:
    """The first candidate that is a shipped UI language (most specific first: the answer's
    language, then the user's locale, then the configured default), else English."""
    for candidate in candidates:
        code = shipped(candidate)
        if code is not None:
            return code
    return FALLBACK


@dataclass(frozen=True)
class Strings:
    """One section of the UI strings in one language; calling it fills a string's ``{name}``
    placeholders: ``t("tooLong", length=5000, limit=4000)``."""

    language: str
    table: Mapping[str, str]

    def __call__(self, key: str, **values: object) -> str:
        return self.table[key].format(**values)


@lru_cache(maxsize=64)
def strings(section: str, language: str | None) -> Strings:
    """The ``section`` object of ``language``'s file over the English one, so a key not yet
    translated is said in English rather than failing."""
    code = pick_language(language)
    english = messages(FALLBACK).get(section) or {}
    own = messages(code).get(section) or {}
    return Strings(code, {**english, **own})
