"""PDF files through pypdf, one page at a time so that every block knows its page.

PDF text has no markup, so headings are recognised by shape: a short line without closing
punctuation that is numbered ("2.1 Eligibility"), in capitals, or followed by body text. Runs of
lines with several columns (tables) and of bullet lines (lists) are kept together.
"""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ingestion.documents import Block, LoadedDocument, LoadError

NUMBERED_HEADING = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.)\s+\S")
BULLET = re.compile(r"^\s*([-*\u2022\u25cf\u25aa]|\d+[.)])\s+")
COLUMNS = re.compile(r"\S\s{2,}\S|\S\s*\|\s*\S")


def _looks_like_heading(line: str) -> bool:
    text = line.strip()
    if not text or len(text) > 90 or text.endswith((".", ",", ";", ":")):
        return False
    if COLUMNS.search(text):
        return False
    words = text.split()
    if NUMBERED_HEADING.match(text) and len(words) <= 12:
        rest = [w for w in words[1:] if w[:1].isalpha() and len(w) > 3]
        return bool(rest) and sum(w[:1].isupper() for w in rest) >= 0.6 * len(rest)
    if BULLET.match(text):
        return False
    if text.isupper() and len(words) <= 10 and any(c.isalpha() for c in text):
        return True
    capitalised = sum(1 for w in words if w[:1].isupper() or not w[:1].isalpha())
    return len(words) <= 8 and capitalised == len(words)


def page_blocks(text: str, page: int, headings: list[str]) -> list[Block]:
    """Split one page's text into blocks; ``headings`` carries the path across pages."""
    blocks: list[Block] = []
    buffer: list[str] = []
    kind = "paragraph"

    def flush() -> None:
        nonlocal buffer, kind
        body = "\n".join(buffer).strip() if kind != "paragraph" else " ".join(buffer).strip()
        if body:
            blocks.append(Block(text=body, kind=kind, headings=tuple(headings), page=page))  # type: ignore[arg-type]
        buffer, kind = [], "paragraph"

    pending_blank = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            pending_blank = True
            continue
        if pending_blank:
            pending_blank = False
            if not (kind == "table" and COLUMNS.search(line)):  # table rows may be spaced out
                flush()
        if kind == "paragraph" and not buffer and _looks_like_heading(line):
            flush()
            title = line.strip()
            depth = (
                title.split()[0].rstrip(".").count(".") + 1 if NUMBERED_HEADING.match(title) else 1
            )
            if NUMBERED_HEADING.match(title) and headings:
                del headings[depth - 1 :]
            else:
                headings.clear()
            headings.append(title)
            continue
        line_kind = "table" if COLUMNS.search(line) else "list" if BULLET.match(line) else None
        if line_kind and line_kind != kind:
            flush()
            kind = line_kind
        elif line_kind is None and kind == "table":
            flush()
        if kind == "table":
            line = re.sub(r"\s{2,}", " | ", line.strip())
        buffer.append(line.strip())
    flush()
    return blocks


def load_pdf(path: Path, doc_id: str, data: bytes) -> LoadedDocument:
    import io

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("encrypted PDF (remove the password before ingesting)")
        pages = [page.extract_text(extraction_mode="layout") or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(
            f"corrupt PDF: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        raise LoadError(f"corrupt PDF: {type(exc).__name__}: {exc}") from None
    headings: list[str] = []
    blocks: list[Block] = []
    for number, text in enumerate(pages, start=1):
        blocks.extend(page_blocks(text, number, headings))
    if not blocks:
        raise LoadError("PDF has no extractable text (scanned image or empty)")
    return LoadedDocument(
        doc_id=doc_id, source=doc_id, blocks=blocks, default_title=str(info_title).strip()
    )
