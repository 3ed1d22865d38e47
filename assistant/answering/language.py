"""The language a question is asked in: the answer is written in it.

The caller's ``lang`` (from the token or the channel) is a hint; the question wins when a
detector is confident about it. Japanese and Chinese are told by their scripts; other languages
by ``langdetect`` (Google's language-detection profiles, offline), seeded so it is repeatable.
Very short questions keep the hint: detectors guess on three words.
"""

from __future__ import annotations

import re

KANA = re.compile(r"[\u3040-\u30ff]")
HAN = re.compile(r"[\u4e00-\u9fff]")
MIN_LETTERS = 12


def detect_language(text: str, hint: str = "en", supported: tuple[str, ...] = ()) -> str:
    if KANA.search(text):
        return "ja"
    if HAN.search(text):
        return "zh" if not supported or "zh" in supported else hint
    letters = sum(c.isalpha() for c in text)
    if letters < MIN_LETTERS:
        return hint
    try:
        from langdetect import DetectorFactory, detect_langs
    except ImportError:  # pragma: no cover - declared dependency
        return hint
    DetectorFactory.seed = 0
    try:
        best = detect_langs(text)[0]
    except Exception:  # langdetect raises on text without features
        return hint
    code = best.lang.split("-")[0]
    if best.prob < 0.9 or (supported and code not in supported):
        return hint
    return code
