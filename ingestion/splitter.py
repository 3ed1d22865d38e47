"""Structure-aware chunking.

Chunks follow the document's structure: a chunk never spans two sections, so its heading path
(``Deal registration > Eligibility``) is exact; tables and lists stay whole when they fit; a block
that is too large is cut between table rows (repeating the header row), list items or sentences.
Consecutive chunks of one section overlap by up to ``overlap`` characters of whole sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingestion.documents import Block

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass(frozen=True)
class Chunk:
    text: str
    headings: tuple[str, ...]
    page: int | None
    index: int

    @property
    def section(self) -> str:
        return " > ".join(self.headings)


def _pieces(block: Block, size: int) -> list[str]:
    """Cut one oversized block into pieces of at most ``size`` characters."""
    text = block.text
    if len(text) <= size:
        return [text]
    if block.kind == "table":
        rows = text.splitlines()
        header, rows = rows[:1], rows[1:]
        units, prefix = rows, header
    elif block.kind in ("list", "code"):
        units, prefix = text.splitlines(), []
    else:
        units, prefix = SENTENCE_END.split(text), []
    pieces: list[str] = []
    current: list[str] = list(prefix)
    joiner = " " if block.kind == "paragraph" else "\n"
    for unit in units:
        while len(unit) > size:  # a single overlong sentence or row: hard cut at a space
            cut = unit.rfind(" ", 0, size) if " " in unit[:size] else size
            cut = cut if cut > 0 else size
            if len(current) > len(prefix):
                pieces.append(joiner.join(current))
                current = list(prefix)
            pieces.append(unit[:cut])
            unit = unit[cut:].lstrip()
        candidate = joiner.join([*current, unit])
        if len(candidate) > size and len(current) > len(prefix):
            pieces.append(joiner.join(current))
            current = [*prefix, unit]
        else:
            current.append(unit)
    if len(current) > len(prefix):
        pieces.append(joiner.join(current))
    return [p for p in pieces if p.strip()]


def _tail(text: str, overlap: int) -> str:
    """The last whole sentences of ``text`` that fit in ``overlap`` characters."""
    if overlap <= 0:
        return ""
    sentences = SENTENCE_END.split(text)
    tail: list[str] = []
    for sentence in reversed(sentences[1:]):
        if len(sentence) + sum(len(s) + 1 for s in tail) > overlap:
            break
        tail.insert(0, sentence)
    return " ".join(tail)


def split_blocks(blocks: list[Block], size: int, overlap: int) -> list[Chunk]:
    """Group blocks into chunks of at most ``size`` characters (overlap aside)."""
    chunks: list[Chunk] = []
    parts: list[str] = []
    headings: tuple[str, ...] | None = None
    page: int | None = None
    last_kind = "paragraph"

    def emit() -> None:
        nonlocal parts
        text = "\n\n".join(parts).strip()
        if text:
            chunks.append(Chunk(text=text, headings=headings or (), page=page, index=len(chunks)))
        parts = []

    for block in blocks:
        for piece in _pieces(block, size):
            same_section = block.headings == headings
            length = sum(len(p) + 2 for p in parts) + len(piece)
            if parts and (not same_section or length > size):
                carry = (
                    _tail(parts[-1], overlap) if same_section and last_kind == "paragraph" else ""
                )
                emit()
                if carry and len(carry) + len(piece) + 2 <= size + overlap:
                    parts.append(carry)
            if not parts:
                headings, page = block.headings, block.page
            parts.append(piece)
            last_kind = block.kind
    emit()
    return chunks
