"""Fixtures for the API tests: the real service (the session's ingested sample corpus, a
scripted chat model), records in tmp_path, an app and signed tokens."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from api_helpers import SECRET, PacedService, scripted_reply
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import Authenticator
from assistant.llm import ScriptedChatModel
from assistant.records import RecordStore
from assistant.service import build_service
from assistant.settings import ApiSettings, AuthSettings, Settings
from tests.helpers import make_settings

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def api_settings(tmp_path) -> Settings:
    base = make_settings(tmp_path)
    (tmp_path / "inbox").mkdir()
    return base.model_copy(
        update={
            "auth": AuthSettings(
                jwt_secret=SecretStr(SECRET),
                api_keys=[SecretStr("mgr-key:channel_manager"), SecretStr("adm-key:admin")],
                demo=True,  # the widget tests open the demo page; test_api_demo turns it off
            ),
            "api": ApiSettings(rate_limit="1000/minute"),
            "data_dir": tmp_path / "inbox",
        }
    )


@pytest.fixture
def chat_model() -> ScriptedChatModel:
    return ScriptedChatModel(scripted_reply)


@pytest.fixture
def api_service(api_settings, sample_kb, chat_model):
    """The real service over the sample corpus (ingested once per session, read only here)."""
    records = RecordStore.from_settings(api_settings)
    yield build_service(api_settings, chat_model=chat_model, kb=sample_kb, records=records)
    records.dispose()


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


@pytest.fixture
def live_url(app):
    """The app served by uvicorn in a background thread on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):  # readiness poll, not a timed assertion
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def paced_service(api_service):
    """The real service, its stream paced by the test (released at once unless a test clears
    ``paced_service.release`` first)."""
    service = PacedService(api_service)
    service.release.set()
    return service


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield browser
        browser.close()
