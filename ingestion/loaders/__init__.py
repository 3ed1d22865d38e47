"""Pick a loader by file extension and turn bytes into :class:`LoadedDocument` objects.

Every way a file can be unreadable ends in a :class:`LoadError` with a one-line reason, so the
pipeline can report it and go on with the rest of the batch.
"""

from __future__ import annotations

from pathlib import Path

from ingestion.documents import LoadedDocument, LoadError
from ingestion.loaders.catalog import load_catalog
from ingestion.loaders.html import load_html
from ingestion.loaders.markdown import load_markdown
from ingestion.loaders.pdf import load_pdf
from ingestion.loaders.text import load_text

TEXT_LOADERS = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".txt": load_text,
}
CATALOG_SUFFIXES = {".yaml", ".yml", ".json", ".csv"}
SUPPORTED = set(TEXT_LOADERS) | CATALOG_SUFFIXES | {".pdf"}


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError("binary content in a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"not UTF-8 text (bad byte at offset {exc.start}); re-save as UTF-8"
        ) from None
    return text


def load_file(path: Path, doc_id: str, data: bytes) -> list[LoadedDocument]:
    """Load one file. A catalog file yields one document per course."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type {suffix or '(none)'!r}")
    if not data.strip():
        raise LoadError("empty file")
    if suffix == ".pdf":
        if not data.lstrip().startswith(b"%PDF"):
            raise LoadError("not a PDF (no %PDF header)")
        documents = [load_pdf(path, doc_id, data)]
    elif suffix in CATALOG_SUFFIXES:
        documents = load_catalog(path, doc_id, _decode(data))
    else:
        documents = [TEXT_LOADERS[suffix](path, doc_id, _decode(data))]
    for document in documents:
        if not any(block.text.strip() for block in document.blocks):
            raise LoadError("no text to index")
    return documents
