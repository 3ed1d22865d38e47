"""``POST /v1/chat``: a question in, an answer out, as JSON or as Server-Sent Events.

The conversation lives on the server: a follow-up sends only ``conversation_id`` and the history
is read from the `RecordStore`, so a client cannot slip invented turns into the prompt. A
conversation can only be continued by the caller who started it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.deps import CallerDep, MetricsDep, QueueDep, ServiceDep
from api.errors import COMMON_RESPONSES
from api.metrics import ApiMetrics
from api.schemas import ChatRequest, ChatResponse
from api.throttling import Ticket
from assistant.models import Answer, CallerContext, Question, Turn

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["chat"], responses=COMMON_RESPONSES)

HISTORY_TURNS = 8  # the last four exchanges: enough to resolve "and for gold?", cheap to embed

_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer (JSON), or with `Accept: text/event-stream` a stream of "
        "`progress` events `{stage, message, sources?}`, `token` events `{text}` (verified "
        "text, never withdrawn), one `citations` event `{citations}` and a `final` event "
        "carrying the whole answer and `conversation_id`; `error` `{message}` if it fails. "
        "Closing the connection stops the generation.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def _history(service: Any, conversation_id: str | None, caller: CallerContext) -> list[Turn]:
    """The caller's own conversation so far; nothing is created here: the service starts a
    conversation when it saves the first answer, so a refused request leaves no rows."""
    if conversation_id is None:
        return []
    return service.conversation_history(conversation_id, caller)


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


_END = object()


def _next_event(events: Iterator[Any]) -> Any:
    return next(events, _END)


async def _stream(
    service: Any,
    question: Question,
    ticket: Ticket,
    metrics: ApiMetrics,
) -> AsyncIterator[str]:
    """The service's events as SSE, passed through as they come (``progress``, ``token``,
    ``citations``, ``final``, ``error``); the service has saved the final answer.

    The service's generator is pulled one event at a time in a worker thread. When the client
    goes away (the widget's Stop button aborts the request) Starlette cancels this generator; the
    ``finally`` then closes the service's generator, so generation stops at its next step instead
    of running to the end for nobody. anyio lets a worker thread finish its current step before
    the cancellation lands, so ``close()`` never races a running ``next()``.
    """
    events: Iterator[Any] | None = None
    entered: list[Ticket] = []  # set in the worker thread, so a cancelled wait still counts

    def enter() -> None:
        entered.append(ticket.__enter__())

    try:
        await anyio.to_thread.run_sync(enter)
        stream: Iterator[Any] = await anyio.to_thread.run_sync(
            lambda: iter(service.stream_answer(question))
        )
        events = stream
        while (event := await anyio.to_thread.run_sync(_next_event, stream)) is not _END:
            if event.event == "final":  # the service saved it; channels never save
                metrics.record_answer(Answer.model_validate(event.data))
                yield _sse("final", event.data)
            else:
                yield _sse(event.event, event.data)
    except Exception:
        log.exception("streamed answer failed")
        yield _sse("error", {"message": "the answer could not be completed; please retry"})
    finally:
        with anyio.CancelScope(shield=True):
            if events is not None and hasattr(events, "close"):
                await anyio.to_thread.run_sync(events.close)
            if entered:
                ticket.__exit__(None, None, None)
            else:
                ticket.release()


@router.post("/chat", response_model=ChatResponse, responses=_SSE_DOC)
def chat(
    body: ChatRequest,
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    queue: QueueDep,
    metrics: MetricsDep,
) -> Any:
    """Answer a question with citations, or abstain and offer a hand-off."""
    history = _history(service, body.conversation_id, caller)
    question = Question(
        text=body.question, caller=caller, history=history, conversation_id=body.conversation_id
    )
    ticket = queue.reserve()
    if "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(
            _stream(service, question, ticket, metrics),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    with ticket:
        answer = service.answer(question)
    metrics.record_answer(answer)
    return ChatResponse(**answer.model_dump())
