"""Incremental, crash-safe ingestion into the store.

Each file is a unit keyed by a content hash (its bytes, its resolved metadata and the pipeline's
own settings). A run:

1. cleans up after a run that died (the store's ``dirty`` mark),
2. skips files whose hash the registry already holds, without loading or embedding them,
3. for a new or changed file writes the new chunks, then commits the new version in the registry,
   then deletes the old chunks — so a crash at any point leaves the old or the new version
   visible, never both and never none (retrieval shows only committed versions),
4. with ``sync`` deletes documents whose files are gone from the given paths (only those: ids
   are relative to the knowledge-base root, ``ingestion/kb_root.py``, whatever path was given),
5. rebuilds the lexical index when anything changed.

A failing file is reported with its path and reason and never stops the batch; a file that
fails after it was indexed keeps its previous version.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingestion.documents import LoadedDocument, LoadError
from ingestion.kb_root import knowledge_base_root
from ingestion.loaders import load_file
from ingestion.metadata import (
    MANIFEST_NAME,
    SIDECAR_SUFFIX,
    chunk_metadata,
    read_yaml_mapping,
    resolve_replacement,
    validate_metadata,
)
from ingestion.ports import ChunkStore, DocRecord, Embedder
from ingestion.settings import IngestionConfig
from ingestion.splitter import Chunk, split_blocks

PIPELINE_VERSION = "1"
# Files prepared ahead of the embedder (bounds memory on a corpus of large PDFs).
PREPARE_AHEAD = 64
ProgressFn = Callable[[int, int, str], None]


@dataclass
class IngestSummary:
    files_seen: int = 0
    files_indexed: int = 0
    files_skipped: int = 0
    files_failed: list[dict[str, str]] = field(default_factory=list)
    files_deleted: int = 0
    chunks_added: int = 0
    chunks_deleted: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def add(self, other: IngestSummary) -> None:
        """Count ``other``'s run into this one (a repair ingests one root at a time)."""
        self.files_seen += other.files_seen
        self.files_indexed += other.files_indexed
        self.files_skipped += other.files_skipped
        self.files_failed += other.files_failed
        self.files_deleted += other.files_deleted
        self.chunks_added += other.chunks_added
        self.chunks_deleted += other.chunks_deleted
        self.seconds += other.seconds
        self.warnings += other.warnings

    @property
    def changed(self) -> bool:
        return bool(self.files_indexed or self.files_deleted or self.chunks_deleted)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files_seen": self.files_seen,
            "files_indexed": self.files_indexed,
            "files_skipped": self.files_skipped,
            "files_failed": self.files_failed,
            "files_deleted": self.files_deleted,
            "chunks_added": self.chunks_added,
            "chunks_deleted": self.chunks_deleted,
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
        }


@dataclass
class SourceFile:
    path: Path
    root: Path
    file_id: str  # path relative to its root, "/"-separated: the document id


@dataclass
class PreparedFile:
    """A changed file, loaded and chunked, waiting for its embeddings."""

    source: SourceFile
    file_hash: str
    ids: list[str]
    texts: list[str]
    embed_texts: list[str]
    metadatas: list[dict[str, Any]]
    record_meta: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


