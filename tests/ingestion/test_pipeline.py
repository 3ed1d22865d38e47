"""Incremental, crash-safe sync with the real model and a real Chroma in tmp_path."""

import pytest

from tests.helpers import make_pdf, write, write_layered_knowledge_base

DEAL = "---\ntitle: Deal registration\ndoc_type: program_rule\n---\n# Deal registration\n\n## Protection\n\nA registered deal is protected for 120 days.\n"
MDF = "---\ntitle: MDF\ndoc_type: program_rule\nregions: [emea]\n---\n# MDF\n\nMDF accrues at 3% of revenue.\n"


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "kb"
    write(root / "deal.md", DEAL)
    write(root / "mdf.md", MDF)
    write(root / "manifest.yaml", "defaults:\n  audience: partner\nexclude:\n  - '*.py'\n")
    write(root / "build.py", "print('not a document')")
    make_pdf(
        root / "guide.pdf",
        [["# 1. Tiers", "Gold partners earn a 25% margin."]],
        table=[("Tier", "Margin"), ("Gold", "25%")],
    )
    write(
        root / "guide.pdf.meta.yaml", "title: Program guide\ndoc_type: program_rule\nversion: '3'\n"
    )
    return root


def chunk_sources(kb):
    return sorted({c.metadata["source"] for c in kb.store.iter_chunks()})


def test_first_run_indexes_every_document_with_metadata(corpus, settings, kb_factory):
    kb = kb_factory(settings)
    summary = kb.ingest([corpus])
    assert summary.files_indexed == 3 and not summary.files_failed
    assert chunk_sources(kb) == ["deal.md", "guide.pdf", "mdf.md"]
    pdf_chunk = next(c for c in kb.store.iter_chunks() if c.metadata["source"] == "guide.pdf")
    assert pdf_chunk.metadata["title"] == "Program guide" and pdf_chunk.metadata["page"] == 1
    assert pdf_chunk.metadata["version"] == "3"


def test_second_run_skips_unchanged_files(corpus, settings, kb_factory):
    kb_factory(settings).ingest([corpus])
    kb = kb_factory(settings, counting=True)
    before = kb.store.generation()
    summary = kb.ingest([corpus], sync=True)
    assert (
        summary.files_skipped,
        summary.files_indexed,
        summary.chunks_added,
        summary.chunks_deleted,
    ) == (3, 0, 0, 0)
    assert not summary.changed
    assert kb.embedder.embedded == []
    assert kb.store.generation() == before


def test_changing_one_file_re_embeds_only_that_file(corpus, settings, kb_factory):
    kb_factory(settings).ingest([corpus])
    write(corpus / "deal.md", DEAL.replace("120 days", "150 days"))
    kb = kb_factory(settings, counting=True)
    summary = kb.ingest([corpus])
    assert summary.files_indexed == 1 and summary.files_skipped == 2
    assert all("Deal registration" in text for text in kb.embedder.embedded)
    texts = [c.text for c in kb.store.iter_chunks() if c.metadata["source"] == "deal.md"]
    assert any("150 days" in t for t in texts) and not any("120 days" in t for t in texts)


def test_sidecar_change_counts_as_a_change(corpus, settings, kb_factory):
    kb = kb_factory(settings)
    kb.ingest([corpus])
    write(
        corpus / "guide.pdf.meta.yaml",
        "title: Program guide\ndoc_type: program_rule\ntiers: [gold]\n",
    )
    summary = kb.ingest([corpus])
    assert summary.files_indexed == 1
    chunk = next(c for c in kb.store.iter_chunks() if c.metadata["source"] == "guide.pdf")
    assert chunk.metadata["tier_gold"] and not chunk.metadata["tier_silver"]


def test_deleted_file_is_removed_only_with_sync(corpus, settings, kb_factory):
    kb = kb_factory(settings)
    kb.ingest([corpus])
    (corpus / "mdf.md").unlink()
    assert kb.ingest([corpus]).files_deleted == 0
    assert "mdf.md" in chunk_sources(kb)
    summary = kb.ingest([corpus], sync=True)
    assert summary.files_deleted == 1 and summary.chunks_deleted >= 1
    assert "mdf.md" not in chunk_sources(kb) and "mdf.md" not in kb.store.documents()


def _store_snapshot(kb):
    return sorted((c.chunk_id, c.metadata["doc_hash"]) for c in kb.store.iter_chunks())


