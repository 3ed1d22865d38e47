"""Block Kit for the Slack bot: an `Answer` as a Slack message, within Slack's limits.

Blocks are built with slack_sdk's block builders (``SectionBlock``, ``ButtonElement``, ``View``…)
so field names and nesting are the SDK's, not hand-written dicts. Slack refuses a whole message
when one block breaks a limit, so everything here is cut to fit before it is sent: at most 50
blocks, section text up to 3000 characters, context blocks of up to 10 elements, button values
up to 2000 characters. Text from answers and documents is escaped (``&``, ``<``, ``>``), so a
document cannot ping ``<!channel>`` or forge a link; only links this module builds, to http(s)
addresses, are live. Answers are Markdown; Slack reads its own mrkdwn, so lists, bold, italics,
headings and links are converted (:func:`markdown_to_mrkdwn`).

The bot's own words (buttons, hints, the comment box, the App Home) are the ``"slack"`` section
of the UI strings (:mod:`api.i18n`), in the language each function is given; an answer's are in
the answer's ``language``. The buttons carry that language with the answer id
(:func:`button_value`), so what a click says back is in the language the buttons were.

Example::

    blocks = answer_blocks(answer)      # section(s), citation context, hand-off hint, buttons
    text = answer_text(answer)          # the fallback for notifications and thread history
"""

from __future__ import annotations

import math
import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from api.i18n import Strings, languages, strings
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
FEEDBACK_COMMENT = "feedback_comment"  # the comment modal's callback id
COMMENT_BLOCK, COMMENT_INPUT = "comment", "text"
MAX_COMMENT = 2000

LANGUAGE_MARK = "|"  # between the answer id and the UI language in a button's value
_MARKER = re.compile(r"\[(\d{1,3})\]")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+|[^\s)]*)\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.M)
_BOLD = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*|__(\S(?:.*?\S)?)__")
_ITALIC = re.compile(r"(?<![*\w])\*(\S(?:[^*\n]*?\S)?)\*(?![*\w])")
_BOLD_MARK = "\x02"


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


def slack_strings(language: str | None) -> Strings:
    """The bot's own words in ``language`` (English when it ships none)."""
    return strings("slack", language)


def button_value(answer_id: str, language: str) -> str:
    """What an answer's buttons carry: the answer id and the language they are written in."""
    return f"{answer_id}{LANGUAGE_MARK}{language}"[:MAX_BUTTON_VALUE]


def parse_button_value(value: str) -> tuple[str, str | None]:
    """The answer id and UI language of a button's value; a bare answer id (a message posted
    before buttons carried a language) has no language.

    >>> parse_button_value("9f2c|de"), parse_button_value("9f2c")
    (('9f2c', 'de'), ('9f2c', None))
    """
    answer_id, mark, language = value.rpartition(LANGUAGE_MARK)
    if mark and language in languages():
        return answer_id, language
    return value, None


def handoff_hint(t: Strings) -> str:
    """The line pointing at the hand-off button. The refusal itself is the answer's text (in the
    partner's language); this only points at the button, so an abstained answer says "I can't
    answer" once."""
    return t("handoffHint", button=t("handoff"))


def citation_label(citation: Citation, t: Strings | None = None) -> str:
    """``[n] title — section, p. N``: what a reader needs to find the passage. The title stays
    in the source's own language; only "p." follows ``t``."""
    t = t or slack_strings(None)
    name = citation.title or citation.source.rsplit("/", 1)[-1]
    page = t("page", page=citation.page) if citation.page else ""
    where = ", ".join(part for part in (citation.section, page) if part)
    label = f"[{citation.n}] {name}" + (f" — {where}" if where else "")
    return label if len(label) <= MAX_CITATION_LABEL else label[: MAX_CITATION_LABEL - 1] + "…"


def markdown_to_mrkdwn(text: str, urls: dict[int, str | None] | None = None) -> str:
    """Markdown as Slack mrkdwn, escaped: ``- item`` as ``• item``, ``**bold**`` and headings as
    ``*bold*``, ``*italic*`` as ``_italic_``, ``[label](url)`` as ``<url|label>`` (text only when
    the URL is not http(s)), and each ``[n]`` marker linked to its source's URL when known.

    >>> markdown_to_mrkdwn("**Gold** partners:\\n- get *MDF* [portal](https://p.example)")
    '*Gold* partners:\\n• get _MDF_ <https://p.example|portal>'
    """
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        links.append(link(match[2], match[1]))
        return f"\x00{len(links) - 1}\x00"

    text = escape(_MD_LINK.sub(keep_link, text))
    text = _HEADING.sub(lambda m: f"{_BOLD_MARK}{m[1]}{_BOLD_MARK}", text)
    text = _BULLET.sub(lambda m: f"{m[1]}• ", text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m[1] or m[2]}{_BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text).replace(_BOLD_MARK, "*")
    if urls:
        text = _MARKER.sub(lambda m: link(urls.get(int(m[1])), m[0]), text)
    return re.sub("\x00(\\d+)\x00", lambda m: links[int(m[1])], text)


def answer_mrkdwn(answer: Answer, t: Strings | None = None) -> str:
    """The answer as Slack mrkdwn (:func:`markdown_to_mrkdwn`), cut to a readable length."""
    t = t or slack_strings(answer.language)
    text = answer.answer.strip()
    shortened = len(text) > MAX_ANSWER_CHARS
    if shortened:
        text = text[:MAX_ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
    text = markdown_to_mrkdwn(text, {c.n: c.url for c in answer.citations})
    return text + (f"\n_{t('shortened')}_" if shortened else "")


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


def answer_text(answer: Answer, t: Strings | None = None) -> str:
    """The message's fallback ``text``: shown in notifications and read back as thread history,
    so it is the answer alone (escaped, within a section's length)."""
    t = t or slack_strings(answer.language)
    text = escape(answer.answer.strip()) or t("noAnswer")
    return text if len(text) <= MAX_SECTION_TEXT else text[: MAX_SECTION_TEXT - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=text)).to_dict()


