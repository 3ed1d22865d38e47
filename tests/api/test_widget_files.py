"""The widget's files as served: every UI language complete, the demo page's embed escaped."""

from __future__ import annotations

import json
import re

import pytest

from api.i18n import languages
from api.routes.widget import STATIC_DIR

I18N = STATIC_DIR / "i18n"


def test_widget_ships_english_german_spanish_french_and_japanese():
    assert {"en", "de", "es", "fr", "ja"} <= set(languages())


@pytest.mark.parametrize("lang", languages())
def test_every_language_has_every_string_and_placeholder(lang):
    english = json.loads((I18N / "en.json").read_text(encoding="utf-8"))
    other = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))

    assert set(other) == set(english)
    assert len(other["suggestions"]) >= 3
    for key, text in english.items():
        if isinstance(text, str):
            assert set(re.findall(r"\{\w+\}", other[key])) == set(re.findall(r"\{\w+\}", text)), key


def test_widget_fallback_strings_match_english():
    """The strings built into widget.js (used when the JSON cannot load) are the English ones;
    the ``slack`` section is the Slack bot's, which the widget never reads."""
    source = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    fallback = source.split("var FALLBACK = {")[1].split("};")[0]
    keys = set(re.findall(r"^\s+(\w+):", fallback, flags=re.M))
    english = json.loads((I18N / "en.json").read_text(encoding="utf-8"))

    assert keys == set(english) - {"slack"}


def test_demo_page_escapes_the_embed_attributes(client):
    page = client.get('/?accent="><script>alert(1)</script>&launcher=<b>x</b>&position=top').text

    assert "<script>alert(1)" not in page and "<b>x</b>" not in page
    assert 'data-position="right"' in page
