"""Fixtures for the API tests: settings on tmp_path, a service, an app and signed tokens."""

from __future__ import annotations

import time

import pytest
from api_helpers import SECRET
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import Authenticator
from assistant.models import (
    Answer,
    Citation,
    Handoff,
    Recommendation,
    SearchHit,
    StreamEvent,
)
from assistant.records import RecordStore
from assistant.settings import (
    ApiSettings,
    AuthSettings,
    DbSettings,
    Settings,
    StoreSettings,
)


class InterimService:
    """TEMPORARY stand-in until assistant.service lands (then replaced by build_service)."""

    def __init__(self, settings):
        self.records = RecordStore.from_settings(settings)

    def answer(self, question):
        if "Jupiter" in question.text:
            a = Answer(answer="I don't know.", path="abstained", handoff_offered=True)
            h = self.records.create_handoff(question.text, question.caller)
            return a.model_copy(update={"handoff_id": h.id})
        text = f"Echo {question.text} <img src=x onerror=window.__pwned=1> [1] tier={question.caller.tier}"
        text += f" history={len(question.history)}"
        return Answer(
            answer=text,
            citations=[Citation(n=1, source="deal.md", title="Deal reg", section="S", page=2)],
            grounded=True,
            path="generated",
        )

    def stream_answer(self, question):
        answer = self.answer(question)
        for word in answer.answer.split(" "):
            time.sleep(0.03)
            yield StreamEvent(event="token", data={"text": word + " "})
        yield StreamEvent(
            event="citations",
            data={"citations": [c.model_dump() for c in answer.citations]},
        )
        yield StreamEvent(event="final", data=answer.model_dump())

    def search(self, query, caller, k=None, mode=None):
        return [SearchHit(chunk_id="c", doc_id="d", source="s", text=f"{caller.tier}")]

    def recommend_training(self, profile):
        return [Recommendation(course_id="c1", title=profile.tier, score=1.0, reason="r")]

    def draft(self, request, caller):
        from assistant.models import Draft

        return Draft(kind=request.kind, text=f"Draft about {request.product}")

    def request_handoff(self, answer_id=None, question=None, caller=None) -> Handoff:
        if answer_id:
            found = self.records.find_handoff_for_answer(answer_id)
            if found:
                return self.records.request_handoff(found.id)
            question = self.records.get_answer(answer_id).question
        return self.records.create_handoff(
            question, caller, status="requested", answer_id=answer_id
        )

    def list_handoffs(self):
        return self.records.list_handoffs()

    def ready(self):
        return {"store": True}

    def stats(self):
        return {"documents": 0}

    def ingest(self, paths, sync=False):
        return {"paths": paths}


@pytest.fixture
def api_settings(tmp_path) -> Settings:
    return Settings(
        store=StoreSettings(dir=tmp_path / "store"),
        db=DbSettings(url=f"sqlite:///{tmp_path / 'app.db'}"),
        auth=AuthSettings(
            jwt_secret=SecretStr(SECRET),
            api_keys=[SecretStr("mgr-key:channel_manager"), SecretStr("adm-key:admin")],
        ),
        api=ApiSettings(rate_limit="1000/minute"),
    )


@pytest.fixture
def api_service(api_settings):
    return InterimService(api_settings)


@pytest.fixture
def app(api_settings, api_service):
    return create_app(api_settings, service=api_service)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth(api_settings) -> Authenticator:
    return Authenticator(api_settings)


@pytest.fixture
def partner_headers(auth):
    token = auth.issue_token("acme", tier="gold", region="emea")
    return {"Authorization": f"Bearer {token}"}
