"""The reader: a chat model answers from numbered passages, citing them, or says NOT FOUND.

The prompt (``prompts/read.md``) is the only place the reader's behaviour is worded; this
module renders it and reads the reply back into a :class:`Reading`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answering.evidence import Evidence
from assistant.answering.names import situation_and_question
from assistant.prompt_files import Prompt

NOT_FOUND = re.compile(r"\bNOT[ _]FOUND\b", re.IGNORECASE)
# A reply ends with the answer: a blank line or a new "Question:" only adds noise.
STOPS = ["\n\n", "Question:", "<passages>", "<|im_end|>"]
LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "ja": "Japanese",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
}


@dataclass(frozen=True)
class Reading:
    text: str
    found: bool  # False only when the reader said the passages do not state the answer


def messages(
    prompt: Prompt, question: str, evidence: Evidence, vendor: str, language: str
) -> list[dict[str, str]]:
    passages = [{"text": s.unit.text, "context": s.unit.context} for s in evidence.units]
    situation, asked = situation_and_question(question)
    return prompt.messages(
        vendor=vendor,
        passages=passages,
        situation=situation,
        question=asked,
        language=language,
        language_name=LANGUAGE_NAMES.get(language, language),
    )


def parse(reply: str) -> Reading:
    """The reply without a leading "Answer:" label; ``found`` is false for NOT FOUND (an empty
    reply is no answer, not a "no")."""
    text = re.sub(
        r"^\s*(answer|antwort|respuesta|réponse|回答)\s*[:：]\s*",
        "",
        reply.strip(),
        flags=re.IGNORECASE,
    )
    if NOT_FOUND.search(text):
        return Reading("", False)
    return Reading(text.strip(), True)
