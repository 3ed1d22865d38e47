"""Tests of the chat models: a shared contract, then each provider's own behaviour.

The OpenAI provider runs against the fake OpenAI server on loopback (real HTTP, real openai
client); the local provider loads the packaged SmolLM2 for real (marked slow).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from assistant.gguf_chat import GGUFChatModel
from assistant.llm import (
    ChatModel,
    ChatModelError,
    OpenAIChatModel,
    ScriptedChatModel,
    SmolLM2ChatModel,
    build_chat_model,
    cut_stream_at_stop,
)
from assistant.settings import LLMSettings
from tests.assistant.chat_model_contract import ChatModelContract, contract_reply
from tests.fakes.openai_server import FakeOpenAIServer, fake_openai  # noqa: F401

QUESTION = [
    {"role": "system", "content": "You answer partner questions."},
    {"role": "user", "content": "What is the deal registration window?"},
]
REPLY = "Deal registrations stay open for 90 days, then they expire [1]."


def openai_settings(server: FakeOpenAIServer, **overrides) -> LLMSettings:
    values = {"provider": "openai", "base_url": server.base_url, "max_retries": 0}
    return LLMSettings(**(values | overrides))


# --------------------------------------------------------------------------------------------
# Contract: every ChatModel behaves the same (tests/assistant/chat_model_contract.py)
# --------------------------------------------------------------------------------------------


class TestScriptedChatModelContract(ChatModelContract):
    @pytest.fixture
    def model(self):
        return ScriptedChatModel(contract_reply)

    @pytest.fixture
    def fresh_model(self):
        return ScriptedChatModel(contract_reply)


class TestOpenAIChatModelContract(ChatModelContract):
    """The real openai client against the fake server on loopback, which streams one word per
    10 ms so that it can tell when the client hangs up."""

    @pytest.fixture
    def server(self, fake_openai):  # noqa: F811
        fake_openai.reply = lambda body: contract_reply(body["messages"])
        fake_openai.chunk_delay = 0.01
        return fake_openai

    @pytest.fixture
    def model(self, server):
        return OpenAIChatModel(openai_settings(server))

    @pytest.fixture
    def fresh_model(self, server):
        return OpenAIChatModel(openai_settings(server))

    def produced_tokens(self, model) -> int:
        """What the server sent before the response ended (or the client hung up)."""
        server = self._server
        last = server.chat_requests[-1]
        assert last.done.wait(5), "the fake server is still streaming"
        return last.completion_tokens

    @pytest.fixture(autouse=True)
    def _keep_server(self, server):
        self._server = server


# --------------------------------------------------------------------------------------------
# OpenAI-compatible provider, against the fake server
# --------------------------------------------------------------------------------------------


def test_openai_sends_model_messages_temperature_and_max_tokens(fake_openai):  # noqa: F811
    model = OpenAIChatModel(openai_settings(fake_openai, model="partner-llm", max_tokens=77))
    model.generate(QUESTION)
    sent = fake_openai.chat_requests[-1].json
    assert sent["model"] == "partner-llm"
    assert sent["messages"] == QUESTION
    assert sent["temperature"] == 0
    assert sent["max_tokens"] == 77
    assert not sent.get("stream")


def test_openai_call_max_tokens_overrides_the_settings(fake_openai):  # noqa: F811
    OpenAIChatModel(openai_settings(fake_openai)).generate(QUESTION, max_tokens=12)
    assert fake_openai.chat_requests[-1].json["max_tokens"] == 12


def test_openai_sends_the_api_key_as_a_bearer_token(fake_openai):  # noqa: F811
    fake_openai.api_key = "sk-test-123"
    model = OpenAIChatModel(openai_settings(fake_openai, api_key=SecretStr("sk-test-123")))
    assert model.generate(QUESTION) == "Hello from the fake model."
    assert fake_openai.requests[-1].headers["authorization"] == "Bearer sk-test-123"


def test_openai_without_a_key_sends_a_placeholder_to_a_local_server(fake_openai):  # noqa: F811
    OpenAIChatModel(openai_settings(fake_openai)).generate(QUESTION)
    assert fake_openai.requests[-1].headers["authorization"] == "Bearer not-needed"


def test_openai_without_key_or_base_url_refuses_with_a_clear_error():
    model = OpenAIChatModel(LLMSettings(provider="openai"))
    with pytest.raises(ChatModelError, match="PA_LLM_API_KEY must be set"):
        model.generate(QUESTION)


def test_openai_stream_asks_for_sse_and_yields_several_chunks(fake_openai):  # noqa: F811
    fake_openai.reply = REPLY
    pieces = list(OpenAIChatModel(openai_settings(fake_openai)).stream(QUESTION))
    assert fake_openai.chat_requests[-1].json["stream"] is True
    assert len(pieces) == len(REPLY.split(" "))
    assert "".join(pieces) == REPLY


def test_openai_reply_can_depend_on_the_request(fake_openai):  # noqa: F811
    fake_openai.reply = lambda request: "echo: " + request["messages"][-1]["content"]
    model = OpenAIChatModel(openai_settings(fake_openai))
    assert model.generate(QUESTION) == "echo: What is the deal registration window?"


def test_openai_retries_after_a_500(fake_openai):  # noqa: F811
    fake_openai.fail(500, times=1)
    model = OpenAIChatModel(openai_settings(fake_openai, max_retries=2))
    assert model.generate(QUESTION) == "Hello from the fake model."
    assert [r.status for r in fake_openai.chat_requests] == [500, 200]


def test_openai_retries_after_a_429(fake_openai):  # noqa: F811
    fake_openai.fail(429, times=2)
    model = OpenAIChatModel(openai_settings(fake_openai, max_retries=2))
    assert model.generate(QUESTION) == "Hello from the fake model."
    assert [r.status for r in fake_openai.chat_requests] == [429, 429, 200]


def test_openai_stream_retries_after_a_500(fake_openai):  # noqa: F811
    fake_openai.fail(500, times=1)
    model = OpenAIChatModel(openai_settings(fake_openai, max_retries=1))
    assert "".join(model.stream(QUESTION)) == "Hello from the fake model."


def test_openai_repeated_failure_becomes_a_clear_error(fake_openai):  # noqa: F811
    fake_openai.fail(500, times=3, message="upstream overloaded")
    model = OpenAIChatModel(openai_settings(fake_openai, max_retries=2))
    with pytest.raises(ChatModelError) as caught:
        model.generate(QUESTION)
    assert str(caught.value) == "chat model 'gpt-4o-mini' failed with HTTP 500: upstream overloaded"
    assert caught.value.status_code == 500
    assert len(fake_openai.chat_requests) == 3


def test_openai_stream_failure_becomes_a_clear_error(fake_openai):  # noqa: F811
    fake_openai.fail(429, times=1, message="rate limited")
    model = OpenAIChatModel(openai_settings(fake_openai, max_retries=0))
    with pytest.raises(ChatModelError, match="HTTP 429: rate limited"):
        list(model.stream(QUESTION))


def test_openai_rejected_key_error_does_not_contain_the_key(fake_openai):  # noqa: F811
    fake_openai.api_key = "sk-right"
    model = OpenAIChatModel(openai_settings(fake_openai, api_key=SecretStr("sk-wrong-secret")))
    with pytest.raises(ChatModelError, match="HTTP 401") as caught:
        model.generate(QUESTION)
    assert "sk-wrong-secret" not in str(caught.value)
    assert "sk-wrong-secret" not in repr(model.settings)


def test_openai_timeout_setting_is_respected(fake_openai):  # noqa: F811
    fake_openai.delay = 5.0
    model = OpenAIChatModel(openai_settings(fake_openai, timeout=0.2))
    with pytest.raises(ChatModelError, match="timed out"):
        model.generate(QUESTION)


def test_openai_unreachable_server_is_a_clear_error():
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = OpenAIChatModel(
        LLMSettings(provider="openai", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    )
    with pytest.raises(ChatModelError, match="unreachable"):
        model.generate(QUESTION)


# --------------------------------------------------------------------------------------------
# Scripted model
# --------------------------------------------------------------------------------------------


def test_scripted_returns_listed_replies_in_order():
    model = ScriptedChatModel(["one", "two"])
    assert [model.generate(QUESTION), model.generate(QUESTION)] == ["one", "two"]


def test_scripted_records_the_messages_and_arguments_it_received():
    model = ScriptedChatModel(["ok"])
    model.generate(QUESTION, max_tokens=9, stop=["\n"])
    assert model.calls == [QUESTION]
    assert model.kwargs == [{"max_tokens": 9, "stop": ["\n"]}]


def test_scripted_raises_a_listed_exception():
    model = ScriptedChatModel([ChatModelError("server down")])
    with pytest.raises(ChatModelError, match="server down"):
        model.generate(QUESTION)


def test_scripted_running_out_of_replies_is_a_clear_error():
    model = ScriptedChatModel(["only one"])
    model.generate(QUESTION)
    with pytest.raises(ChatModelError, match="ran out of replies after 1"):
        model.generate(QUESTION)


def test_scripted_refuses_a_single_string_of_replies():
    with pytest.raises(ValueError, match="not one string"):
        ScriptedChatModel("a reply")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Factory and helpers
# --------------------------------------------------------------------------------------------


def test_factory_builds_the_local_reader_by_default_without_loading_it(tmp_path):
    model = build_chat_model(LLMSettings(cache_dir=tmp_path))
    assert isinstance(model, GGUFChatModel)
    assert model.name == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert model.is_loaded() is False
    assert list(tmp_path.iterdir()) == []


def test_factory_builds_smollm2_under_its_own_provider_name(tmp_path):
    model = build_chat_model(LLMSettings(provider="smollm2", cache_dir=tmp_path))
    assert isinstance(model, SmolLM2ChatModel)
    assert model.is_loaded() is False


def test_factory_builds_the_openai_model_when_configured():
    model = build_chat_model(LLMSettings(provider="openai", model="partner-llm"))
    assert isinstance(model, OpenAIChatModel)
    assert model.name == "partner-llm"


@pytest.mark.parametrize(
    "model",
    [
        SmolLM2ChatModel(LLMSettings()),
        OpenAIChatModel(LLMSettings(provider="openai")),
        ScriptedChatModel(["x"]),
    ],
    ids=["local", "openai", "scripted"],
)
def test_every_provider_satisfies_the_chat_model_protocol(model):
    assert isinstance(model, ChatModel)


def test_stop_string_split_across_pieces_is_cut():
    pieces = ["Answer: 42", "\n\nQu", "estion: next"]
    assert "".join(cut_stream_at_stop(pieces, ["\n\nQuestion:"])) == "Answer: 42"


def test_stopped_stream_closes_its_source():
    closed = []

    def source() -> Iterator[str]:
        try:
            yield from ["a", "b", "STOP", "c", "d"]
        finally:
            closed.append(True)

    assert "".join(cut_stream_at_stop(source(), ["STOP"])) == "ab"
    assert closed == [True]


def test_local_missing_gguf_is_a_clear_error(tmp_path):
    model = SmolLM2ChatModel(LLMSettings(local_gguf=tmp_path / "missing.gguf", cache_dir=tmp_path))
    with pytest.raises(ChatModelError, match="missing.gguf does not exist"):
        model.generate(QUESTION)


# --------------------------------------------------------------------------------------------
# Local SmolLM2, loaded for real
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_settings(tmp_path_factory) -> LLMSettings:
    """A fresh cache per session, so the gguf conversion path runs too (~20 s once)."""
    return LLMSettings(cache_dir=tmp_path_factory.mktemp("llm-cache"), max_tokens=40)


@pytest.fixture(scope="session")
def local_model(local_settings) -> SmolLM2ChatModel:
    model = SmolLM2ChatModel(local_settings)
    model.load()
    return model


SIMPLE = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]


@pytest.mark.slow
def test_local_load_writes_a_complete_cache_and_no_temp_folder(local_model, local_settings):
    entries = sorted(p.name for p in local_settings.cache_dir.iterdir())
    assert entries == ["SmolLM2-135M-Instruct.Q4_1"]
    cached = local_settings.cache_dir / entries[0]
    assert (cached / "config.json").is_file()
    assert (cached / "model.safetensors").is_file()


@pytest.mark.slow
def test_local_generate_and_stream_give_the_same_answer(local_model):
    answer = local_model.generate(SIMPLE)
    pieces = list(local_model.stream(SIMPLE))
    assert "Paris" in answer
    assert len(pieces) > 1
    assert "".join(pieces) == answer


@pytest.mark.slow
def test_local_generation_is_deterministic(local_model):
    assert local_model.generate(SIMPLE, max_tokens=15) == local_model.generate(
        SIMPLE, max_tokens=15
    )


@pytest.mark.slow
def test_local_max_tokens_caps_the_answer(local_model):
    long_question = [{"role": "user", "content": "Write a long story about a reseller."}]
    answer = local_model.generate(long_question, max_tokens=5)
    tokens = local_model.load().tokenizer(answer, add_special_tokens=False)["input_ids"]
    assert 0 < len(tokens) <= 5


@pytest.mark.slow
def test_local_stop_string_ends_the_answer(local_model):
    full = local_model.generate(SIMPLE)
    word = "Paris"
    assert word in full
    assert local_model.generate(SIMPLE, stop=[word]) == full[: full.index(word)]
    assert "".join(local_model.stream(SIMPLE, stop=[word])) == full[: full.index(word)]


@pytest.mark.slow
def test_local_reader_leaving_a_stream_early_frees_the_model(local_model):
    stream = local_model.stream(SIMPLE)
    next(stream)
    stream.close()
    assert "Paris" in local_model.generate(SIMPLE)


@pytest.mark.slow
def test_local_models_with_the_same_settings_share_one_load(local_model, local_settings):
    assert SmolLM2ChatModel(local_settings).load() is local_model.load()


@pytest.mark.slow
class TestSmolLM2ChatModelContract(ChatModelContract):
    loads_weights = True

    @pytest.fixture
    def model(self, local_model):
        return local_model

    @pytest.fixture
    def fresh_model(self, local_settings, local_model):
        return SmolLM2ChatModel(local_settings)  # a new instance: shares the process's load
