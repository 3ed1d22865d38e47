"""Block Kit for the Slack bot: an `Answer` as a Slack message, within Slack's limits.

Slack refuses a whole message when one block breaks a limit, so everything here is cut to fit
before it is sent: at most 50 blocks, section text up to 3000 characters, context blocks of up to
10 elements, button values up to 2000 characters. Text from answers and documents is escaped
(``&``, ``<``, ``>``), so a document cannot ping ``<!channel>`` or forge a link; only links this
module builds, to http(s) addresses, are live.

Example::

    blocks = answer_blocks(answer)      # section(s), citation context, notice, buttons
    text = answer_text(answer)          # the fallback for notifications and thread history
"""

from __future__ import annotations

import math
import re
from typing import Any

from assistant.models import Answer, Citation

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_VALUE = 2000
# A Slack message is for reading in a thread; a longer answer is cut with a note.
MAX_ANSWER_CHARS = 12_000
MAX_CITATION_LABEL = 300

FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
HANDOFF = "handoff"

ABSTAIN_NOTICE = (
    ":information_source: I couldn't find a reliable answer in the partner documents you have "
    "access to. Press *Talk to a person* and your channel manager will follow up."
)
SHORTENED = "\n_(answer shortened for Slack)_"
_MARKER = re.compile(r"\[(\d{1,3})\]")
_BOLD = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")


def escape(text: str) -> str:
    """Slack's three control characters as entities (its only escaping rule for mrkdwn)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str | None) -> str | None:
    """The URL if it may be linked (http or https, no whitespace), escaped for ``<url|…>``."""
    if not url or not re.match(r"https?://\S+$", url.strip(), re.IGNORECASE):
        return None
    return escape(url.strip()).replace("|", "%7C")


def link(url: str | None, label: str) -> str:
    """``<url|label>`` when the URL is safe to link, else the escaped label alone."""
    text = escape(label).replace("|", "¦")
    target = safe_url(url)
    return f"<{target}|{text}>" if target else text


def citation_label(citation: Citation) -> str:
    """``[n] title — section, p. N``: what a reader needs to find the passage."""
    name = citation.title or citation.source.rsplit("/", 1)[-1]
    where = ", ".join(
        part for part in (citation.section, f"p. {citation.page}" if citation.page else "") if part
    )
    label = f"[{citation.n}] {name}" + (f" — {where}" if where else "")
    return label if len(label) <= MAX_CITATION_LABEL else label[: MAX_CITATION_LABEL - 1] + "…"


def answer_mrkdwn(answer: Answer) -> str:
    """The answer as Slack mrkdwn: escaped, ``**bold**`` as ``*bold*``, and each ``[n]`` marker
    linked to its source when the citation has a URL."""
    text = answer.answer.strip()
    shortened = len(text) > MAX_ANSWER_CHARS
    if shortened:
        text = text[:MAX_ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
    urls = {c.n: c.url for c in answer.citations}
    text = _BOLD.sub(r"*\1*", escape(text))
    text = _MARKER.sub(lambda m: link(urls.get(int(m[1])), m[0]), text)
    return text + (SHORTENED if shortened else "")


def split_text(text: str, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a line break or space where possible and
    never inside a ``<…>`` link or an ``&…;`` entity."""
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = limit
            opened = max(window.rfind("<"), window.rfind("&"))
            if opened > 0 and opened > window.rfind(">") and opened > window.rfind(";"):
                cut = opened
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not pieces:
        pieces.append(text)
    return [p for p in pieces if p] or [" "]


def answer_text(answer: Answer) -> str:
    """The message's fallback ``text``: shown in notifications and read back as thread history,
    so it is the answer alone (escaped, within a section's length)."""
    text = escape(answer.answer.strip()) or "(no answer)"
    return text if len(text) <= MAX_SECTION_TEXT else text[: MAX_SECTION_TEXT - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(texts: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in texts]}


def _citation_blocks(citations: list[Citation], budget: int) -> list[dict[str, Any]]:
    """Citations, ten to a context block, in at most ``budget`` blocks; when they do not fit,
    the last element says how many were left out."""
    if budget <= 0 or not citations:
        return []
    labels = [link(c.url, citation_label(c)) for c in citations]
    room = budget * MAX_CONTEXT_ELEMENTS
    if len(labels) > room:
        left_out = len(labels) - (room - 1)
        labels = labels[: room - 1] + [f"+{left_out} more sources"]
    return [
        _context(labels[i : i + MAX_CONTEXT_ELEMENTS])
        for i in range(0, len(labels), MAX_CONTEXT_ELEMENTS)
    ]


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value[:MAX_BUTTON_VALUE],
    }
    if style:
        button["style"] = style
    return button


def action_blocks(answer: Answer) -> list[dict[str, Any]]:
    """Feedback and hand-off buttons; none when the answer has no id to refer back to."""
    if not answer.answer_id:
        return []
    abstained = answer.path == "abstained"
    return [
        {
            "type": "actions",
            "block_id": "answer_actions",
            "elements": [
                _button("👍", FEEDBACK_UP, answer.answer_id),
                _button("👎", FEEDBACK_DOWN, answer.answer_id),
                _button(
                    "Talk to a person", HANDOFF, answer.answer_id, "primary" if abstained else None
                ),
            ],
        }
    ]


def answer_blocks(answer: Answer) -> list[dict[str, Any]]:
    """The whole message: answer section(s), citations, an abstain notice, then the buttons."""
    tail = action_blocks(answer)
    if answer.path == "abstained" or answer.handoff_offered:
        tail = [_context([ABSTAIN_NOTICE]), *tail]
    citation_room = MAX_BLOCKS - len(tail) - 1
    citations = _citation_blocks(
        answer.citations, min(citation_room, math.ceil(len(answer.citations) / 10))
    )
    sections = [_section(p) for p in split_text(answer_mrkdwn(answer))]
    sections = sections[: MAX_BLOCKS - len(tail) - len(citations)]
    return [*sections, *citations, *tail]


def notice_blocks(text: str) -> list[dict[str, Any]]:
    """A short bot notice (busy, bad question, error) as one section; ``text`` is our own
    mrkdwn, never a partner's or a document's."""
    return [_section(split_text(text)[0])]
