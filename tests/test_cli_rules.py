"""The CLI's JSON for check-deal, registrations and onboarding (in-process, real model and store)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from api import cli
from assistant.settings import get_settings
from tests.helpers import write

RULE = """---
title: Deal registration
doc_type: program_rule
version: "7"
effective_date: 2026-01-01
deal_registration:
  minimum_first_year_value: {na: "20000 USD"}
  renewals_eligible: false
  protection_days: 90
onboarding:
  steps:
    - {id: agreement, title: "Sign the agreement", due_day: 30}
---
# Deal registration

## Size
Deals of at least 20,000 USD qualify. Renewals do not.
"""


@pytest.fixture
def run(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("PA_DB_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("PA_STORE_DIR", str(tmp_path / "store"))
    get_settings.cache_clear()
    monkeypatch.setattr("retrieval.knowledge_base.load_embedder", lambda settings: embedder)
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli.app, [str(a) for a in args])
        return result.exit_code, result.stdout

    write(tmp_path / "kb" / "deal.md", RULE)
    assert invoke("ingest", tmp_path / "kb", "--json")[0] == 0
    yield invoke
    get_settings.cache_clear()


def test_check_deal_prints_the_verdict_as_json_and_exits_by_eligibility(run, tmp_path):
    deal = {"customer": "Contoso", "first_year_value": 20000, "currency": "USD", "kind": "new"}
    good = write(tmp_path / "good.json", json.dumps(deal))
    code, out = run(
        "check-deal",
        "--deal",
        good,
        "--tier",
        "gold",
        "--region",
        "na",
        "--as-of",
        "2026-06-01",
        "--json",
    )
    body = json.loads(out)
    assert code == 0 and body["eligible"] is True and body["protection_days"] == 90
    assert body["rule"] == {
        "source": "deal.md",
        "title": "Deal registration",
        "version": "7",
        "effective_date": "2026-01-01",
        "url": None,
    }
    assert [c["id"] for c in body["checks"]] == ["minimum_value", "renewal"]
    assert body["checks"][0]["citation"]["section"].endswith("Size")

    renewal = write(tmp_path / "renewal.json", json.dumps({**deal, "kind": "renewal"}))
    code, out = run("check-deal", "--deal", renewal, "--tier", "gold", "--region", "na", "--json")
    assert code == 1 and json.loads(out)["eligible"] is False


def test_check_deal_refuses_a_bad_deal_file_with_the_reason(run, tmp_path):
    bad = write(tmp_path / "bad.json", json.dumps({"customer": "X", "kind": "merger"}))
    code, _ = run("check-deal", "--deal", bad, "--tier", "gold", "--region", "na")
    assert code == 2
    code, _ = run(
        "check-deal", "--deal", tmp_path / "missing.json", "--tier", "gold", "--region", "na"
    )
    assert code == 2


def test_registrations_list_approve_and_reject(run, tmp_path):
    from assistant.records import RecordStore
    from assistant.registrations import RegistrationStore
    from assistant.rules.deal_registration import Deal, Precheck

    store = RegistrationStore(RecordStore(f"sqlite:///{tmp_path / 'app.db'}").engine)
    deal = Deal(customer="Contoso", first_year_value=30000, currency="USD")
    precheck = Precheck(eligible=True, protection_days=90, as_of="2026-06-01")
    first = store.submit("alpha", "gold", "na", deal, precheck)
    second = store.submit("beta", "gold", "na", deal, precheck)

    code, out = run("registrations", "list", "--status", "pending", "--json")
    assert code == 0 and {r["id"] for r in json.loads(out)["registrations"]} == {
        first.id,
        second.id,
    }
    code, out = run("registrations", "approve", first.id[:10], "--json")
    assert code == 0 and json.loads(out)["registrations"][0]["protected_until"]
    code, out = run("registrations", "reject", second.id, "--note", "duplicate", "--json")
    assert json.loads(out)["registrations"][0]["status"] == "rejected"
    assert run("registrations", "approve", first.id)[0] == 1  # already decided
    code, out = run("registrations", "list", "--partner", "beta", "--json")
    assert [r["partner_id"] for r in json.loads(out)["registrations"]] == ["beta"]


def test_onboarding_prints_progress_as_json(run, tmp_path):
    profile = write(
        tmp_path / "profile.json",
        json.dumps({"partner_id": "p", "tier": "gold", "region": "na", "joined": "2026-03-01"}),
    )
    code, out = run("onboarding", "--profile", profile, "--as-of", "2026-03-31", "--json")
    body = json.loads(out)
    assert code == 0 and body["steps"][0]["status"] == "due" and body["next_step"] == "agreement"
    code, out = run("onboarding", "--profile", profile, "--as-of", "2026-04-01", "--json")
    assert json.loads(out)["steps"][0]["status"] == "overdue"


def test_saved_profiles_give_managers_the_time_to_first_deal_distribution(run, tmp_path):
    for partner_id, joined, deal_on in (
        ("a", "2026-03-01", "2026-03-21"),
        ("b", "2026-03-01", None),
    ):
        body = {"partner_id": partner_id, "tier": "gold", "region": "na", "joined": joined}
        if deal_on:
            body["registrations"] = [deal_on]
        path = write(tmp_path / f"{partner_id}.json", json.dumps(body))
        assert run("onboarding", "--profile", path, "--save", "--json")[0] == 0
    from assistant.records import RecordStore
    from assistant.registrations import RegistrationStore
    from assistant.rules.deal_registration import Deal, Precheck

    store = RegistrationStore(RecordStore(f"sqlite:///{tmp_path / 'app.db'}").engine)
    deal = Deal(customer="Contoso", first_year_value=30000, currency="USD")
    store.submit(
        "a",
        "gold",
        "na",
        deal,
        Precheck(eligible=True, as_of="2026-03-21"),
        today=date(2026, 3, 21),
    )
    code, out = run("onboarding", "--distribution", "--json")
    stats = json.loads(out)
    assert code == 0 and (stats["partners"], stats["with_first_deal"]) == (2, 1)
    assert stats["median_days"] == 20.0
    assert run("onboarding")[0] == 2