def _context(texts: list[str]) -> dict[str, Any]:
    return ContextBlock(elements=[MarkdownTextObject(text=t) for t in texts]).to_dict()


def _citation_blocks(citations: list[Citation], budget: int, t: Strings) -> list[dict[str, Any]]:
    """Citations, ten to a context block, in at most ``budget`` blocks; when they do not fit,
    the last element says how many were left out."""
    if budget <= 0 or not citations:
        return []
    labels = [link(c.url, citation_label(c, t)) for c in citations]
    room = budget * MAX_CONTEXT_ELEMENTS
    if len(labels) > room:
        left_out = len(labels) - (room - 1)
        labels = labels[: room - 1] + [t("moreSources", n=left_out)]
    return [
        _context(labels[i : i + MAX_CONTEXT_ELEMENTS])
        for i in range(0, len(labels), MAX_CONTEXT_ELEMENTS)
    ]


def _button(
    text: str, action_id: str, value: str, label: str, style: str | None = None
) -> ButtonElement:
    """A button with an ``accessibility_label``: screen readers say what it does, not "thumbs
    up"."""
    return ButtonElement(
        text=PlainTextObject(text=text, emoji=True),
        action_id=action_id,
        value=value[:MAX_BUTTON_VALUE],
        style=style,
        accessibility_label=label,
    )


def action_blocks(answer: Answer, t: Strings | None = None) -> list[dict[str, Any]]:
    """Feedback and hand-off buttons in ``t``'s language (the answer's by default); none when
    the answer has no id to refer back to."""
    if not answer.answer_id:
        return []
    t = t or slack_strings(answer.language)
    value = button_value(answer.answer_id, t.language)
    primary = "primary" if answer.path == "abstained" else None
    buttons = [
        _button("👍", FEEDBACK_UP, value, t("helped")),
        _button("👎", FEEDBACK_DOWN, value, t("notHelped")),
        _button(t("handoff"), HANDOFF, value, t("handoffLabel"), primary),
    ]
    return [ActionsBlock(block_id="answer_actions", elements=buttons).to_dict()]


def answer_blocks(answer: Answer, language: str | None = None) -> list[dict[str, Any]]:
    """The whole message: answer section(s), citations, a hand-off hint when one is offered,
    then the buttons; the bot's words in ``language``, by default the answer's."""
    t = slack_strings(language or answer.language)
    tail = action_blocks(answer, t)
    if (answer.path == "abstained" or answer.handoff_offered) and tail:
        tail = [_context([handoff_hint(t)]), *tail]
    citation_room = MAX_BLOCKS - len(tail) - 1
    citations = _citation_blocks(
        answer.citations, min(citation_room, math.ceil(len(answer.citations) / 10)), t
    )
    sections = [_section(p) for p in split_text(answer_mrkdwn(answer, t))]
    sections = sections[: MAX_BLOCKS - len(tail) - len(citations)]
    return [*sections, *citations, *tail]


def handoff_requested_blocks(
    blocks: list[dict[str, Any]], reference: str, language: str | None = None
) -> list[dict[str, Any]]:
    """The answer message once its hand-off is requested: the buttons and the hint (in whichever
    language it was written) give way to a line everyone in the thread sees, in ``language``, so
    nobody presses again or wonders whether it worked."""
    hints = [
        [{"type": "mrkdwn", "text": handoff_hint(slack_strings(code))}] for code in languages()
    ]
    kept = [b for b in blocks if b.get("type") != "actions" and b.get("elements") not in hints]
    done = slack_strings(language)("handoffMarked", ref=escape(reference))
    return [*kept, _context([done])][:MAX_BLOCKS]


def feedback_modal(feedback_id: str, language: str | None = None) -> dict[str, Any]:
    """The comment box that opens after 👎, in ``language``; the rating's id rides in
    ``private_metadata``."""
    t = slack_strings(language)
    return View(
        type="modal",
        callback_id=FEEDBACK_COMMENT,
        private_metadata=feedback_id[:MAX_BUTTON_VALUE],
        title=PlainTextObject(text=t("commentTitle")),
        submit=PlainTextObject(text=t("commentSend")),
        close=PlainTextObject(text=t("commentSkip")),
        blocks=[
            InputBlock(
                block_id=COMMENT_BLOCK,
                label=PlainTextObject(text=t("commentLabel")),
                element=PlainTextInputElement(
                    action_id=COMMENT_INPUT, multiline=True, max_length=MAX_COMMENT
                ),
                optional=True,
            )
        ],
    ).to_dict()


def home_view(starters: list[str], language: str | None = None) -> dict[str, Any]:
    """The App Home tab in ``language``: what the assistant is for and questions to start
    with."""
    t = slack_strings(language)
    blocks: list[Any] = [
        HeaderBlock(text=PlainTextObject(text=t("homeTitle"))),
        SectionBlock(text=MarkdownTextObject(text=t("homeIntro"))),
    ]
    if starters:
        questions = "\n".join(f"• {escape(q)}" for q in starters)
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"*{t('homeTry')}*\n{questions}"[:MAX_SECTION_TEXT])
            )
        )
    return View(type="home", blocks=blocks).to_dict()


def notice_blocks(text: str) -> list[dict[str, Any]]:
    """A short bot notice (busy, bad question, error) as one section; ``text`` is our own
    mrkdwn, never a partner's or a document's."""
    return [_section(split_text(text)[0])]
