"""An English question whose answer is only in a source in another language: the name it asks
about is written in that language there, so it is not an unknown name."""

from assistant.llm import ScriptedChatModel
from assistant.models import CallerContext, Question
from assistant.service import build_service
from tests.helpers import make_settings, write


def _passage_with(messages, text):
    lines = messages[-1]["content"].splitlines()
    return next(
        int(line[1 : line.index("]")]) for line in lines if line.startswith("[") and text in line
    )


def test_an_english_question_is_answered_from_a_german_source(tmp_path):
    root = tmp_path / "kb"
    write(
        root / "guide.md",
        "---\ndoc_type: program_rule\n---\n# Partner guide\n\n"
        "Partners order licences through an authorised distributor in their country.\n",
    )
    write(
        root / "dach.md",
        "---\ndoc_type: program_rule\nlanguage: de\n---\n# Zusatzvereinbarung DACH\n\n"
        "Partner in Deutschland bestellen über die Elbtal Distribution GmbH.\n",
    )
    reader = ScriptedChatModel(
        lambda m: (
            f"Partners in Germany order through Elbtal Distribution GmbH [{_passage_with(m, 'Elbtal')}]."
        )
    )
    service = build_service(make_settings(tmp_path), chat_model=reader)
    service.kb.ingest([root], sync=True)

    answer = service.answer(
        Question(
            text="Which distributor do partners in Germany order through?",
            caller=CallerContext(tier="gold", region="emea"),
        )
    )

    assert answer.path == "generated", answer.trace.failed
    assert "Elbtal Distribution GmbH" in answer.answer
    assert answer.citations[0].source == "dach.md"


def test_a_name_no_source_in_any_language_mentions_still_abstains(tmp_path):
    root = tmp_path / "kb"
    write(
        root / "guide.md",
        "---\ndoc_type: program_rule\n---\n# Partner guide\n\n"
        "Partners order licences through an authorised distributor in their country.\n",
    )
    service = build_service(make_settings(tmp_path), chat_model=ScriptedChatModel(["NOT FOUND"]))
    service.kb.ingest([root], sync=True)

    answer = service.answer(
        Question(
            text="Which distributor do Antarctica partners order through?",
            caller=CallerContext(tier="gold", region="emea"),
        )
    )

    assert answer.path == "abstained"
    assert any("Antarctica" in problem for problem in answer.trace.failed)
