"""Check a vendor corpus's question set against the corpus itself, without any model.

Why: a golden item whose key fact is not in its gold source measures the dataset, not the
product. For every item of ``evals/datasets/<vendor>_qa.jsonl`` this verifies, with the product's
own loaders and access rules (so a PDF table or an HTML page is read exactly as ingestion reads
it):

- the fields the suite needs are there, ids are unique, ``kind`` and ``answer_language`` are known,
  the caller's tier and region belong to the corpus's vocabulary;
- every gold source is a document of the corpus, and it is visible to the item's caller on its
  ``as_of`` date (audience, tier, region, effective date, supersession);
- every key fact (at least one of its alternatives) occurs in the text of a gold source, as a
  token sequence (:func:`evals.answer_metrics.contains_phrase`);
- a ``cell`` (``source``, ``row``, ``column``, ``value``) is the value of a table in that source at
  that row and column, and holds the item's first key fact: table answers are checked by row AND
  column, not by "the figure is somewhere in the page";
- no ``wrong_facts`` entry is also a key fact;
- unanswerable items have no key facts; ``denied_sources`` exist and are NOT visible to the
  caller, and at least one ``forbidden`` leak string occurs in one of them (so that the leak check
  can fail); every ``forbidden`` string occurs somewhere in the corpus (restricted or injected
  text).

Run from the repository root (exit status 1 and one line per problem when something is wrong)::

    python evals/corpora/check_dataset.py [brightmere]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from evals.answer_metrics import contains_phrase, fact_alternatives, tokenize  # noqa: E402
from evals.vendor_suite import KINDS, VENDOR_CORPORA, VendorCorpus, load_items  # noqa: E402
from ingestion.documents import LoadError  # noqa: E402
from ingestion.loaders import load_file  # noqa: E402
from ingestion.metadata import chunk_metadata, validate_metadata  # noqa: E402
from ingestion.pipeline import IngestionPipeline  # noqa: E402
from ingestion.settings import IngestSettings  # noqa: E402
from retrieval.access import AccessFilter  # noqa: E402
from retrieval.models import CallerContext  # noqa: E402

LANGUAGES = ("en", "de", "es", "fr", "ja")


@dataclass
class CorpusDocument:
    """One file of the corpus as ingestion sees it: its text, tables and chunk metadata."""

    doc_id: str
    text: str
    tables: list[list[list[str]]]
    metadata: dict[str, Any]  # chunk metadata of the file's first document (access flags)
    record: dict[str, Any] = field(default_factory=dict)  # what the registry keeps


class _Record:
    """The registry record :func:`retrieval.access.superseded_as_of` reads."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata


@dataclass
class _Settings:
    """The settings groups the ingestion pipeline reads, for this corpus."""

    access: Any
    chunking: Any = None
    ingest: IngestSettings = field(default_factory=IngestSettings)


def parse_table(text: str) -> list[list[str]]:
    """Rows of cells of a table block as the loaders render it (``a | b`` lines, Markdown
    separator rows dropped)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or set(line) <= set("|-: "):
            continue
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def load_corpus(corpus: VendorCorpus) -> dict[str, CorpusDocument]:
    """Every document of the corpus by doc id (file path), read with the product's loaders."""
    pipeline = IngestionPipeline(_Settings(access=corpus.access), store=None, embedder=None)  # type: ignore[arg-type]
    failed: list[dict[str, str]] = []
    documents = {}
    for source in pipeline.discover([corpus.folder], failed):
        declared = pipeline._declared_metadata(source)
        loaded = load_file(source.path, source.file_id, source.path.read_bytes())
        texts, tables, first_meta = [], [], None
        for document in loaded:
            raw = {**declared, **{k: v for k, v in document.raw_metadata.items() if k != "_record"}}
            raw["title"] = raw.get("title") or document.default_title or source.path.stem
            meta = validate_metadata(raw, corpus.access)
            first_meta = first_meta or meta
            texts.append(meta.title)
            for block in document.blocks:
                texts.append(block.text)
                if block.kind == "table":
                    tables.append(parse_table(block.text))
        assert first_meta is not None
        documents[source.file_id] = CorpusDocument(
            doc_id=source.file_id,
            text="\n".join(texts),
            tables=tables,
            metadata={**chunk_metadata(first_meta, corpus.access), "source": source.file_id},
            record={
                "title": first_meta.title,
                "superseded_by": first_meta.superseded_by,
                "effective_date": first_meta.effective_date.isoformat()
                if first_meta.effective_date
                else None,
            },
        )
    if failed:
        raise LoadError(f"corpus files that fail to load: {failed}")
    return documents


def visible(doc: CorpusDocument, caller: dict[str, Any], documents: dict, corpus) -> bool:
    as_of = caller.get("as_of")
    context = CallerContext.model_validate(
        {
            "role": caller.get("role") or "partner",
            "tier": caller.get("tier"),
            "region": caller.get("region"),
            "as_of": date.fromisoformat(as_of) if as_of else None,
        }
    )
    records = {doc_id: _Record(d.record) for doc_id, d in documents.items()}
    return AccessFilter.build(context, corpus.access, records).allows(doc.metadata)


