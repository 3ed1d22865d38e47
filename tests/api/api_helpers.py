"""Constants and helpers shared by the API tests (import as ``from api_helpers import ...``)."""

from __future__ import annotations

SECRET = "test-secret-that-is-long-enough-for-hs256!"
MANAGER = {"X-API-Key": "mgr-key"}
ADMIN = {"X-API-Key": "adm-key"}
# What the scripted model answers: cited, no figures (so it passes verification), with markup
# that the widget must show as text.
MARKUP = "<img src=x onerror=window.__pwned=true> <b>bold</b>"


def scripted_reply(messages: list[dict]) -> str:
    """A model answer that passes verification (it copies the longest sentence of source 1 and
    cites it) and carries markup, so the widget's escaping is exercised on a real answer."""
    import re

    first = messages[-1]["content"].split("</source>")[0].split(">", 1)[-1]
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(first.split()))
    longest = max(sentences, key=len).rstrip(".")
    return f"{longest} {MARKUP} [1]."


# Nothing in the knowledge base is near this: the assistant must abstain.
ABSTAIN_QUESTION = "What will the weather be like on Jupiter next Tuesday?"


def parse_sse(text: str) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a Server-Sent Events body."""
    import json

    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events
