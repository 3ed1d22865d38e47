"""The UI strings every channel reads (api/static/i18n/<lang>.json): the Slack bot's section is
complete in every language, and a language is chosen from what is known about the partner."""

from __future__ import annotations

import json
import re

import pytest

from api.i18n import I18N_DIR, languages, pick_language, strings

ENGLISH_SLACK = json.loads((I18N_DIR / "en.json").read_text(encoding="utf-8"))["slack"]


@pytest.mark.parametrize("language", languages())
def test_every_language_has_exactly_the_english_slack_strings(language):
    slack = json.loads((I18N_DIR / f"{language}.json").read_text(encoding="utf-8"))["slack"]

    assert sorted(set(ENGLISH_SLACK) - set(slack)) == []  # nothing missing
    assert sorted(set(slack) - set(ENGLISH_SLACK)) == []  # nothing left over
    for key, english in ENGLISH_SLACK.items():
        assert isinstance(slack[key], str) and slack[key].strip(), key
        placeholders = set(re.findall(r"\{\w+\}", english))
        assert set(re.findall(r"\{\w+\}", slack[key])) == placeholders, key


def test_the_slack_strings_are_translated_not_copied():
    for language in set(languages()) - {"en"}:
        slack = strings("slack", language)
        same = [k for k, text in ENGLISH_SLACK.items() if slack.table[k] == text]
        assert set(same) <= {"page"}, (language, same)  # "p. {page}" may be spelled alike


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        (("de",), "de"),
        (("de-DE",), "de"),
        (("fr_FR",), "fr"),
        (("zh", "ja"), "ja"),  # no Chinese strings: the next candidate
        ((None, "", "es"), "es"),
        (("xx",), "en"),
        ((), "en"),
    ],
)
def test_pick_language_takes_the_first_shipped_candidate(candidates, chosen):
    assert pick_language(*candidates) == chosen


def test_a_string_missing_from_a_language_falls_back_to_english(tmp_path, monkeypatch):
    import api.i18n as i18n

    (tmp_path / "en.json").write_text(json.dumps({"slack": {"a": "A", "b": "B {n}"}}))
    (tmp_path / "de.json").write_text(json.dumps({"slack": {"a": "Ä"}}))
    monkeypatch.setattr(i18n, "I18N_DIR", tmp_path)
    for cached in (i18n.languages, i18n.messages, i18n.strings):
        cached.cache_clear()
    try:
        german = i18n.strings("slack", "de")
        assert (german("a"), german("b", n=2)) == ("Ä", "B 2")
        assert i18n.strings("slack", "ja").language == "en"
    finally:
        monkeypatch.undo()
        for cached in (i18n.languages, i18n.messages, i18n.strings):
            cached.cache_clear()
