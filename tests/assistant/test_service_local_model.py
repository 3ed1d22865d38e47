"""The real packaged SmolLM2 behind the service, one test per answer path.

The model is small, so the service must hold up around it: a plain fact it can copy comes back
as a verified generated answer; where it wanders, the extractive path carries the facts; where
the sources say nothing, it is not even asked.
"""

import pytest

from assistant.models import CallerContext, Question
from assistant.service import build_service
from tests.helpers import make_settings, write

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_model():
    from pathlib import Path

    from assistant.llm import build_chat_model
    from assistant.settings import LLMSettings

    return build_chat_model(
        LLMSettings(
            provider="local", cache_dir=Path.home() / ".cache" / "partner-assistant" / "models"
        )
    )


@pytest.fixture
def support_kb(tmp_path, kb_factory):
    root = tmp_path / "kb"
    write(
        root / "support.md",
        "---\ntitle: Support hours\ndoc_type: faq\n---\n# Support hours\n\nPartner support is open from 9:00 to 17:00 CET on working days.\n",
    )
    write(
        root / "vouchers.md",
        "---\ntitle: Exam vouchers\ndoc_type: program_rule\n---\n# Exam vouchers\n\nGold partners receive six free exam vouchers each fiscal year.\n",
    )
    settings = make_settings(tmp_path)
    kb = kb_factory(settings)
    kb.ingest([root])
    return settings, kb


def test_local_model_answer_that_passes_verification_is_generated(support_kb, local_model):
    settings, kb = support_kb
    service = build_service(settings, chat_model=local_model, kb=kb)
    answer = service.answer(Question(text="When is partner support open?", caller=CallerContext()))
    assert answer.path == "generated", answer.answer
    assert "9:00" in answer.answer and "17:00" in answer.answer
    assert answer.citations[0].source == "support.md"


def test_local_model_on_the_sample_corpus_answers_with_valid_citations(
    sample_kb, sample_settings, tmp_path, local_model
):
    from assistant.answering.verify import MARKER

    settings = sample_settings.model_copy(update={"db": make_settings(tmp_path).db})
    service = build_service(settings, chat_model=local_model, kb=sample_kb)
    caller = CallerContext(tier="gold", region="emea")
    answer = service.answer(
        Question(text="What margin does a Gold partner get in EMEA?", caller=caller)
    )
    assert answer.path in ("generated", "extractive")
    assert "30%" in answer.answer and answer.grounded
    assert {int(n) for n in MARKER.findall(answer.answer)} <= {c.n for c in answer.citations}


def test_local_reader_answers_a_list_question_from_the_passage(
    sample_kb, sample_settings, tmp_path, local_model
):
    settings = sample_settings.model_copy(update={"db": make_settings(tmp_path).db})
    service = build_service(settings, chat_model=local_model, kb=sample_kb)
    answer = service.answer(
        Question(
            text="Which Linux distros can run the Guard agent?",
            caller=CallerContext(tier="gold", region="emea"),
        )
    )
    assert answer.timings.get("read_ms", 0) > 0  # the reader was asked
    assert answer.path in ("generated", "extractive"), answer.trace
    assert "Ubuntu" in answer.answer and answer.citations


def test_local_reader_abstains_on_a_region_no_document_covers(
    sample_kb, sample_settings, tmp_path, local_model
):
    settings = sample_settings.model_copy(update={"db": make_settings(tmp_path).db})
    service = build_service(settings, chat_model=local_model, kb=sample_kb)
    answer = service.answer(
        Question(
            text="What are the partner margins in Antarctica?",
            caller=CallerContext(tier="gold", region="emea"),
        )
    )
    assert answer.path == "abstained" and answer.handoff_offered
    assert not answer.citations
