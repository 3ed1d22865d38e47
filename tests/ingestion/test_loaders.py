"""Loaders keep structure: headings, pages, tables, lists; chrome and scripts are dropped."""

from pathlib import Path

import pytest

from ingestion.documents import LoadError
from ingestion.loaders import load_file
from tests.helpers import make_pdf


def test_markdown_front_matter_and_heading_path():
    text = "---\ntitle: Deal rules\ndoc_type: program_rule\n---\n# Deal rules\n\n## Eligibility\n\nMust register.\n"
    (doc,) = load_file(Path("deal.md"), "deal.md", text.encode())
    assert doc.raw_metadata == {"title": "Deal rules", "doc_type": "program_rule"}
    assert doc.blocks[0].headings == ("Deal rules", "Eligibility")
    assert doc.blocks[0].text == "Must register."


@pytest.mark.parametrize(
    "text",
    [
        "---\n---\n# Deal rules\n\nMust register.\n",
        "---\r\ndoc_type: faq\r\n---\r\n# Deal rules\r\n\r\nMust register.\r\n",
        "---  \ndoc_type: faq\nnote: a --- inside a value\n---\n# Deal rules\n\nMust register.\n",
    ],
)
def test_empty_crlf_and_spaced_front_matter_blocks_are_closed(text):
    (doc,) = load_file(Path("deal.md"), "deal.md", text.encode())
    assert doc.blocks[0].text == "Must register."
    assert "---" not in " ".join(b.text for b in doc.blocks)


def test_markdown_table_and_list_stay_single_blocks():
    text = "# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n"
    (doc,) = load_file(Path("t.md"), "t.md", text.encode())
    assert [b.kind for b in doc.blocks] == ["table", "list"]
    assert "| 1 | 2 |" in doc.blocks[0].text


def test_html_drops_chrome_and_keeps_headings():
    html = """<html><head><title>FAQ</title><script>var x='SECRETJS';</script></head><body>
    <nav>Home | Products</nav><header>Portal header</header>
    <main><h1>Guard FAQ</h1><h2>Licensing</h2><p>Licenses are per device.</p>
    <ul><li>Annual</li><li>Three-year</li></ul>
    <table><tr><th>SKU</th><th>Price</th></tr><tr><td>AG-EDR-100</td><td>$45</td></tr></table></main>
    <footer>Copyright</footer></body></html>"""
    (doc,) = load_file(Path("faq.html"), "faq.html", html.encode())
    text = "\n".join(b.text for b in doc.blocks)
    assert "SECRETJS" not in text and "Home | Products" not in text and "Copyright" not in text
    assert doc.default_title == "FAQ"
    para = next(b for b in doc.blocks if "per device" in b.text)
    assert para.headings == ("Guard FAQ", "Licensing")
    assert any(b.kind == "table" and "AG-EDR-100 | $45" in b.text for b in doc.blocks)


def test_pdf_keeps_page_numbers_headings_and_table(tmp_path):
    path = make_pdf(
        tmp_path / "guide.pdf",
        [
            ["# 1. Partner Tiers", "Partners are grouped in four tiers with yearly reviews."],
            ["# 2. Deal Registration", "Protection lasts one hundred and twenty days."],
        ],
        table=[("Tier", "Margin"), ("Silver", "18%"), ("Gold", "25%")],
    )
    (doc,) = load_file(path, "guide.pdf", path.read_bytes())
    pages = {b.page for b in doc.blocks}
    assert pages == {1, 2}
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.page == 1 and "Gold | 25%" in table.text
    second = next(b for b in doc.blocks if "hundred" in b.text)
    assert second.page == 2 and second.headings == ("2. Deal Registration",)


def test_catalog_yaml_csv_and_json_give_one_document_per_course():
    yaml_text = "courses:\n  - id: C1\n    title: Guard basics\n    products: [Guard]\n    certification: Guard Associate\n  - id: C2\n    title: Guard advanced\n    prerequisites: [C1]\n    level: advanced\n"
    docs = load_file(Path("catalog.yaml"), "catalog.yaml", yaml_text.encode())
    assert [d.doc_id for d in docs] == ["catalog.yaml#C1", "catalog.yaml#C2"]
    assert "Certification granted: Guard Associate" in docs[0].blocks[0].text
    csv_text = "id,title,products,languages\nC9,Vault ops,Vault;Flow,en;de\n"
    (doc,) = load_file(Path("c.csv"), "c.csv", csv_text.encode())
    assert doc.raw_metadata["_record"]["products"] == ["Vault", "Flow"]
    (doc,) = load_file(Path("c.json"), "c.json", b'[{"id": "J1", "title": "Flow 101"}]')
    assert doc.default_title == "Flow 101"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.pdf", b"", "empty file"),
        ("junk.pdf", b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a PDF"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj <<>> garbage", "PDF"),
        ("latin1.md", "caf\xe9 r\xe8gles".encode("latin-1"), "not UTF-8"),
        ("blob.txt", b"\x00\x01\x02\x03binary", "binary"),
        ("notes.docx", b"PK\x03\x04", "unsupported file type"),
        ("bad.md", b"---\ntitle: [unclosed\n---\nbody", "bad front matter"),
        ("open.md", b"---\ntitle: X\ntiers: [platinum]\n# X\n\nbody", "no closing '---'"),
        ("bad.csv", b"title\nno id here\n", "bad field id"),
    ],
)
def test_unreadable_files_raise_a_one_line_reason(name, data, reason):
    with pytest.raises(LoadError) as error:
        load_file(Path(name), name, data)
    message = str(error.value)
    assert reason in message and "\n" not in message


def test_encrypted_pdf_is_refused_with_reason(tmp_path):
    path = make_pdf(tmp_path / "secret.pdf", [["Secret text"]], password="pw")
    with pytest.raises(LoadError, match="encrypted"):
        load_file(path, "secret.pdf", path.read_bytes())
