"""Build the sample PDFs of the knowledge base from the source text kept in this script.

Why a script: the PDF loader must be tested on real multi-page PDFs with tables, and the PDFs
must be reproducible from reviewable text. The source lives here (not as .md files in data/,
which would be ingested twice). Fixed creation dates and file ids keep re-runs byte-identical.

Run from the repository root::

    .venv/bin/python data/build_pdfs.py

Text must stay latin-1 because only fpdf2's built-in core fonts are used.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

HERE = Path(__file__).resolve().parent
CREATED = datetime(2026, 1, 20, 9, 0, 0, tzinfo=UTC)

# Each document: output path, PDF metadata title, and blocks.
# Block kinds: ("h1", text), ("h2", text), ("p", text), ("ul", [items]),
# ("table", [header, row, ...]), ("page",) for an explicit page break.
DOCUMENTS: list[tuple[str, str, list[tuple]]] = [
    (
        "program/partner-program-guide-2026.pdf",
        "Altaris Partner Program Guide FY2027",
        [
            ("h1", "Altaris Partner Program Guide FY2027"),
            (
                "p",
                "Valid from 1 February 2026 (fiscal year FY2027, 1 February 2026 to 31 January "
                "2027). This guide gives an overview of the Altaris Partner Program for "
                "resellers, solution providers and managed service providers. The detailed, "
                "binding rules are the program rule documents in the partner portal at "
                "https://partners.altaris.example/program.",
            ),
            ("h2", "1. Who we are"),
            (
                "p",
                "Altaris Systems builds three product families: Altaris Guard (endpoint "
                "security: EDR, XDR and managed detection and response), Altaris Vault (backup "
                "and recovery with immutable storage) and Altaris Flow (SD-WAN and network "
                "observability). More than 6,500 organisations in 48 countries use Altaris "
                "products, and almost all of them buy through partners.",
            ),
            ("h2", "2. Program structure"),
            (
                "p",
                "The program has four tiers. Every partner starts at Registered after signing "
                "the partner agreement and completing Altaris Partner Foundations (PRG-FND-100). "
                "Partners move up by growing revenue and certifying their people.",
            ),
            (
                "table",
                [
                    ["Tier", "Annual revenue (USD)", "Certified people", "Required certifications"],
                    ["Registered", "none", "0", "none"],
                    ["Silver", "100,000", "2", "Sales Associate, Technical Associate"],
                    [
                        "Gold",
                        "500,000",
                        "4",
                        "Sales Associate, Technical Associate, Presales Specialist",
                    ],
                    [
                        "Platinum",
                        "2,000,000",
                        "8",
                        "Sales Associate, Technical Associate, Presales "
                        "Specialist, Solutions Architect",
                    ],
                ],
            ),
            (
                "p",
                "Revenue is net Altaris bookings over the trailing 12 months. Tiers are reviewed "
                "every February; a partner below its requirements keeps its tier for a 90-day "
                "grace period.",
            ),
            ("page",),
            ("h2", "3. Benefits by tier"),
            (
                "table",
                [
                    ["Benefit", "Registered", "Silver", "Gold", "Platinum"],
                    ["Deal registration uplift", "5 points", "10 points", "10 points", "10 points"],
                    [
                        "MDF",
                        "not eligible",
                        "up to 5,000 USD/year (proposals)",
                        "2% accrual",
                        "3% accrual",
                    ],
                    ["Back-end rebates", "no", "no", "yes", "yes"],
                    ["Free exam vouchers per year", "0", "2", "6", "15"],
                    ["Channel account manager", "shared", "shared", "named", "named"],
                    ["Partner success manager", "no", "no", "no", "yes"],
                    ["P1 support response", "2 hours", "2 hours", "2 hours", "30 minutes"],
                ],
            ),
            (
                "p",
                "Margins by tier and region are published in the Regional Discount Schedule "
                "FY2027. Platinum partners also receive the Platinum Innovation Fund, lead "
                "sharing and early access programs.",
            ),
            ("h2", "4. Deal registration"),
            (
                "p",
                "Register new-business opportunities of at least 15,000 USD at MSRP in the "
                "partner portal. Altaris reviews registrations within 2 business days. An "
                "approved registration is protected for 120 days, with one extension of 60 "
                "days, and earns the deal registration uplift on software and subscriptions.",
            ),
            ("h2", "5. Market development funds"),
            (
                "p",
                "MDF activities must be pre-approved at least 30 days in advance and claimed "
                "within 60 days after the activity ends (90 days in EMEA). Altaris co-funds up "
                "to 50% of eligible costs, or 75% for Platinum partners.",
            ),
            ("page",),
            ("h2", "6. Rebates"),
            (
                "p",
                "Gold and Platinum partners earn quarterly back-end rebates: a growth rebate "
                "(2% Gold, 3% Platinum) when quarterly revenue grows at least 10% year on year, "
                "a 5% new-logo rebate and a 4% Vault attach rebate. Rebates are paid as credit "
                "notes within 45 days after quarter close.",
            ),
            ("h2", "7. Training and certification"),
            (
                "p",
                "The Altaris training catalog offers self-paced, virtual, instructor-led and lab "
                "courses for sales, presales, technical, support, marketing and management "
                "roles. Certifications are valid for two years; exams cost 150 USD per attempt "
                "and require a score of 70%.",
            ),
            ("h2", "8. Conduct and brand"),
            (
                "p",
                "Partners follow the Partner Code of Conduct and the Brand and Trademark "
                "Guidelines. Only approved claims may be used in marketing.",
            ),
            ("h2", "9. Contacts"),
            (
                "ul",
                [
                    "Partner portal: https://partners.altaris.example",
                    "Partner support: support@altaris.example",
                    "Ethics: ethics@altaris.example",
                    "Brand approvals: brand@altaris.example",
                ],
            ),
        ],
    ),
    (
        "program/regional-discount-schedule-2026.pdf",
        "Regional Discount Schedule FY2027",
        [
            ("h1", "Regional Discount Schedule FY2027"),
            (
                "p",
                "Effective 1 February 2026. This schedule lists the standard partner margins, "
                "expressed as a discount off MSRP, for Altaris software and subscriptions, by "
                "partner tier and region. It is the printable companion of the program rule "
                "'Partner Margins and Discounts by Tier and Region'.",
            ),
            ("h2", "1. Standard margin on software and subscriptions"),
            (
                "table",
                [
                    ["Tier", "North America", "EMEA", "Asia Pacific", "Latin America"],
                    ["Registered", "10%", "10%", "12%", "12%"],
                    ["Silver", "20%", "22%", "22%", "24%"],
                    ["Gold", "28%", "30%", "30%", "32%"],
                    ["Platinum", "35%", "37%", "36%", "38%"],
                ],
            ),
            ("h2", "2. Margin on approved registered deals"),
            (
                "p",
                "Standard margin plus the deal registration uplift (10 points for Silver, Gold "
                "and Platinum; 5 points for Registered).",
            ),
            (
                "table",
                [
                    ["Tier", "North America", "EMEA", "Asia Pacific", "Latin America"],
                    ["Registered", "15%", "15%", "17%", "17%"],
                    ["Silver", "30%", "32%", "32%", "34%"],
                    ["Gold", "38%", "40%", "40%", "42%"],
                    ["Platinum", "45%", "47%", "46%", "48%"],
                ],
            ),
            ("page",),
            ("h2", "3. Flow hardware"),
            (
                "p",
                "Flow Edge appliances AF-SDW-200, AF-SDW-1G and AF-SDW-10G carry a flat 12% "
                "margin in every tier and region. The deal registration uplift does not apply "
                "to hardware.",
            ),
            ("h2", "4. Volume pricing"),
            ("p", "Volume bands reduce MSRP before the partner margin is applied."),
            (
                "table",
                [
                    ["Product", "Band", "Discount off MSRP"],
                    ["Altaris Guard", "250 - 999 endpoints", "8%"],
                    ["Altaris Guard", "1,000 - 4,999 endpoints", "15%"],
                    ["Altaris Guard", "5,000+ endpoints", "22% (Deal Desk)"],
                    ["Altaris Vault", "100 - 499 workloads", "10%"],
                    ["Altaris Vault", "500+ workloads", "18%"],
                    ["Altaris Flow subscriptions", "3-year term", "10%"],
                    ["Altaris Flow subscriptions", "5-year term", "15%"],
                ],
            ),
            ("h2", "5. Worked example"),
            (
                "p",
                "A Gold partner in EMEA sells 300 endpoints of Guard EDR Advanced (AG-EDR-200, "
                "72.00 USD MSRP) on an approved registered deal. Volume price: 72.00 x 0.92 = "
                "66.24 USD. Partner margin 30% + 10 points = 40%. Partner buy price: "
                "66.24 x 0.60 = 39.74 USD per endpoint per year.",
            ),
            ("h2", "6. Currency"),
            (
                "p",
                "Prices are set in US dollars. Distributors invoice in local currency at the "
                "monthly program exchange rate. MDF in EMEA uses fixed rates (see the EMEA MDF "
                "addendum).",
            ),
        ],
    ),
    (
        "products/vault/vault-licensing-guide.pdf",
        "Altaris Vault Licensing Guide FY2027",
        [
            ("h1", "Altaris Vault Licensing Guide FY2027"),
            (
                "p",
                "Effective 1 February 2026. How Altaris Vault 7.2 is licensed and priced. "
                "Prices are MSRP in US dollars; partner buy prices are MSRP minus the partner "
                "margin of the partner's tier and region.",
            ),
            ("h2", "1. Price list"),
            (
                "table",
                [
                    ["SKU", "Product", "Unit", "MSRP (USD)"],
                    ["AV-BKP-500", "Vault Backup Standard", "per workload per year", "150"],
                    ["AV-BKP-700", "Vault Backup Enterprise", "per workload per year", "240"],
                    ["AV-M365-150", "Vault for Microsoft 365", "per user per year", "30"],
                    ["AV-CLD-1TB", "Vault Cloud Storage", "per TB per year", "420"],
                    [
                        "AV-DRS-900",
                        "Disaster Recovery Orchestration add-on",
                        "per workload per year",
                        "95",
                    ],
                ],
            ),
            ("h2", "2. What is a workload"),
            (
                "p",
                "A workload is one protected virtual machine or one physical server, whatever "
                "its size. Databases on a protected server are included. Microsoft 365 is "
                "licensed per user with AV-M365-150; shared mailboxes without a license are "
                "free.",
            ),
            ("h2", "3. Minimum quantities"),
            (
                "ul",
                [
                    "AV-BKP-500 and AV-BKP-700: minimum 10 workloads per customer.",
                    "AV-M365-150: minimum 25 users.",
                    "AV-CLD-1TB: sold in whole terabytes, minimum 1 TB.",
                    "AV-DRS-900: must cover every workload included in a recovery plan.",
                ],
            ),
            ("page",),
            ("h2", "4. Volume pricing"),
            (
                "table",
                [
                    ["Workloads on the order", "Discount off MSRP"],
                    ["10 - 99", "list price"],
                    ["100 - 499", "10%"],
                    ["500 and more", "18%"],
                ],
            ),
            ("h2", "5. Editions compared"),
            (
                "table",
                [
                    ["Feature", "Standard (AV-BKP-500)", "Enterprise (AV-BKP-700)"],
                    ["Shortest schedule", "1 hour", "15 minutes"],
                    ["Maximum retention", "1 year", "7 years"],
                    ["Retention lock (immutability)", "no", "yes"],
                    ["Instant Recovery", "no", "yes"],
                    ["Anomaly detection", "yes", "yes"],
                ],
            ),
            ("h2", "6. Terms"),
            (
                "p",
                "Subscriptions are sold for 1, 2 or 3 years. Mid-term additions are co-termed "
                "and prorated by month. A workload license can be moved from a decommissioned "
                "server to a new one at any time. Vault Cloud Storage overage is billed monthly "
                "at the same per-TB rate.",
            ),
            ("h2", "7. Rebate note"),
            (
                "p",
                "Gold and Platinum partners earn a 4% Vault attach rebate when Vault is sold on "
                "the same order as Altaris Guard.",
            ),
        ],
    ),
]


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(
            0, 8, f"Altaris Systems - partner confidential - page {self.page_no()}", align="C"
        )


def build(path: str, title: str, blocks: list[tuple]) -> Path:
    """Write one PDF and return its path."""
    pdf = _Pdf(format="A4")
    pdf.set_creation_date(CREATED)
    pdf.set_title(title)
    pdf.set_author("Altaris Systems")
    pdf.set_producer("altaris build_pdfs.py")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    for block in blocks:
        kind = block[0]
        if kind == "page":
            pdf.add_page()
        elif kind in ("h1", "h2"):
            pdf.set_font("Helvetica", style="B", size=16 if kind == "h1" else 13)
            pdf.ln(2)
            pdf.multi_cell(0, 8, block[1], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "p":
            pdf.set_font("Helvetica", size=10.5)
            pdf.multi_cell(0, 5.5, block[1], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind == "ul":
            pdf.set_font("Helvetica", size=10.5)
            for item in block[1]:
                pdf.multi_cell(0, 5.5, f"- {item}", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind == "table":
            pdf.set_font("Helvetica", size=9.5)
            with pdf.table(line_height=5.5, first_row_as_headings=True) as table:
                for row in block[1]:
                    table.row(row)
            pdf.ln(3)
        else:
            raise ValueError(f"unknown block kind {kind!r} in {path}")
    out = HERE / path
    pdf.output(str(out))
    return out


def main() -> None:
    for path, title, blocks in DOCUMENTS:
        out = build(path, title, blocks)
        print(f"wrote {out.relative_to(HERE)}")


if __name__ == "__main__":
    main()
