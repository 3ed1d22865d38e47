"""``/readyz`` with the real local reader: 503 before the model is loaded, 200 once the API's
start-up has warmed it up (the defect was ``is_loaded`` read as a property and never true)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.llm import build_chat_model
from assistant.records import RecordStore
from assistant.service import build_service

pytestmark = pytest.mark.slow


def test_readyz_turns_200_after_the_local_reader_warms_up(api_settings, sample_kb):
    model = build_chat_model(api_settings.llm.model_copy(update={"provider": "local"}))
    service = build_service(
        api_settings, chat_model=model, kb=sample_kb, records=RecordStore("sqlite://")
    )
    assert service.ready()["llm"] is False  # nothing loaded yet
    app = create_app(api_settings, service)
    with TestClient(app) as client:  # the lifespan starts the warm-up in the background
        deadline = time.monotonic() + 600
        status = client.get("/readyz").status_code
        while status != 200 and time.monotonic() < deadline:
            time.sleep(1)
            status = client.get("/readyz").status_code
        body = client.get("/readyz").json()
    assert status == 200 and body["checks"]["llm"] is True
