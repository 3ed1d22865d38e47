"""Constants and helpers shared by the API tests (import as ``from api_helpers import ...``)."""

from __future__ import annotations

SECRET = "test-secret-that-is-long-enough-for-hs256!"
MANAGER = {"X-API-Key": "mgr-key"}
ADMIN = {"X-API-Key": "adm-key"}
# What the scripted model answers: cited, no figures (so it passes verification), with markup
# that the widget must show as text.
MARKUP = "<img src=x onerror=window.__pwned=true> <b>bold</b>"


def scripted_reply(messages: list[dict]) -> str:
    """A reader answer that passes verification (it copies passage 1 of the reader's prompt and
    cites it) and carries markup, so the widget's escaping is exercised on a real answer."""
    lines = [line for line in messages[-1]["content"].splitlines() if line.startswith("[1] ")]
    first = lines[0][4:] if lines else ""
    if first.startswith("("):  # "(title > section) text": the context is not part of the passage
        first = first.split(") ", 1)[-1]
    return f"{first.rstrip('.')} {MARKUP} [1]."


# Nothing in the knowledge base is near this: the assistant must abstain.
ABSTAIN_QUESTION = "What will the weather be like on Jupiter next Tuesday?"


def parse_sse(text: str) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a Server-Sent Events body."""
    import json

    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


class PacedService:
    """The real service with its answer stream paced by the test, as a slow streaming model
    would pace it: a ``progress`` event per stage, the real tokens and citations, then
    ``progress`` events every ``tick`` seconds until the test calls ``release.set()``, and only
    then the final answer. A test can therefore look at the page while the answer is unfinished
    (no timed assertion), and ``closed`` records that the server closed the stream early
    (the client went away) rather than running it to the end.

    It also speaks the parts of the streaming contract today's service does not emit yet:
    each citation gets the ``quote`` the answer relied on (here: the answer's sentence that
    cites it), and ``fail_next`` makes the next stream fail as a broken model would.
    Everything else (records, hand-offs, feedback) is the real service's.
    """

    def __init__(self, inner, tick: float = 0.05) -> None:
        import threading

        self.inner = inner
        self.tick = tick
        self.release = threading.Event()
        self.closed = threading.Event()
        self.finished = threading.Event()
        self.held = threading.Event()
        self.fail_next = False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def stream_answer(self, question):
        from types import SimpleNamespace as Event

        try:
            yield Event(event="progress", data={"stage": "searching", "message": "Searching…"})
            if self.fail_next:
                self.fail_next = False
                raise RuntimeError("the model went away")
            events = list(self.inner.stream_answer(question))
            final = events.pop()
            for event in events:
                if event.event == "citations":
                    for citation in event.data["citations"]:
                        citation["quote"] = _citing_sentence(final.data["answer"], citation["n"])
            sources = len(final.data.get("citations", []))
            yield Event(
                event="progress",
                data={
                    "stage": "reading",
                    "message": f"Reading {sources} sources…",
                    "sources": sources,
                },
            )
            yield Event(event="progress", data={"stage": "writing", "message": "Writing…"})
            yield from events
            self.held.set()
            while not self.release.wait(self.tick):
                yield Event(event="progress", data={"stage": "checking", "message": "Checking…"})
            yield final
            self.finished.set()
        except GeneratorExit:
            self.closed.set()
            raise


def _citing_sentence(answer: str, n: int) -> str:
    """The last sentence of ``answer`` that carries the marker ``[n]``, without the markers."""
    import re

    citing = [s for s in re.split(r"(?<=[.!?])\s+", answer) if f"[{n}]" in s]
    return re.sub(r"\s*\[\d+\]", "", citing[-1]).strip() if citing else ""
