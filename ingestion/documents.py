"""What loaders produce: a document as a list of structural blocks.

Loaders keep structure (headings, paragraphs, lists, tables, pages) so that the splitter can cut
along it and carry the heading path and page into every chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

BlockKind = Literal["paragraph", "list", "table", "code", "record"]


@dataclass(frozen=True)
class Block:
    """A unit of text that should not be cut when it fits in one chunk."""

    text: str
    kind: BlockKind = "paragraph"
    headings: tuple[str, ...] = ()
    page: int | None = None


@dataclass
class LoadedDocument:
    """One document ready to be chunked.

    ``raw_metadata`` is what the file itself says (front matter, PDF info, HTML title); the
    pipeline merges it with manifests and sidecars and validates the result.
    """

    doc_id: str
    source: str
    blocks: list[Block]
    raw_metadata: dict[str, Any] = field(default_factory=dict)
    default_title: str = ""
    # Things worth telling the operator that do not stop indexing (an unknown course level).
    warnings: list[str] = field(default_factory=list)


class LoadError(Exception):
    """A file that cannot be indexed; the message is the one-line reason shown to the user."""
