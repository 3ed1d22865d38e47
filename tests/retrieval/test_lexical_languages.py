"""Lexical search in other languages: a chunk is analysed by its ``language``, a query as each
indexed language would analyse it; English analysis is exactly what it was."""

from __future__ import annotations

import bm25s
import Stemmer

from assistant.models import CallerContext
from assistant.settings import Settings
from retrieval.lexical_index import LexicalIndex, analysable
from tests.helpers import write

ADMIN = CallerContext(role="admin")
GERMAN = (
    "---\ntitle: Regionaler Nachtrag Deutschland\ndoc_type: program_rule\nlanguage: de\n---\n"
    "# Bestellungen\n\nPartner in Deutschland bestellen Hardware ausschließlich über den "
    "autorisierten Distributor Nordwerk Handel GmbH. Die Lieferzeiten betragen zwei Wochen.\n"
)
ENGLISH = (
    "---\ntitle: Ordering\ndoc_type: program_rule\n---\n# Ordering\n\n"
    "Partners order hardware through their regional distributor. Orders ship within two weeks.\n"
)


def _index(tmp_path, texts, languages) -> LexicalIndex:
    index = LexicalIndex(tmp_path / "lex", languages=Settings().retrieval.lexical_languages)
    index.build(
        [str(i) for i in range(len(texts))],
        texts,
        [{"language": language} for language in languages],
        generation=1,
    )
    return index


def test_a_german_query_finds_the_german_chunk_lexically(tmp_path, settings, kb_factory):
    root = tmp_path / "kb"
    write(root / "de.md", GERMAN)
    write(root / "en.md", ENGLISH)
    kb = kb_factory(settings)
    kb.ingest([root])
    hits = kb.retriever.retrieve(
        "Über welchen Distributor bestellen Partner Hardware in Deutschland?",
        ADMIN,
        k=1,
        mode="lexical",
        language="de",
    )
    assert hits and hits[0].source == "de.md"
    # inflected forms meet through the German stemmer ("Bestellungen" / "bestellen")
    index = kb.lexical
    assert set(index.query_tokens("Bestellung", "de")) & set(index.query_tokens("bestellen", "de"))


def test_an_english_question_finds_a_german_source_by_a_shared_word(tmp_path, settings, kb_factory):
    root = tmp_path / "kb"
    write(root / "de.md", GERMAN)
    write(root / "en.md", ENGLISH)
    kb = kb_factory(settings)
    kb.ingest([root])
    hits = kb.retriever.retrieve("Nordwerk Handel distributor", ADMIN, k=1, mode="lexical")
    assert hits[0].source == "de.md"


def test_english_analysis_is_unchanged(tmp_path):
    texts = [
        "Registered deals are protected for 120 days; AG-EDR-100 ships in EMEA.",
        "Partners running campaigns claim MDF within sixty days.",
    ]
    index = _index(tmp_path, texts, ["en", "en"])
    query = "How long are registered deals protected for AG-EDR-100 campaigns?"
    before = bm25s.tokenize(
        [analysable(query)],
        stopwords="en",
        stemmer=Stemmer.Stemmer("english"),
        show_progress=False,
        return_ids=False,
    )[0]
    assert index.query_tokens(query) == [t for t in before if t in index.bm25.vocab_dict]
    assert index.search(query, 2)[0][0] == "0"


def test_japanese_falls_back_to_character_bigrams(tmp_path):
    texts = [
        "ドイツのパートナーは販売代理店を通じて注文します。",
        "Partners order through distributors.",
    ]
    index = _index(tmp_path, texts, ["ja", "en"])
    hits = index.search("販売代理店はどこですか", 2, language="ja")
    assert hits and hits[0][0] == "0"


def test_a_changed_analysis_setting_rebuilds_the_saved_index(tmp_path):
    index = _index(tmp_path, ["deal registration"], ["en"])
    index.save()
    assert LexicalIndex(tmp_path / "lex", languages=index.languages).load()
    assert not LexicalIndex(tmp_path / "lex", k1=1.5, languages=index.languages).load()


def test_language_counts_read_codes_as_the_analyzers_do_and_survive_a_reload(tmp_path):
    # the assistant translates a question whose language fewer chunks are written in
    index = LexicalIndex(tmp_path / "lexical")
    index.build(
        ["a", "b", "c"],
        ["Partner in Österreich", "Partner in Deutschland", "Partners in Germany"],
        [{"language": "de-AT"}, {"language": "de"}, {}],
        generation=1,
    )
    assert index.language_counts == {"de": 2, "en": 1}
    index.save()
    reloaded = LexicalIndex(tmp_path / "lexical")
    assert reloaded.load()
    assert reloaded.language_counts == {"de": 2, "en": 1}
