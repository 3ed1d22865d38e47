"""Helpers shared by tests: settings on a temp folder, real PDFs, a counting embedder."""

from __future__ import annotations

from pathlib import Path

from assistant.settings import DbSettings, LLMSettings, Settings, StoreSettings

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"


class CountingEmbedder:
    """The real embedder, counting what it is asked to embed (to prove skips)."""

    def __init__(self, inner):
        self.inner = inner
        self.name, self.dimension = inner.name, inner.dimension
        self.embedded: list[str] = []

    def embed_documents(self, texts):
        self.embedded.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def make_settings(folder: Path, **overrides) -> Settings:
    settings = Settings(
        store=StoreSettings(dir=folder / "store"),
        db=DbSettings(url=f"sqlite:///{folder / 'app.db'}"),
        llm=LLMSettings(cache_dir=Path.home() / ".cache" / "partner-assistant" / "models"),
    )
    return settings.model_copy(update=overrides) if overrides else settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_pdf(
    path: Path,
    pages: list[list[str]],
    table: list[tuple[str, ...]] | None = None,
    password: str | None = None,
) -> Path:
    """A real PDF made with fpdf2: one list of lines per page (a line starting '# ' is a heading),
    optionally a table on the first page and a password."""
    from fpdf import FPDF

    pdf = FPDF()
    for number, lines in enumerate(pages):
        pdf.add_page()
        for line in lines:
            if line.startswith("# "):
                pdf.set_font("helvetica", "B", 15)
                pdf.cell(0, 10, line[2:], new_x="LMARGIN", new_y="NEXT")
            else:
                pdf.set_font("helvetica", size=11)
                pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(2)
        if table and number == 0:
            pdf.ln(3)
            with pdf.table() as t:
                for row in table:
                    r = t.row()
                    for cell in row:
                        r.cell(cell)
    if password:
        pdf.set_encryption(owner_password=password, user_password=password)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def write_layered_knowledge_base(root: Path) -> Path:
    """A small knowledge base laid out like data/: a manifest at the top and in each folder, so
    its root is ``root`` whichever of its folders is ingested."""
    write(root / "manifest.yaml", "defaults:\n  audience: partner\n")
    write(root / "program" / "manifest.yaml", "defaults:\n  doc_type: program_rule\n")
    write(
        root / "program" / "deal.md", "# Deal registration\n\nA deal is protected for 120 days.\n"
    )
    write(root / "program" / "mdf.md", "# MDF\n\nMDF accrues at 3% of revenue.\n")
    write(root / "products" / "manifest.yaml", "defaults:\n  doc_type: product_doc\n")
    write(root / "products" / "flow.md", "# Flow\n\nFlow moves data between clouds.\n")
    return root
