"""`AssistantService`: the one entry point that every channel calls.

The CLI, the API routes, the portal widget (through the API), the Slack bot and the eval suite all
call these methods; a channel only converts its own format to a :class:`Question` and the
:class:`Answer` back.

Interface (stable; implementation in progress)::

    service = build_service(settings)          # loads store, embedder, chat model once
    service.answer(question) -> Answer
    service.stream_answer(question) -> Iterator[StreamEvent]   # token..., citations, final
    service.search(query, caller, k=None, mode=None) -> list[SearchHit]
    service.recommend_training(profile) -> list[Recommendation]
    service.draft(request, caller) -> Draft
    service.request_handoff(answer_id=..., question=..., caller=...) -> Handoff
    service.list_handoffs() -> list[Handoff]
    service.ready() -> dict[str, bool]          # {"store": True, "embedder": True, "llm": True}
"""
