"""The SSE route against a paced stream on a real uvicorn server: events pass through as they
come, and a client that goes away stops the generation on the server."""

from __future__ import annotations

import time

import httpx
import pytest
from api_helpers import parse_sse

from api.app import create_app


@pytest.fixture
def app(api_settings, paced_service):
    return create_app(api_settings, service=paced_service)


def _stream(live_url, partner_headers):
    return httpx.stream(
        "POST",
        f"{live_url}/v1/chat",
        json={"question": "How do I register a deal?"},
        headers={**partner_headers, "Accept": "text/event-stream"},
        timeout=60,
    )


def test_progress_events_pass_through_before_the_tokens(live_url, partner_headers):
    with _stream(live_url, partner_headers) as response:
        events = parse_sse(response.read().decode())

    names = [name for name, _ in events]
    assert names[0] == "progress" and events[0][1]["stage"] == "searching"
    reading = next(data for name, data in events if data.get("stage") == "reading")
    assert reading["sources"] == len(events[-1][1]["citations"])
    assert names.index("progress") < names.index("token") < names.index("final")
    assert names[-1] == "final"


def test_client_going_away_closes_the_answer_stream(live_url, partner_headers, paced_service, app):
    paced_service.release.clear()  # the answer stays unfinished until the client leaves
    seen = []
    with _stream(live_url, partner_headers) as response:
        for line in response.iter_lines():
            seen.append(line)
            if line == "event: token":
                break  # leaving the block closes the connection, as the widget's Stop does

    assert paced_service.closed.wait(20), "the server should close the service's generator"
    assert not paced_service.finished.is_set()
    queue = app.state.answer_queue
    for _ in range(200):  # readiness poll: the model slot is freed just after the close
        if queue.pending == 0:
            break
        time.sleep(0.05)
    assert queue.pending == 0, "the model slot should be free again"
