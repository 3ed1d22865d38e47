"""Text that tries to give orders. A passage holding it is never evidence, and a question
holding it is answered as a question about the documents, never obeyed."""

from __future__ import annotations

import re

INJECTION = re.compile(
    r"ignore (all |any )?(the |your )?(previous|prior|above|earlier) (instructions|rules|prompts?)"
    r"|disregard (all |the |your )?(previous |prior )?(instructions|rules)"
    r"|ignore (all |your )?(rules|instructions)"
    r"|you are now|new instructions:|system prompt|developer mode|jailbreak"
    r"|reveal (the |your )?(prompt|instructions|internal)",
    re.IGNORECASE,
)


def looks_like_injection(text: str) -> bool:
    return bool(INJECTION.search(text))