def cell_value(tables: list[list[list[str]]], row: str, column: str) -> list[str]:
    """Values at (row, column) in any of the tables: the column by its header, the row by any
    cell that equals ``row`` or starts with it ("Severity 2" matches "Severity 2 (High)")."""
    found = []
    for table in tables:
        if not table:
            continue
        header = [h.lower() for h in table[0]]
        if column.lower() not in header:
            continue
        index = header.index(column.lower())
        for cells in table[1:]:
            names_row = any(
                c.lower() == row.lower() or c.lower().startswith(row.lower() + " ") for c in cells
            )
            if names_row and index < len(cells):
                found.append(cells[index])
    return found


def check_items(corpus: VendorCorpus) -> list[str]:
    """One line per problem; an empty list means the dataset holds."""
    documents = load_corpus(corpus)
    corpus_tokens = tokenize("\n".join(d.text for d in documents.values()))
    problems: list[str] = []
    seen: set[str] = set()
    for item in load_items(corpus):
        iid = item["id"]

        def problem(text: str, iid: str = iid) -> None:
            problems.append(f"{iid}: {text}")

        if iid in seen:
            problem("duplicate id")
        seen.add(iid)
        if item["kind"] not in KINDS:
            problem(f"unknown kind {item['kind']!r}")
        if item["answer_language"] not in LANGUAGES:
            problem(f"unknown answer_language {item['answer_language']!r}")
        caller = item["caller"]
        caller_ok = True
        if caller.get("tier") and caller["tier"] not in corpus.tiers:
            problem(f"tier {caller['tier']!r} is not in {corpus.tiers}")
            caller_ok = False
        if caller.get("region") and caller["region"] not in corpus.regions:
            problem(f"region {caller['region']!r} is not in {corpus.regions}")
            caller_ok = False
        sources = []
        for doc_id in item["gold_sources"]:
            if doc_id not in documents:
                problem(f"gold source {doc_id} is not in the corpus")
                continue
            sources.append(documents[doc_id])
            if caller_ok and not visible(documents[doc_id], caller, documents, corpus):
                problem(f"gold source {doc_id} is not visible to the caller {caller}")
        if item["answerable"]:
            if not item["key_facts"]:
                problem("answerable item without key facts")
            for fact in item["key_facts"]:
                alternatives = fact_alternatives(fact)
                if not any(contains_phrase(d.text, a) for d in sources for a in alternatives):
                    problem(f"key fact {fact!r} is in none of {item['gold_sources']}")
            for wrong in item.get("wrong_facts") or []:
                for fact in item["key_facts"]:
                    if set(fact_alternatives(wrong)) & set(fact_alternatives(fact)):
                        problem(f"wrong fact {wrong!r} is also a key fact")
        elif item["key_facts"]:
            problem("unanswerable item with key facts")
        cell = item.get("cell")
        if cell:
            doc = documents.get(cell["source"])
            values = cell_value(doc.tables, cell["row"], cell["column"]) if doc else []
            if cell["value"] not in values:
                problem(f"cell {cell['row']!r} x {cell['column']!r} of {cell['source']} is "
                        f"{values or 'not found'}, not {cell['value']!r}")  # fmt: skip
            elif item["key_facts"] and not any(
                contains_phrase(cell["value"], a) for a in fact_alternatives(item["key_facts"][0])
            ):
                problem(
                    f"cell value {cell['value']!r} does not hold key fact {item['key_facts'][0]!r}"
                )
        denied = item.get("denied_sources") or []
        for doc_id in denied:
            if doc_id not in documents:
                problem(f"denied source {doc_id} is not in the corpus")
            elif caller_ok and visible(documents[doc_id], caller, documents, corpus):
                problem(f"denied source {doc_id} IS visible to the caller {caller}")
        forbidden = item.get("forbidden") or []
        for leak in forbidden:
            if not contains_phrase(corpus_tokens, leak):
                problem(f"forbidden {leak!r} occurs nowhere in the corpus")
        denied_text = " ".join(
            " ".join(documents[d].text.split()) for d in denied if d in documents
        )
        if denied and not any(leak.lower() in denied_text.lower() for leak in forbidden):
            problem(f"no forbidden leak string is in the denied sources {denied}")
    problems += check_training(corpus, documents)
    return problems


def check_training(corpus: VendorCorpus, documents: dict[str, CorpusDocument]) -> list[str]:
    """Recommendation cases: known tier and region, and every course id they name is a course
    of the corpus's catalogs."""
    from evals.vendor_suite import load_training_cases

    courses = {
        line.split(",", 1)[0]
        for doc in documents.values()
        if doc.metadata.get("doc_type") == "training"
        for line in doc.text.splitlines()
    } | {
        line.split(":", 1)[0].removeprefix("Course ").strip()
        for doc in documents.values()
        for line in doc.text.splitlines()
        if line.startswith("Course ")
    }
    problems = []
    for case in load_training_cases(corpus):
        profile = case["profile"]
        if profile["tier"] not in corpus.tiers or profile["region"] not in corpus.regions:
            problems.append(f"{case['id']}: tier/region {profile['tier']}/{profile['region']}")
        named = [*case["must"], *case["must_not"], *profile.get("completed_courses", [])]
        for course in named:
            if course not in courses:
                problems.append(f"{case['id']}: course {course} is in no catalog of the corpus")
    return problems


def main(argv: list[str]) -> int:
    names = argv or list(VENDOR_CORPORA)
    failed = False
    for name in names:
        corpus = VENDOR_CORPORA[name]
        problems = check_items(corpus)
        count = len(load_items(corpus))
        for line in problems:
            print(f"{name}: {line}")
        print(f"{name}: {count} items, {len(problems)} problem(s)")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
