"""Chunks follow structure: sections, whole tables, sentence overlap."""

from ingestion.documents import Block
from ingestion.splitter import split_blocks


def test_chunks_never_span_two_sections_and_carry_the_heading_path():
    blocks = [
        Block("Register within 30 days.", headings=("Deals", "Eligibility")),
        Block("First registration wins.", headings=("Deals", "Conflicts")),
    ]
    chunks = split_blocks(blocks, size=500, overlap=50)
    assert [c.section for c in chunks] == ["Deals > Eligibility", "Deals > Conflicts"]


def test_a_table_that_fits_stays_whole():
    table = "| Tier | Margin |\n| Silver | 18% |\n| Gold | 25% |"
    blocks = [Block("x " * 100, headings=("A",)), Block(table, kind="table", headings=("A",))]
    chunks = split_blocks(blocks, size=220, overlap=0)
    assert any(table in c.text for c in chunks)


def test_an_oversized_table_is_cut_between_rows_repeating_the_header():
    rows = ["| Tier | Margin |"] + [f"| Tier{i} | {i}% |" for i in range(40)]
    chunks = split_blocks([Block("\n".join(rows), kind="table")], size=200, overlap=0)
    assert len(chunks) > 1
    assert all(c.text.startswith("| Tier | Margin |") for c in chunks)
    assert all(len(c.text) <= 200 for c in chunks)


def test_long_paragraphs_split_at_sentences_with_overlap():
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = split_blocks([Block(text, headings=("S",))], size=300, overlap=80)
    assert len(chunks) > 2
    for before, after in zip(chunks, chunks[1:]):
        last_sentence = before.text.split(". ")[-1].rstrip(".")
        assert last_sentence in after.text  # overlap carries the previous sentence
        assert after.text[0].isupper()  # chunks start at a sentence
