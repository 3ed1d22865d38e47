"""The behaviour every :class:`~assistant.llm.ChatModel` must have, as a mixin of tests.

Modelled on haystack's ``testing/document_store.py``: a test class for one implementation
inherits :class:`ChatModelContract` and provides two fixtures, and every test below runs
against it::

    class TestScriptedChatModelContract(ChatModelContract):
        @pytest.fixture
        def model(self):
            return ScriptedChatModel(contract_reply)

        @pytest.fixture
        def fresh_model(self):
            return ScriptedChatModel(contract_reply)

- ``model``: ready to answer (may be shared and loaded once per session);
- ``fresh_model``: a new instance on which ``warm_up`` has not been called yet.

The prompts are chosen so that a real model answers them deterministically with greedy
decoding (``COUNTING`` makes it write "1 2 3 …"); a scripted or fake model answers them with
:func:`contract_reply`. A class whose backend counts tokens elsewhere (a fake server) overrides
:meth:`ChatModelContract.produced_tokens`. ``loads_weights = True`` says that a fresh instance
must not be loaded before ``warm_up``.

The contract checks behaviour a caller relies on, so a fake that does not behave like the real
thing fails it: one that ignores ``max_tokens`` fails ``test_max_tokens_caps_...``, one that
keeps generating after its reader hung up fails ``test_closing_a_stream_early_...``.
"""

from __future__ import annotations

from typing import Any

import pytest

from assistant.llm import ChatModel

QUESTION = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "What is the capital of France? Answer in one sentence."},
]
COUNTING = [
    {
        "role": "user",
        "content": "Count from 1 to 60, separated by single spaces. Write only the numbers.",
    }
]
COUNTING_REPLY = " ".join(str(n) for n in range(1, 61))
CAPITAL_REPLY = "The capital of France is Paris."


def contract_reply(messages: list[dict[str, Any]]) -> str:
    """What a good model says to the contract's prompts, for scripted and fake models."""
    return COUNTING_REPLY if "Count from 1" in messages[-1]["content"] else CAPITAL_REPLY


class ChatModelContract:
    """Tests every chat model passes. Subclasses provide ``model`` and ``fresh_model``."""

    loads_weights: bool = False

    def produced_tokens(self, model: Any) -> int:
        """How many tokens the backend generated for the model's last call, as it counted them."""
        return model.last_stats.completion_tokens

    # -- shape -----------------------------------------------------------------------------------

    def test_is_a_chat_model_with_a_name(self, model):
        assert isinstance(model, ChatModel)
        assert isinstance(model.name, str) and model.name

    def test_generate_returns_the_answer_as_text(self, model):
        answer = model.generate(QUESTION, max_tokens=20)
        assert isinstance(answer, str)
        assert "Paris" in answer

    def test_stream_pieces_join_to_what_generate_returns(self, model):
        pieces = list(model.stream(COUNTING, max_tokens=20))
        assert len(pieces) > 1
        assert all(isinstance(p, str) and p for p in pieces)
        assert "".join(pieces) == model.generate(COUNTING, max_tokens=20)

    # -- limits ----------------------------------------------------------------------------------

    def test_stop_string_ends_generate_and_stream_before_it(self, model):
        full = model.generate(COUNTING, max_tokens=30)
        assert len(full) >= 8, full
        # Three characters from the second half whose first occurrence is not at the start,
        # whatever the model wrote ("1 2 3 …", "1, 2, 3, …" or "123…").
        stop = next(
            full[i : i + 3]
            for i in range(len(full) // 2, len(full) - 2)
            if full.index(full[i : i + 3])
        )
        expected = full[: full.index(stop)]
        assert model.generate(COUNTING, max_tokens=30, stop=[stop, "never said"]) == expected
        assert "".join(model.stream(COUNTING, max_tokens=30, stop=[stop])) == expected
        assert 0 < len(expected) < len(full)

    def test_max_tokens_caps_generate_and_stream(self, model):
        short = model.generate(COUNTING, max_tokens=5)
        longer = model.generate(COUNTING, max_tokens=25)
        # A tokenizer never puts two space-separated words in one token: words <= tokens.
        assert 0 < len(short.split()) <= 5
        assert len(longer) > len(short)
        assert longer.startswith(short)
        assert "".join(model.stream(COUNTING, max_tokens=5)) == short

    @pytest.mark.parametrize(
        ("kwargs", "complaint"),
        [
            ({"messages": []}, "must not be empty"),
            ({"messages": "hello"}, "must be a list"),
            ({"messages": [{"role": "tool", "content": "x"}]}, "role"),
            ({"messages": [{"role": "user", "content": None}]}, "content"),
            ({"messages": QUESTION, "max_tokens": 0}, "max_tokens must be a positive integer"),
            ({"messages": QUESTION, "max_tokens": 1.5}, "max_tokens must be a positive integer"),
            ({"messages": QUESTION, "max_tokens": True}, "max_tokens must be a positive integer"),
            ({"messages": QUESTION, "stop": "\n"}, "stop must be a list"),
            ({"messages": QUESTION, "stop": [""]}, "stop must be a list"),
        ],
    )
    def test_bad_arguments_raise_value_error_before_any_work(self, model, kwargs, complaint):
        before = getattr(model, "last_stats", None)
        with pytest.raises(ValueError, match=complaint):
            model.generate(**kwargs)
        with pytest.raises(ValueError, match=complaint):
            model.stream(**kwargs)  # at the call, not when the stream is first read
        assert getattr(model, "last_stats", None) is before

    # -- lifecycle -------------------------------------------------------------------------------

    def test_warm_up_makes_the_model_ready(self, fresh_model):
        assert isinstance(fresh_model.is_loaded(), bool)
        if self.loads_weights:
            assert fresh_model.is_loaded() is False
        fresh_model.warm_up()
        assert fresh_model.is_loaded() is True
        fresh_model.warm_up()  # a second warm-up is harmless
        assert fresh_model.is_loaded() is True
        assert "Paris" in fresh_model.generate(QUESTION, max_tokens=20)

    def test_closing_a_stream_early_stops_generation(self, model):
        model.generate(COUNTING, max_tokens=40)
        whole = self.produced_tokens(model)
        stream = model.stream(COUNTING, max_tokens=40)
        first = next(stream)
        stream.close()
        assert first
        assert self.produced_tokens(model) <= whole // 2
        assert "Paris" in model.generate(QUESTION, max_tokens=20)  # and the model is free again
