"""Hybrid retrieval quality cases, lexical index persistence, and keeping in step with Chroma."""

import pytest

from assistant.models import CallerContext
from retrieval.hybrid import RetrievalError
from tests.helpers import write

ADMIN = CallerContext(role="admin")


def product_doc(code: str, topic: str) -> str:
    return (
        f"---\ntitle: {topic}\ndoc_type: product_doc\n---\n# {topic}\n\n"
        f"The {topic.lower()} option is ordered with part number {code}. It adds managed endpoint "
        "detection, response playbooks and a yearly health check for customer fleets.\n"
    )


@pytest.fixture
def sku_kb(tmp_path, settings, kb_factory):
    root = tmp_path / "kb"
    for n, topic in enumerate(
        ["Endpoint bundle", "Response bundle", "Fleet bundle", "Managed bundle", "Health bundle"]
    ):
        write(root / f"p{n}.md", product_doc(f"AG-EDR-{100 + n * 7}", topic))
    kb = kb_factory(settings)
    kb.ingest([root])
    return kb, root


def test_hybrid_finds_an_exact_sku_that_dense_misses(sku_kb):
    kb, _ = sku_kb
    query = "what is AG-EDR-121"
    dense = kb.retriever.retrieve(query, ADMIN, k=1, mode="dense")
    hybrid = kb.retriever.retrieve(query, ADMIN, k=1, mode="hybrid")
    lexical = kb.retriever.retrieve(query, ADMIN, k=1, mode="lexical")
    assert "AG-EDR-121" in lexical[0].text
    assert "AG-EDR-121" in hybrid[0].text
    assert "AG-EDR-121" not in dense[0].text  # near-identical docs: vectors cannot tell codes apart


def test_hits_carry_relevance_and_citation_fields(sku_kb):
    kb, _ = sku_kb
    (hit,) = kb.retriever.retrieve("fleet bundle health check", ADMIN, k=1)
    assert hit.source.endswith(".md") and hit.title and hit.section
    assert hit.relevance is not None and 0 < hit.relevance <= 1


def test_near_duplicates_do_not_fill_the_top_k(tmp_path, settings, kb_factory):
    root = tmp_path / "kb"
    para = (
        "Gold partners receive a dedicated channel account manager and quarterly business reviews."
    )
    for n in range(5):
        write(root / f"copy{n}.md", f"---\ndoc_type: faq\n---\n# Copy {n}\n\n{para}\n")
    write(
        root / "other.md",
        "---\ndoc_type: faq\n---\n# Other\n\nSilver partners get a shared account team.\n",
    )
    kb = kb_factory(settings)
    kb.ingest([root])
    hits = kb.retriever.retrieve("dedicated channel account manager", ADMIN, k=3)
    assert sum(para in h.text for h in hits) == 1


def test_lexical_index_survives_a_restart(sku_kb, settings, kb_factory):
    kb, _ = sku_kb
    before = [h.chunk_id for h in kb.retriever.retrieve("AG-EDR-114", ADMIN, k=3, mode="lexical")]
    reopened = kb_factory(settings)
    reopened.retriever.sync()
    assert reopened.lexical.generation == kb.store.generation()
    after = [
        h.chunk_id for h in reopened.retriever.retrieve("AG-EDR-114", ADMIN, k=3, mode="lexical")
    ]
    assert before == after and before


def test_lexical_index_stays_in_step_with_incremental_ingests_and_deletes(sku_kb):
    kb, root = sku_kb
    write(root / "new.md", product_doc("AF-SDW-999", "Branch router"))
    kb.ingest([root])
    assert "AF-SDW-999" in kb.retriever.retrieve("AF-SDW-999", ADMIN, k=1, mode="lexical")[0].text
    (root / "new.md").unlink()
    kb.ingest([root], sync=True)
    hits = kb.retriever.retrieve("AF-SDW-999", ADMIN, k=5, mode="lexical")
    assert all("AF-SDW-999" not in h.text for h in hits)


def test_another_process_ingesting_is_picked_up(sku_kb, settings, kb_factory):
    kb, root = sku_kb
    kb.retriever.retrieve("warm up", ADMIN, k=1)
    other = kb_factory(settings)
    write(root / "late.md", product_doc("AV-BKP-777", "Vault archive"))
    other.ingest([root])
    hits = kb.retriever.retrieve("AV-BKP-777", ADMIN, k=1, mode="lexical")
    assert hits and "AV-BKP-777" in hits[0].text


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"k": 0}, "k must"), ({"mode": "fuzzy"}, "unknown mode")]
)
def test_bad_arguments_fail_early(sku_kb, kwargs, message):
    kb, _ = sku_kb
    with pytest.raises(RetrievalError, match=message):
        kb.retriever.retrieve("x", ADMIN, **kwargs)


def test_empty_query_is_refused(sku_kb):
    with pytest.raises(RetrievalError, match="empty"):
        sku_kb[0].retriever.retrieve("  ", ADMIN)
