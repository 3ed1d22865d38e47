"""Schemathesis against the app's own OpenAPI schema: no input ends in a 5xx, and every
response matches what the schema documents (ASGI transport, no network).

The schemathesis pytest plugin does not run under pytest 9 (it reads ``Function._nodeid``), so
each operation's hypothesis strategy is driven here with ``@given``.
"""

from __future__ import annotations

import pytest
import schemathesis
from api_helpers import ADMIN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from assistant.records import RecordStore
from assistant.service import build_service

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# (method, path) of every documented operation; the test fails if one is added without a fuzz.
OPERATIONS = [
    ("POST", "/v1/chat"),
    ("POST", "/v1/search"),
    ("POST", "/v1/training/recommendations"),
    ("POST", "/v1/drafts"),
    ("POST", "/v1/feedback"),
    ("POST", "/v1/handoffs"),
    ("GET", "/v1/handoffs"),
    ("GET", "/v1/handoffs/{handoff_id}"),
    ("POST", "/v1/handoffs/{handoff_id}/assign"),
    ("POST", "/v1/handoffs/{handoff_id}/reply"),
    ("POST", "/v1/handoffs/{handoff_id}/close"),
    ("GET", "/v1/feedback"),
    ("GET", "/v1/conversations/{conversation_id}"),
    ("GET", "/v1/insights"),
    ("GET", "/v1/insights/topics/{topic}/eval.jsonl"),
    ("POST", "/v1/admin/ingest"),
    ("GET", "/v1/admin/stats"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/suggestions"),
    ("POST", "/v1/deals/precheck"),
    ("POST", "/v1/deals"),
    ("GET", "/v1/deals"),
    ("POST", "/v1/deals/{registration_id}/approve"),
    ("POST", "/v1/deals/{registration_id}/reject"),
    ("POST", "/v1/onboarding"),
    ("GET", "/v1/onboarding"),
]


@pytest.fixture
def api_service(api_settings, kb_factory, chat_model):
    """The real service over its own empty knowledge base: fuzzed admin ingests must not touch
    the session's shared sample corpus."""
    records = RecordStore.from_settings(api_settings)
    yield build_service(
        api_settings, chat_model=chat_model, kb=kb_factory(api_settings), records=records
    )
    records.dispose()


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_is_fuzzed(api_schema):
    documented = {
        (result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()
    }

    assert documented == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_input_causes_a_server_error(api_schema, auth, method, path):
    operation = api_schema[path][method]
    partner = {"Authorization": "Bearer " + auth.issue_token("fuzz", tier="gold", region="emea")}
    admin_route = path.startswith(
        ("/v1/admin", "/v1/insights", "/v1/handoffs", "/v1/deals", "/v1/onboarding")
    ) or (method, path) == ("GET", "/v1/feedback")

    @given(case=operation.as_strategy(), as_admin=st.booleans())
    @settings(
        max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    def check(case, as_admin):
        headers = dict(ADMIN if admin_route and as_admin else partner)
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()