class IngestionPipeline:
    """Sync folders of documents into a :class:`ChromaStore`.

    Example::

        pipeline = IngestionPipeline(settings, store, embedder)
        summary = pipeline.run([Path("data")], sync=True)
    """

    def __init__(self, settings: IngestionConfig, store: ChunkStore, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._manifests: dict[Path, dict[str, Any]] = {}

    # -- discovery ------------------------------------------------------------------------
    def _manifest(self, folder: Path) -> dict[str, Any]:
        if folder not in self._manifests:
            path = folder / MANIFEST_NAME
            self._manifests[folder] = read_yaml_mapping(path) if path.is_file() else {}
        return self._manifests[folder]

    def _folders_down_to(self, root: Path, folder: Path) -> list[Path]:
        chain = [root]
        for part in folder.relative_to(root).parts:
            chain.append(chain[-1] / part)
        return chain

    def _excluded(self, source: SourceFile) -> bool:
        for folder in self._folders_down_to(source.root, source.path.parent):
            patterns = self._manifest(folder).get("exclude") or []
            relative = source.path.relative_to(folder).as_posix()
            if any(fnmatch.fnmatch(relative, str(p)) for p in patterns):
                return True
        return False

    def discover(
        self, roots: Iterable[Path], failed: list[dict[str, str]], default_root: Path | None = None
    ) -> list[SourceFile]:
        """The files under ``roots``, each with its id relative to the knowledge-base root
        (:func:`knowledge_base_root`), so the id never depends on the path given."""
        files: list[SourceFile] = []
        for given in roots:
            given = given.resolve()
            if given.is_file():
                candidates = [given]
            elif given.is_dir():
                candidates = sorted(p for p in given.rglob("*") if p.is_file())
            else:
                failed.append({"path": str(given), "error": "no such file or folder"})
                continue
            try:
                base = knowledge_base_root(given, self.settings.ingest.root, default_root)
            except LoadError as exc:
                failed.append({"path": str(given), "error": str(exc)})
                continue
            for path in candidates:
                relative = path.relative_to(base)
                name = path.name
                if _is_hidden(relative) or name == MANIFEST_NAME or name.endswith(SIDECAR_SUFFIX):
                    continue
                source = SourceFile(path=path, root=base, file_id=relative.as_posix())
                try:
                    if self._excluded(source):
                        continue
                except LoadError as exc:
                    failed.append({"path": str(path), "error": str(exc)})
                    continue
                files.append(source)
        return files

    # -- metadata and hashing --------------------------------------------------------------
    def _declared_metadata(self, source: SourceFile) -> dict[str, Any]:
        """Manifest defaults from the root down, then the sidecar (front matter comes later)."""
        merged: dict[str, Any] = {}
        for folder in self._folders_down_to(source.root, source.path.parent):
            defaults = self._manifest(folder).get("defaults") or {}
            if not isinstance(defaults, dict):
                raise LoadError(f"{folder / MANIFEST_NAME}: 'defaults' must be a mapping")
            merged.update(defaults)
        sidecar = source.path.with_name(source.path.name + SIDECAR_SUFFIX)
        if sidecar.is_file():
            merged.update(read_yaml_mapping(sidecar))
        return merged

    def _hash(self, data: bytes, declared: dict[str, Any]) -> str:
        digest = hashlib.sha256()
        digest.update(data)
        signature = {
            "meta": declared,
            "pipeline": PIPELINE_VERSION,
            "chunking": self.settings.chunking.model_dump(),
            "access": self.settings.access.model_dump(),
            "model": self.store.model_name,
        }
        digest.update(json.dumps(signature, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:32]

    # -- preparing one file ---------------------------------------------------------------
    def _prepare(
        self, source: SourceFile, data: bytes, declared: dict, file_hash: str
    ) -> PreparedFile:
        documents = load_file(source.path, source.file_id, data)
        prepared = PreparedFile(source, file_hash, [], [], [], [], {})
        for document in documents:
            self._add_document(prepared, document, declared)
            prepared.warnings += [f"{source.file_id}: {w}" for w in document.warnings]
        return prepared

    def _add_document(
        self, prepared: PreparedFile, document: LoadedDocument, declared: dict
    ) -> None:
        access = self.settings.access
        raw = {**declared, **{k: v for k, v in document.raw_metadata.items() if k != "_record"}}
        raw.setdefault("title", document.default_title or Path(document.source).stem)
        if not raw.get("title"):
            raw["title"] = document.default_title or Path(document.source).stem
        meta = validate_metadata(raw, access)
        if not prepared.record_meta:
            prepared.record_meta = {
                "title": meta.title,
                "doc_type": meta.doc_type,
                "effective_date": meta.effective_date.isoformat() if meta.effective_date else None,
                "superseded_by": meta.superseded_by,
                "audience": meta.audience,
            }
        flat = chunk_metadata(meta, access)
        record = document.raw_metadata.get("_record")
        chunks: list[Chunk] = split_blocks(
            document.blocks, self.settings.chunking.size, self.settings.chunking.overlap
        )
        for chunk in chunks:
            key = f"{document.doc_id}\x00{prepared.file_hash}\x00{chunk.index}"
            metadata = {
                **flat,
                "doc_id": document.doc_id,
                "source": document.source,
                "section": chunk.section,
                "chunk_index": chunk.index,
                "doc_hash": prepared.file_hash,
            }
            if chunk.page is not None:
                metadata["page"] = chunk.page
            if record:
                metadata["course_id"] = record["id"]
                metadata["record_json"] = json.dumps(record, sort_keys=True)
            prepared.ids.append(hashlib.sha256(key.encode()).hexdigest()[:40])
            prepared.texts.append(chunk.text)
            prepared.embed_texts.append(embedding_text(meta.title, chunk.section, chunk.text))
            prepared.metadatas.append(metadata)

    # -- the run --------------------------------------------------------------------------
    def run(
        self,
        roots: Iterable[Path],
        sync: bool = False,
        progress: ProgressFn | None = None,
        default_root: Path | None = None,
    ) -> IngestSummary:
        """Ingest ``roots`` (files or folders). ``sync`` deletes the documents whose files were
        under one of ``roots`` and are gone, and no others. ``default_root`` is the
        knowledge-base root when neither the setting nor a manifest names one."""
        started = time.perf_counter()
        summary = IngestSummary()
        self._manifests.clear()
        roots = [Path(r) for r in roots]
        if self.store.state().get("dirty"):
            summary.chunks_deleted += self.cleanup()
        files = self.discover(roots, summary.files_failed, default_root)
        refused = {f["path"] for f in summary.files_failed}
        scopes = [r.resolve() for r in roots if r.exists() and str(r.resolve()) not in refused]
        summary.files_seen = len(files) + len(summary.files_failed)
        committed = self.store.documents()
        pending: list[PreparedFile] = []
        moved: list[SourceFile] = []
        pending_chunks = 0
        flush_at = self.settings.ingest.flush_chunks
        dirty = False
        # Reading, parsing and splitting (Python) run in one thread, embedding (native code that
        # releases the GIL) in this one, and writing to Chroma in a third, so the model never
        # waits for a PDF parser or a store round trip. Writes keep file order: each file's
        # chunks are upserted before its registry commit, as without the threads.
        prepared_files: queue.Queue[tuple[SourceFile, PreparedFile | str | None]] = queue.Queue(
            maxsize=PREPARE_AHEAD
        )
        stop = threading.Event()
        producer = threading.Thread(
            target=self._prepare_all,
            args=(files, dict(committed), prepared_files, stop),
            name="ingest-prepare",
            daemon=True,
        )
        producer.start()
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-write")
        writing: Future[None] | None = None
        try:
            for number in range(1, len(files) + 1):
                source, outcome = prepared_files.get()
                if isinstance(outcome, BaseException):
                    raise outcome
                if progress:
                    progress(number, len(files), source.file_id)
                if outcome is None:
                    summary.files_skipped += 1
                    moved.append(source)
                    continue
                if isinstance(outcome, str):
                    summary.files_failed.append({"path": str(source.path), "error": outcome})
                    continue
                summary.warnings.extend(outcome.warnings)
                pending.append(outcome)
                pending_chunks += len(outcome.ids)
                if pending_chunks >= flush_at:
                    if not dirty:
                        self.store.mark_dirty(True)
                        dirty = True
                    writing = self._embed_and_write(writer, writing, pending, committed, summary)
                    pending, pending_chunks = [], 0
            if pending:
                if not dirty:
                    self.store.mark_dirty(True)
                    dirty = True
                writing = self._embed_and_write(writer, writing, pending, committed, summary)
            if writing is not None:
                writing.result()
        finally:
            stop.set()
            writer.shutdown(wait=True)

        self._relocate(moved, committed)
        if sync:
            dirty = self._sync(scopes, files, committed, summary, dirty)

        if dirty or summary.changed:
            self.store.bump_generation()
            self.store.mark_dirty(False)
        self._resolve_supersession(summary)
        summary.seconds = time.perf_counter() - started
        return summary

    def _relocate(self, unchanged: list[SourceFile], committed: dict[str, DocRecord]) -> None:
        """Point the registry at where unchanged files are now (a knowledge base that moved, or a
        record from before ids were tied to the knowledge-base root); no chunk changes."""
        for source in unchanged:
            record = committed.get(source.file_id)
            if record and (record.source, record.root) != (str(source.path), str(source.root)):
                record = replace(record, source=str(source.path), root=str(source.root))
                self.store.commit_document(record)
                committed[source.file_id] = record

    def _sync(
        self,
        scopes: list[Path],
        files: list[SourceFile],
        committed: dict[str, DocRecord],
        summary: IngestSummary,
        dirty: bool,
    ) -> bool:
        """Delete the documents whose file lies under one of ``scopes`` (the paths given) but
        was not found there: a sync of ``data/program`` never touches ``data/products``. A
        file that failed keeps its previous version. Returns whether the store is now dirty."""
        seen = {f.file_id for f in files}
        failed = {f["path"] for f in summary.files_failed}
        for doc_id, record in list(committed.items()):
            path = Path(record.source) if record.source else Path(record.root) / doc_id
            if doc_id in seen or str(path) in failed:
                continue
            if not any(path.is_relative_to(scope) for scope in scopes):
                continue
            if not dirty:
                self.store.mark_dirty(True)
                dirty = True
            self.store.forget_document(doc_id)
            del committed[doc_id]
            summary.chunks_deleted += self.store.delete_chunks(record.chunk_ids)
            summary.files_deleted += 1
        return dirty

    def _prepare_all(
        self,
        files: list[SourceFile],
        committed: dict[str, DocRecord],
        out: queue.Queue,
        stop: threading.Event,
    ) -> None:
        """Hash every file and load/split the changed ones, in order, into ``out``: None for
        unchanged, a reason string for a failure, the exception for anything unexpected."""
        for source in files:
            if stop.is_set():
                return
            try:
                outcome: PreparedFile | str | BaseException | None = self._prepare_one(
                    source, committed
                )
            except LoadError as exc:
                outcome = str(exc)
            except OSError as exc:
                outcome = exc.strerror or str(exc)
            except Exception as exc:  # handed to the run, which raises it
                outcome = exc
            while not stop.is_set():
                try:
                    out.put((source, outcome), timeout=0.5)
                    break
                except queue.Full:
                    continue
            if isinstance(outcome, BaseException):
                return

    def _prepare_one(
        self, source: SourceFile, committed: dict[str, DocRecord]
    ) -> PreparedFile | None:
        size_mb = source.path.stat().st_size / 1_048_576
        if size_mb > self.settings.ingest.max_file_mb:
            raise LoadError(
                f"file is {size_mb:.1f} MB, over the {self.settings.ingest.max_file_mb:g} MB limit"
            )
        data = source.path.read_bytes()
        declared = self._declared_metadata(source)
        file_hash = self._hash(data, declared)
        previous = committed.get(source.file_id)
        if previous and previous.doc_hash == file_hash:
            return None
        return self._prepare(source, data, declared, file_hash)

    def _embed_and_write(
        self,
        writer: ThreadPoolExecutor,
        writing: Future[None] | None,
        batch: list[PreparedFile],
        committed: dict[str, DocRecord],
        summary: IngestSummary,
    ) -> Future[None]:
        """Embed ``batch`` here while the previous batch is still being written, then hand it
        to the writer (one write in flight, so files commit in order)."""
        texts = [t for prepared in batch for t in prepared.embed_texts]
        vectors = self.embedder.embed_documents(texts)
        if writing is not None:
            writing.result()
        return writer.submit(self._write, batch, vectors, committed, summary)

    def _write(
        self,
        batch: list[PreparedFile],
        vectors: Any,
        committed: dict[str, DocRecord],
        summary: IngestSummary,
    ) -> None:
        offset = 0
        for prepared in batch:
            count = len(prepared.ids)
            self.store.upsert_chunks(
                prepared.ids, vectors[offset : offset + count], prepared.texts, prepared.metadatas
            )
            offset += count
            record = DocRecord(
                doc_id=prepared.source.file_id,
                doc_hash=prepared.file_hash,
                chunk_ids=prepared.ids,
                root=str(prepared.source.root),
                source=str(prepared.source.path),
                metadata=prepared.record_meta,
            )
            self.store.commit_document(record)  # the commit point of this version
            old = committed.get(record.doc_id)
            committed[record.doc_id] = record
            if old:
                stale = sorted(set(old.chunk_ids) - set(prepared.ids))
                summary.chunks_deleted += self.store.delete_chunks(stale)
            summary.files_indexed += 1
            summary.chunks_added += count

    def cleanup(self) -> int:
        """Delete chunks that no committed version owns (left by a run that died)."""
        committed = {doc_id: r.doc_hash for doc_id, r in self.store.documents().items()}
        orphans = [
            chunk.chunk_id
            for chunk in self.store.iter_chunks()
            if committed.get(chunk.metadata.get("source", "")) != chunk.metadata.get("doc_hash")
        ]
        self.store.delete_chunks(orphans)
        self.store.mark_dirty(False)
        return len(orphans)

    def _resolve_supersession(self, summary: IngestSummary) -> None:
        """Warn about ``superseded_by`` values that name no document, or a title several
        documents share (both count as "superseded now", see :func:`resolve_replacement`)."""
        documents = self.store.documents()
        for doc_id, record in documents.items():
            target = record.metadata.get("superseded_by")
            if not target:
                continue
            found = resolve_replacement(target, documents, doc_id)
            if found.ambiguous:
                summary.warnings.append(
                    f"{doc_id}: superseded_by {target!r} is the title of several documents "
                    f"({', '.join(found.ambiguous)}); name one by its doc id. Treated as "
                    "superseded now"
                )
            elif found.doc_id is None:
                summary.warnings.append(
                    f"{doc_id}: superseded_by {target!r} is not in the store; treated as superseded now"
                )


def embedding_text(title: str, section: str, text: str) -> str:
    """What is embedded and indexed: the text with its title and heading path, so that a chunk
    that says "120 days" is found by a question about deal-registration protection."""
    header = title if not section or section == title else f"{title} > {section}"
    if section.startswith(title):
        header = section
    return f"{header}\n{text}" if header else text
