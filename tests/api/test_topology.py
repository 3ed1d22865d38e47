"""The scale-out topology, for real: a `chroma run` server, PostgreSQL (a scratch database),
Redis (a key prefix of its own), an ingest job and two API workers, each its own process
started by ``scripts/topology.py``. The remote chat model is the one boundary faked, by the
OpenAI-compatible fake on loopback that both workers call.

What only holds when the workers share state: a conversation started on one worker continues
on the other (and stays its owner's), one rate-limit budget spans both, an ingest job is seen
by both, and either worker's /metrics counts the requests of both.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import httpx
import pytest
import redis
from api_helpers import SECRET, scripted_reply
from pydantic import SecretStr
from sqlalchemy.exc import OperationalError

from api.auth import Authenticator
from assistant.settings import AuthSettings, Settings
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers import REPO, write

pytestmark = [pytest.mark.server, pytest.mark.e2e]

_spec = importlib.util.spec_from_file_location("topology", REPO / "scripts" / "topology.py")
topology_script = sys.modules.setdefault("topology", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(topology_script)

RATE_LIMIT = 5  # per minute and caller, over both workers

KB = {
    "manifest.yaml": "defaults:\n  doc_type: program_rule\n  audience: partner\n  language: en\n",
    "deal-registration.md": (
        "---\ntitle: Deal Registration\n---\n# Deal Registration\n\n## Protection\n"
        "A registered deal is protected for 90 days from approval. Gold and Platinum partners "
        "may extend the protection once by 45 days.\n\n## Approval\n"
        "The channel account manager approves a registration within 3 business days.\n"
    ),
    "mdf.md": (
        "---\ntitle: Market Development Funds\n---\n# Market Development Funds\n\n"
        "MDF accrues at 3% of the partner's quarterly revenue. Claims are due within 60 days "
        "of the activity, with proof of execution.\n"
    ),
    "support.md": (
        "---\ntitle: Partner Support\ndoc_type: faq\n---\n# Partner Support\n\n"
        "Severity 1 cases get a first response within 1 hour, Severity 2 cases within 4 hours.\n"
    ),
}
NEW_DOCUMENT = (
    "zephyrine-rebate.md",
    "---\ntitle: Zephyrine Loyalty Rebate\n---\n# Zephyrine Loyalty Rebate\n\n"
    "The Zephyrine loyalty rebate pays 2% on renewals that Gold partners close.\n",
)


def reply(body: dict) -> str:
    """The fake model: a standalone question when asked to rewrite a follow-up (both turns, so
    retrieval sees the first), else an answer copied from passage 1 and cited."""
    prompt = body["messages"][-1]["content"]
    if "Standalone question:" in prompt:
        return " ".join(line[6:] for line in prompt.splitlines() if line.startswith("user: "))
    return scripted_reply(body["messages"])


def token(partner: str) -> dict[str, str]:
    auth = Authenticator(Settings(auth=AuthSettings(jwt_secret=SecretStr(SECRET))))
    return {"Authorization": f"Bearer {auth.issue_token(partner, tier='gold', region='emea')}"}


@pytest.fixture(scope="module")
def database():
    try:
        with topology_script.scratch_database() as url:
            yield url
    except OperationalError as exc:
        if os.environ.get("PA_TEST_POSTGRES") == "required":
            pytest.fail(f"PostgreSQL is required but unreachable on 127.0.0.1:5432: {exc.orig}")
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc.orig}")


@pytest.fixture(scope="module")
def prefix():
    redis.Redis.from_url(topology_script.REDIS).ping()  # unreachable: an error, not a skip
    with topology_script.scratch_prefix() as name:
        yield name


@pytest.fixture(scope="module")
def fake_model():
    with FakeOpenAIServer(reply=reply, api_key="sk-topology") as server:
        yield server


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kb")
    for name, text in KB.items():
        write(root / name, text)
    return root


@pytest.fixture(scope="module")
def topology(tmp_path_factory, database, prefix, fake_model, kb):
    env = {
        "PA_DB_URL": database,
        "PA_API_SHARED_STATE_URL": topology_script.REDIS,
        "PA_API_SHARED_STATE_PREFIX": prefix,
        "PA_API_RATE_LIMIT": f"{RATE_LIMIT}/minute",
        "PA_AUTH_JWT_SECRET": SECRET,
        "PA_LLM_PROVIDER": "openai",
        "PA_LLM_BASE_URL": fake_model.base_url,
        "PA_LLM_API_KEY": "sk-topology",
        "PA_LLM_MAX_RETRIES": "0",
    }
    workdir = tmp_path_factory.mktemp("topology")
    with topology_script.Topology(workdir, env, workers=2) as running:
        running.start(kb)
        yield running


def _chat(url: str, partner: str, question: str, conversation_id: str | None = None):
    body = {"question": question} | (
        {"conversation_id": conversation_id} if conversation_id else {}
    )
    return httpx.post(f"{url}/v1/chat", json=body, headers=token(partner), timeout=60)


def _search(url: str, partner: str, query: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/search", json={"query": query}, headers=token(partner), timeout=60)


def test_both_workers_are_ready(topology):
    for url in topology.urls:
        ready = httpx.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["ready"] is True


def test_a_conversation_started_on_one_worker_continues_on_the_other(topology, fake_model):
    first, second = topology.urls
    question = "How long is a registered deal protected?"
    started = _chat(first, "acme", question)
    assert started.status_code == 200, started.text
    conversation = started.json()["conversation_id"]

    asked_before = len(fake_model.chat_requests)
    follow_up = _chat(second, "acme", "and can it be extended?", conversation)

    assert follow_up.status_code == 200, follow_up.text
    assert follow_up.json()["conversation_id"] == conversation
    # The second worker read the first worker's turns from the shared database: its rewrite of
    # the follow-up was given them.
    prompts = [r.json["messages"][-1]["content"] for r in fake_model.chat_requests[asked_before:]]
    assert any("Standalone question:" in p and f"user: {question}" in p for p in prompts)
    shown = httpx.get(f"{first}/v1/conversations/{conversation}", headers=token("acme"), timeout=10)
    assert shown.status_code == 200, shown.text
    said = [m["content"] for m in shown.json()["messages"] if m["role"] == "user"]
    assert said == [question, "and can it be extended?"]


def test_another_partner_cannot_continue_it_on_either_worker(topology):
    first, second = topology.urls
    started = _chat(first, "acme-owner", "When are MDF claims due?")
    assert started.status_code == 200, started.text
    conversation = started.json()["conversation_id"]

    for url in (first, second):
        refused = _chat(url, "globex", "and what about Severity 1?", conversation)
        assert refused.status_code == 404, refused.text
        shown = httpx.get(
            f"{url}/v1/conversations/{conversation}", headers=token("globex"), timeout=10
        )
        assert shown.status_code == 404
    kept = httpx.get(
        f"{second}/v1/conversations/{conversation}", headers=token("acme-owner"), timeout=10
    )
    assert [m["role"] for m in kept.json()["messages"]] == ["user", "assistant"]


def test_one_rate_limit_budget_spans_both_workers(topology):
    first, second = topology.urls
    answers = [
        _search(url, "initech", "deal protection")
        for url in [first, second] * RATE_LIMIT  # twice the budget, alternating
    ]
    statuses = [a.status_code for a in answers]

    assert statuses == [200] * RATE_LIMIT + [429] * RATE_LIMIT, statuses
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers[RATE_LIMIT:])
    # Each worker accepted some: one process alone would have allowed its own full budget.
    assert set(statuses[0:RATE_LIMIT:2]) == set(statuses[1:RATE_LIMIT:2]) == {200}
    assert _search(first, "another-caller", "deal protection").status_code == 200


def test_an_ingest_job_is_seen_by_both_workers(topology, kb):
    query = "Zephyrine loyalty rebate"
    name, text = NEW_DOCUMENT
    for url in topology.urls:
        before = _search(url, "umbrella", query)
        assert before.status_code == 200, before.text
        assert name not in {hit["doc_id"] for hit in before.json()["hits"]}

    write(kb / name, text)
    done = topology.ingest(kb)
    assert done.returncode == 0, done.stdout + done.stderr

    for url in topology.urls:
        after = _search(url, "umbrella", query)
        assert after.status_code == 200, after.text
        assert after.json()["hits"][0]["doc_id"] == name


def _healthz_count(scrape: str) -> float:
    pattern = r'pa_http_requests_total\{[^}]*route="/healthz"[^}]*status="200"[^}]*\} (\S+)'
    found = re.search(pattern, scrape)
    return float(found[1]) if found else 0.0


def test_either_workers_metrics_count_the_requests_of_both(topology):
    first, second = topology.urls
    for url, times in ((first, 3), (second, 4)):
        for _ in range(times):
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200

    for url in (first, second):
        assert _healthz_count(httpx.get(f"{url}/metrics", timeout=10).text) == 7
