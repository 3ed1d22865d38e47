"""HTML pages: the main text with headings, without the page chrome.

BeautifulSoup (lxml parser) does the parsing; navigation, headers, footers, scripts and forms are
dropped because they repeat on every page and would pollute retrieval.
"""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup, Tag

from ingestion.documents import Block, LoadedDocument, LoadError

CHROME = ["nav", "header", "footer", "aside", "script", "style", "form", "noscript", "template"]
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


def _table_text(table: Tag) -> str:
    rows = []
    for tr in table.find_all("tr"):
        cells = [c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])]
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def html_blocks(html: str) -> tuple[list[Block], str]:
    """Blocks of an HTML page and its title (``<title>``, else the first ``<h1>``)."""
    soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(CHROME):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    root = soup.find("main") or soup.find("article") or soup.body or soup
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []

    def path() -> tuple[str, ...]:
        return tuple(h for _, h in headings)

    for element in root.find_all(True):
        name = element.name
        if name in HEADINGS:
            text = element.get_text(" ", strip=True)
            if not text:
                continue
            level = HEADINGS[name]
            if level == 1 and not title:
                title = text
            headings = [(lvl, h) for lvl, h in headings if lvl < level] + [(level, text)]
        elif name == "table":
            text = _table_text(element)
            if text:
                blocks.append(Block(text=text, kind="table", headings=path()))
        elif name in ("ul", "ol") and not element.find_parent(["ul", "ol", "table"]):
            items = [li.get_text(" ", strip=True) for li in element.find_all("li")]
            text = "\n".join(f"- {item}" for item in items if item)
            if text:
                blocks.append(Block(text=text, kind="list", headings=path()))
        elif name in ("p", "pre", "blockquote", "dd", "dt") and not element.find_parent(
            ["table", "ul", "ol", "p", "blockquote"]
        ):
            text = element.get_text(" ", strip=True)
            if text:
                if name == "pre":
                    blocks.append(Block(text=text, kind="code", headings=path()))
                else:
                    blocks.append(Block(text=text, kind="paragraph", headings=path()))
    if not blocks:  # a page of bare text without block tags
        text = root.get_text("\n", strip=True)
        blocks = [Block(text=p) for p in text.split("\n") if p.strip()]
    return blocks, title


def load_html(path: Path, doc_id: str, text: str) -> LoadedDocument:
    try:
        blocks, title = html_blocks(text)
    except Exception as exc:  # lxml raises several types on hostile input
        raise LoadError(f"unreadable HTML: {exc}") from None
    return LoadedDocument(doc_id=doc_id, source=doc_id, blocks=blocks, default_title=title)