@pytest.mark.parametrize("crash_in", ["commit_document", "delete_chunks"])
def test_run_killed_half_way_converges_to_a_clean_run(
    corpus, tmp_path, kb_factory, crash_in, monkeypatch
):
    from tests.helpers import make_settings

    crashed = kb_factory(make_settings(tmp_path / "a"))
    crashed.ingest([corpus])
    write(corpus / "deal.md", DEAL.replace("120 days", "150 days"))

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(crashed.store, crash_in, boom)
    with pytest.raises(KeyboardInterrupt):
        crashed.ingest([corpus])
    monkeypatch.undo()
    # Before recovery, retrieval shows exactly one version of the changed file.
    from assistant.models import CallerContext

    hits = crashed.retriever.retrieve(
        "registered deal protected days", CallerContext(role="admin"), k=10
    )
    deal_texts = [h.text for h in hits if h.source == "deal.md"]
    assert len(deal_texts) == 1
    crashed.ingest([corpus])
    clean = kb_factory(make_settings(tmp_path / "b"))
    clean.ingest([corpus])
    assert _store_snapshot(crashed) == _store_snapshot(clean)


def test_bad_files_fail_alone_with_path_and_reason(corpus, settings, kb_factory):
    write(corpus / "bad-tier.md", "---\ndoc_type: faq\ntiers: [diamond]\n---\n# X\n\nText.\n")
    write(
        corpus / "bad-date.md",
        "---\ndoc_type: faq\neffective_date: 2026-02-30\n---\n# X\n\nText.\n",
    )
    (corpus / "latin1.txt").write_bytes("r\xe8gles".encode("latin-1"))
    (corpus / "garbage.pdf").write_bytes(b"%PDF-1.7\n\x00\x01\x02 not really")
    (corpus / "empty.pdf").write_bytes(b"")
    (corpus / "image.png").write_bytes(b"\x89PNG\r\n")
    make_pdf(corpus / "locked.pdf", [["secret"]], password="x")
    write(corpus / "locked.pdf.meta.yaml", "doc_type: faq\n")
    write(corpus / "huge.txt", "x" * 2_000_000)
    settings = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"max_file_mb": 1})}
    )
    summary = kb_factory(settings).ingest([corpus])
    failed = {f["path"].rsplit("/", 1)[-1]: f["error"] for f in summary.files_failed}
    assert set(failed) == {
        "bad-tier.md",
        "bad-date.md",
        "latin1.txt",
        "garbage.pdf",
        "empty.pdf",
        "image.png",
        "locked.pdf",
        "huge.txt",
    }
    assert "diamond" in failed["bad-tier.md"] and "effective_date" in failed["bad-date.md"]
    assert "encrypted" in failed["locked.pdf"] and "limit" in failed["huge.txt"]
    assert summary.files_indexed == 3


def test_a_file_that_breaks_keeps_its_previous_version(corpus, settings, kb_factory):
    kb = kb_factory(settings)
    kb.ingest([corpus])
    write(corpus / "deal.md", "---\ndoc_type: faq\ntiers: [diamond]\n---\nbroken\n")
    summary = kb.ingest([corpus], sync=True)
    assert len(summary.files_failed) == 1 and summary.files_deleted == 0
    assert "deal.md" in chunk_sources(kb)


def test_opening_a_store_with_another_model_is_an_error(corpus, settings, kb_factory, embedder):
    from retrieval.chroma_store import ChromaStore, StoreError

    kb_factory(settings).ingest([corpus])
    with pytest.raises(StoreError, match="embedding model"):
        ChromaStore(settings, "other-model", embedder.dimension)


def test_a_model_change_asks_for_a_reindex_and_reindex_replaces_every_vector(
    corpus, settings, kb_factory, embedder
):
    from retrieval.chroma_store import ChromaStore, StoreError
    from retrieval.knowledge_base import KnowledgeBase
    from tests.helpers import CountingEmbedder

    first = kb_factory(settings)
    first.ingest([corpus])
    chunks, generation = first.store.count(), first.store.generation()
    with pytest.raises(StoreError, match=r"ingest --reindex"):
        ChromaStore(settings, "other-model", embedder.dimension)

    class Renamed(CountingEmbedder):
        def __init__(self, inner):
            super().__init__(inner)
            self.name = "other-model"

    other = Renamed(embedder)
    kb = KnowledgeBase(settings, other, reindex=True)
    assert kb.store.count() == 0 and kb.store.generation() > generation
    kb.ingest([corpus])
    assert kb.store.count() == chunks and len(other.embedded) == chunks  # all embedded again
    assert kb.store.model_name == "other-model"
    from assistant.models import CallerContext

    assert kb.retriever.retrieve("deal", CallerContext(role="admin"), k=3)


