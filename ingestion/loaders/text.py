"""Plain text: paragraphs separated by blank lines; metadata comes from a sidecar."""

from __future__ import annotations

from pathlib import Path

from ingestion.documents import Block, LoadedDocument


def load_text(path: Path, doc_id: str, text: str) -> LoadedDocument:
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n")]
    blocks = [Block(text=p) for p in paragraphs if p]
    first_line = next((b.text.splitlines()[0] for b in blocks), "")
    title = first_line if 0 < len(first_line) <= 100 else path.stem
    return LoadedDocument(doc_id=doc_id, source=doc_id, blocks=blocks, default_title=title)
