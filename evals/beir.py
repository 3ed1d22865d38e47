"""Load a BEIR-format retrieval benchmark (SciFact and its kin) from a folder.

A BEIR folder holds ``corpus.jsonl`` (``{"_id", "title", "text"}``), the queries
(``queries_<split>.jsonl`` as in our shared copy, or BEIR's own ``queries.jsonl`` holding every
split) and ``qrels/<split>.tsv`` (``query-id  corpus-id  score`` with a header line). The folder is
an argument, never a path baked in here: the data is read-only and lives outside the repo
(``../shared/datasets/scifact``).

The loader only reads; :func:`corpus_records` hands ``(doc_id, title, text)`` triples to the
ingestion code so the benchmark is indexed by the same pipeline as the product's documents.

Example::

    data = load_beir(Path("../shared/datasets/scifact"), split="test")
    run = {qid: retriever_doc_ids(q.text) for qid, q in data.queries.items()}
    evaluate_run(run, data.qrels)
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DatasetFormatError(ValueError):
    """A dataset folder is missing a file or holds a malformed line; the message says which."""


@dataclass(frozen=True)
class BeirDoc:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class BeirQuery:
    query_id: str
    text: str


@dataclass
class BeirDataset:
    """One split: ``qrels`` maps query id -> {doc id: graded relevance}."""

    corpus: dict[str, BeirDoc] = field(default_factory=dict)
    queries: dict[str, BeirQuery] = field(default_factory=dict)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def qrels_pairs(self) -> int:
        """Number of judged (query, document) pairs."""
        return sum(len(docs) for docs in self.qrels.values())


def load_beir(folder: Path | str, split: str = "test") -> BeirDataset:
    """Read corpus, queries and qrels of ``split``; only queries that have qrels are kept.

    Raises :class:`DatasetFormatError` naming the file (and line) when something is missing or
    malformed, and when a qrels line names a document the corpus lacks.
    """
    folder = _existing_dir(folder)
    qrels = read_qrels(folder / "qrels" / f"{split}.tsv")
    corpus = {doc.doc_id: doc for doc in iter_corpus(folder)}
    queries_file = folder / f"queries_{split}.jsonl"
    if not queries_file.is_file():
        queries_file = folder / "queries.jsonl"
    queries: dict[str, BeirQuery] = {}
    for line_no, row in read_jsonl(queries_file):
        qid = _required_str(row, "_id", queries_file, line_no)
        if qid in qrels:
            queries[qid] = BeirQuery(qid, _required_str(row, "text", queries_file, line_no))
    missing_queries = sorted(set(qrels) - set(queries))
    if missing_queries:
        raise DatasetFormatError(
            f"{queries_file}: no text for {len(missing_queries)} judged queries, "
            f"e.g. {missing_queries[:3]}"
        )
    unknown_docs = sorted({d for docs in qrels.values() for d in docs} - set(corpus))
    if unknown_docs:
        raise DatasetFormatError(
            f"{folder / 'qrels' / f'{split}.tsv'}: {len(unknown_docs)} judged documents are not in "
            f"corpus.jsonl, e.g. {unknown_docs[:3]}"
        )
    return BeirDataset(corpus=corpus, queries=queries, qrels=qrels)


def iter_corpus(folder: Path | str) -> Iterator[BeirDoc]:
    """Stream ``corpus.jsonl`` without holding it all (large BEIR corpora run to millions)."""
    path = _existing_dir(folder) / "corpus.jsonl"
    for line_no, row in read_jsonl(path):
        yield BeirDoc(
            doc_id=_required_str(row, "_id", path, line_no),
            title=str(row.get("title") or ""),
            text=_required_str(row, "text", path, line_no, allow_empty=True),
        )


def corpus_records(source: BeirDataset | Path | str) -> Iterator[tuple[str, str, str]]:
    """``(doc_id, title, text)`` for every document, from a loaded dataset or a folder."""
    docs = source.corpus.values() if isinstance(source, BeirDataset) else iter_corpus(source)
    for doc in docs:
        yield doc.doc_id, doc.title, doc.text


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``query-id  corpus-id  score`` TSV with a header -> ``{qid: {doc_id: score}}``."""
    if not path.is_file():
        raise DatasetFormatError(f"qrels file not found: {path}")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or len(header) < 3 or header[0].strip() != "query-id":
            raise DatasetFormatError(
                f"{path}: first line must be the header 'query-id<TAB>corpus-id<TAB>score'"
            )
        for line_no, cells in enumerate(reader, 2):
            if not cells or not "".join(cells).strip():
                continue
            if len(cells) < 3:
                raise DatasetFormatError(f"{path}:{line_no}: expected 3 tab-separated columns")
            try:
                score = int(cells[2])
            except ValueError:
                raise DatasetFormatError(
                    f"{path}:{line_no}: score {cells[2]!r} is not an integer"
                ) from None
            qrels.setdefault(cells[0].strip(), {})[cells[1].strip()] = score
    return qrels


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, object)`` for each non-blank line; a bad line raises with its number."""
    if not path.is_file():
        raise DatasetFormatError(f"file not found: {path}")
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetFormatError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DatasetFormatError(f"{path}:{line_no}: expected a JSON object")
            yield line_no, row


def _existing_dir(folder: Path | str) -> Path:
    path = Path(folder)
    if not path.is_dir():
        raise DatasetFormatError(f"dataset folder not found: {path}")
    return path


def _required_str(
    row: dict[str, Any], key: str, path: Path, line_no: int, *, allow_empty: bool = False
) -> str:
    value = row.get(key)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise DatasetFormatError(f"{path}:{line_no}: field {key!r} is missing or not a string")
    value = str(value)
    if not allow_empty and not value.strip():
        raise DatasetFormatError(f"{path}:{line_no}: field {key!r} is empty")
    return value