@pytest.fixture
def knowledge_base_folder(tmp_path):
    return write_layered_knowledge_base(tmp_path / "kb")


def test_a_subfolder_updates_the_documents_the_whole_folder_indexed(
    knowledge_base_folder, settings, kb_factory
):
    kb = kb_factory(settings)
    kb.ingest([knowledge_base_folder])
    ids = sorted(kb.store.documents())
    assert ids == ["products/flow.md", "program/deal.md", "program/mdf.md"]

    again = kb.ingest([knowledge_base_folder / "program"])
    write(knowledge_base_folder / "program" / "deal.md", "# Deal registration\n\n150 days.\n")
    changed = kb.ingest([knowledge_base_folder / "program" / "deal.md"])

    assert (again.files_skipped, again.files_indexed) == (2, 0)
    assert changed.files_indexed == 1
    assert sorted(kb.store.documents()) == ids
    assert chunk_sources(kb) == ids
    texts = [c.text for c in kb.store.iter_chunks() if c.metadata["source"] == "program/deal.md"]
    assert any("150 days" in t for t in texts) and not any("120 days" in t for t in texts)


def test_sync_of_a_subfolder_deletes_only_documents_under_it(
    knowledge_base_folder, settings, kb_factory
):
    kb = kb_factory(settings)
    kb.ingest([knowledge_base_folder])
    (knowledge_base_folder / "program" / "mdf.md").unlink()

    summary = kb.ingest([knowledge_base_folder / "program"], sync=True)

    assert (summary.files_deleted, summary.files_skipped) == (1, 1)
    assert sorted(kb.store.documents()) == ["products/flow.md", "program/deal.md"]
    assert chunk_sources(kb) == ["products/flow.md", "program/deal.md"]


def test_sync_of_one_file_deletes_nothing_else(knowledge_base_folder, settings, kb_factory):
    kb = kb_factory(settings)
    kb.ingest([knowledge_base_folder])

    summary = kb.ingest([knowledge_base_folder / "program" / "deal.md"], sync=True)

    assert summary.files_deleted == 0 and len(kb.store.documents()) == 3


def test_sync_replaces_ids_registered_from_a_subfolder_before_ids_had_a_root(
    knowledge_base_folder, settings, kb_factory
):
    program = knowledge_base_folder / "program"
    old = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"root": program})}
    )
    kb_factory(old).ingest([program])  # ids relative to the folder given, as before
    kb = kb_factory(settings)
    assert sorted(kb.store.documents()) == ["deal.md", "mdf.md"]

    summary = kb.ingest([program], sync=True)

    assert summary.files_indexed == 2 and summary.files_deleted == 2
    assert sorted(kb.store.documents()) == ["program/deal.md", "program/mdf.md"]
    assert chunk_sources(kb) == ["program/deal.md", "program/mdf.md"]


def test_the_root_manifest_applies_to_a_subfolder_ingest(
    knowledge_base_folder, settings, kb_factory
):
    write(knowledge_base_folder / "manifest.yaml", "defaults:\n  regions: [emea]\n")
    kb = kb_factory(settings)
    kb.ingest([knowledge_base_folder / "products"])

    (chunk,) = [c for c in kb.store.iter_chunks() if c.metadata["source"] == "products/flow.md"]
    assert chunk.metadata["region_emea"] and not chunk.metadata["region_na"]


def test_a_path_outside_the_configured_root_fails_with_the_setting_named(
    knowledge_base_folder, tmp_path, settings, kb_factory
):
    write(tmp_path / "elsewhere" / "x.md", "# X\n\nText.\n")
    settings = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"root": knowledge_base_folder})}
    )

    summary = kb_factory(settings).ingest([tmp_path / "elsewhere", knowledge_base_folder])

    (failure,) = summary.files_failed
    assert failure["path"].endswith("elsewhere") and "PA_INGEST_ROOT" in failure["error"]
    assert summary.files_indexed == 3


def test_front_matter_without_its_closing_line_fails_that_file_alone(corpus, settings, kb_factory):
    write(corpus / "open.md", "---\ntitle: Platinum only\ntiers: [platinum]\n# Secret\n\nText.\n")

    summary = kb_factory(settings).ingest([corpus])

    (failure,) = summary.files_failed
    assert failure["path"].endswith("open.md")
    assert "front matter" in failure["error"] and "closing '---'" in failure["error"]
    assert summary.files_indexed == 3
