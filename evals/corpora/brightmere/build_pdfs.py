"""Build the PDF of the Brightmere evaluation corpus from the source text kept in this script.

Why a script: the corpus needs a real PDF with a table (the deal-registration policy), and the PDF
must be reproducible from reviewable text. The source lives here (the manifest excludes this file
from ingestion). A fixed creation date keeps re-runs byte-identical; the test
``tests/evals/test_brightmere_corpus.py`` rebuilds it and compares the bytes.

Run from the repository root::

    /work/main/.venv/bin/python evals/corpora/brightmere/build_pdfs.py

Text must stay latin-1 because only fpdf2's built-in core fonts are used.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

HERE = Path(__file__).resolve().parent
CREATED = datetime(2025, 12, 1, 9, 0, 0, tzinfo=UTC)

# Each document: output path, PDF metadata title, and blocks.
# Block kinds: ("h1", text), ("h2", text), ("p", text), ("ul", [items]),
# ("table", [header, row, ...]).
DOCUMENTS: list[tuple[str, str, list[tuple]]] = [
    (
        "program/deal-registration-policy-2026.pdf",
        "Deal Registration Policy 2026",
        [
            ("h1", "Deal Registration Policy 2026"),
            (
                "p",
                "Effective 1 January 2026. This policy replaces the Deal Registration Policy "
                "2024 for every registration submitted on or after that date. It applies to all "
                "PartnerLink partners in AMER, EMEA and APJ.",
            ),
            ("h2", "1. Purpose"),
            (
                "p",
                "Deal registration protects a partner that finds and develops a new opportunity "
                "for Brightmere products. While a registration is protected, Brightmere will not "
                "give the registered discount to another partner for the same end customer and "
                "products.",
            ),
            ("h2", "2. Eligibility"),
            (
                "p",
                "A registration must be for a new end customer, or for products the customer does "
                "not yet own. Renewals cannot be registered. The estimated deal value must be at "
                "least USD 15,000 at list price (EUR 14,000 in EMEA, the equivalent in local "
                "currency in APJ).",
            ),
            ("h2", "3. What to submit"),
            (
                "p",
                "Submit the registration in the PartnerLink portal under Deals > Register. A "
                "registration is complete only when it includes all of the following:",
            ),
            (
                "ul",
                [
                    "the end customer's legal name, address and company registration number;",
                    "the name, title and business email of the customer's decision maker;",
                    "the products and quantities, with the estimated value at list price;",
                    "the expected close date (no more than 180 days ahead);",
                    "a short description of the customer's project and the competition.",
                ],
            ),
            ("h2", "4. Protection and discount by level"),
            (
                "p",
                "The protection period starts on the day the registration is approved. The "
                "registration discount is added to the standard discount of the Partner Discount "
                "Matrix.",
            ),
            (
                "table",
                [
                    ["Level", "Protection period", "Registration discount", "Extensions"],
                    ["Authorized", "60 days", "3%", "none"],
                    ["Select", "90 days", "5%", "one of 30 days"],
                    ["Premier", "120 days", "7%", "one of 45 days"],
                    ["Elite", "150 days", "9%", "two of 45 days"],
                ],
            ),
            ("h2", "5. Approval"),
            (
                "p",
                "Brightmere's deal desk approves or rejects each registration within three "
                "business days. When two partners register the same opportunity, the first "
                "complete registration wins; an incomplete registration does not hold a place "
                "in the queue.",
            ),
            ("h2", "6. Losing protection"),
            (
                "p",
                "Protection ends early when the partner has logged no activity on the deal for 45 "
                "days, when the customer tells Brightmere in writing that it has chosen another "
                "partner, or when the partner quotes the customer below the approved price "
                "without a special pricing approval.",
            ),
            ("h2", "7. Disputes"),
            (
                "p",
                "A partner may appeal a rejection within 10 business days by email to "
                "dealdesk@brightmere.example. The regional channel director decides appeals; the "
                "decision is final.",
            ),
        ],
    ),
]


def _latin1(text: str) -> str:
    return text.encode("latin-1").decode("latin-1")  # fails loudly on characters we cannot render


def build(path: Path, title: str, blocks: list[tuple]) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(CREATED)
    pdf.set_title(title)
    pdf.set_author("Brightmere Technologies")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            pdf.set_font("Helvetica", "B", 18)
            pdf.multi_cell(0, 9, _latin1(block[1]), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        elif kind == "h2":
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 13)
            pdf.multi_cell(0, 7, _latin1(block[1]), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "p":
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(0, 5.5, _latin1(block[1]), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind == "ul":
            pdf.set_font("Helvetica", "", 10.5)
            for item in block[1]:
                pdf.multi_cell(0, 5.5, _latin1("- " + item), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind == "table":
            pdf.set_font("Helvetica", "", 10)
            with pdf.table(first_row_as_headings=True, line_height=6) as table:
                for row in block[1]:
                    cells = table.row()
                    for cell in row:
                        cells.cell(_latin1(cell))
            pdf.ln(3)
        else:
            raise ValueError(f"unknown block kind {kind!r}")
    return bytes(pdf.output())


def main(out_root: Path = HERE) -> list[Path]:
    written = []
    for relative, title, blocks in DOCUMENTS:
        target = out_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(build(target, title, blocks))
        written.append(target)
    return written


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for written_path in main(root):
        print(written_path)
