"""Markdown with YAML front matter, parsed into heading-scoped blocks.

A small line-based parser is enough here: we need headings, paragraphs, lists, tables and fences
as units, not a rendering. Tables and lists stay whole so that the splitter can keep them together.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ingestion.documents import Block, LoadedDocument, LoadError
from ingestion.metadata import load_yaml

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n?^---[ \t]*\r?(?:\n|\Z)", re.DOTALL | re.M)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The YAML block between a first line ``---`` and the next ``---`` line, and the body after
    it. A first line ``---`` with no closing line is an error, not a body: the metadata meant
    for the file would otherwise be dropped and the file indexed with defaults (such as no tier
    restriction)."""
    match = FRONT_MATTER.match(text)
    if not match:
        first = text.split("\n", 1)[0]
        if first.rstrip() == "---":
            raise LoadError(
                "bad front matter: it opens with '---' on line 1 but no closing '---' line "
                "follows; add one after the last field"
            )
        return {}, text
    try:
        data = load_yaml(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise LoadError(f"bad front matter: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise LoadError("bad front matter: it must be a mapping of fields")
    return data, text[match.end() :]


def markdown_blocks(body: str) -> tuple[list[Block], str]:
    """Return the blocks of a Markdown body and its first level-1 heading (the title)."""
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    title = ""
    buffer: list[str] = []
    kind = "paragraph"
    in_fence = False

    def flush() -> None:
        nonlocal buffer, kind
        text = "\n".join(buffer).strip()
        if text:
            path = tuple(h for _, h in headings)
            blocks.append(Block(text=text, kind=kind, headings=path))  # type: ignore[arg-type]
        buffer, kind = [], "paragraph"

    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("```") or stripped.startswith("~~~"):
            if in_fence:
                buffer.append(line)
                flush()
                in_fence = False
            else:
                flush()
                in_fence, kind = True, "code"
                buffer.append(line)
            continue
        if in_fence:
            buffer.append(line)
            continue
        heading = HEADING.match(line)
        if heading:
            flush()
            level, text = len(heading.group(1)), heading.group(2).strip()
            if level == 1 and not title:
                title = text
            headings = [(lvl, h) for lvl, h in headings if lvl < level] + [(level, text)]
            continue
        if not stripped:
            if kind != "list":
                flush()
            continue
        line_kind = (
            "table" if stripped.startswith("|") else "list" if LIST_ITEM.match(line) else None
        )
        if line_kind and line_kind != kind:
            flush()
            kind = line_kind
        elif (
            line_kind is None
            and kind == "table"
            or line_kind is None
            and kind == "list"
            and not line.startswith((" ", "\t"))
        ):
            flush()
        buffer.append(line.rstrip())
    flush()
    return blocks, title


def load_markdown(path: Path, doc_id: str, text: str) -> LoadedDocument:
    front, body = split_front_matter(text)
    blocks, title = markdown_blocks(body)
    return LoadedDocument(
        doc_id=doc_id, source=doc_id, blocks=blocks, raw_metadata=front, default_title=title
    )
