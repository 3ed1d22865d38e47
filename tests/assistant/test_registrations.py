"""`RegistrationStore` on both backends (the ``db_url`` fixture): registrations, their review,
conflicts between partners and onboarding profiles, through the record store's migrated schema."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from assistant.records import RecordNotFound, RecordStore
from assistant.registrations import DecisionError, RegistrationStore, StoredProfile
from assistant.rules.deal_registration import Conflict, Deal, Precheck
from assistant.rules.rule_book import RuleRef

RULE = RuleRef(source="deal-registration-fy27.md", title="Deal registration FY27", version="3")
ON = date(2026, 6, 1)


@pytest.fixture
def store(db_url):
    records = RecordStore(db_url)
    yield RegistrationStore(records.engine)
    records.dispose()


def _deal(domain: str = "contoso.com", value: str = "50000.50") -> Deal:
    return Deal(
        customer="Contoso",
        customer_domain=domain,
        first_year_value=Decimal(value),
        currency="usd",
        products=["Edge"],
    )


def _precheck(conflicts: list[Conflict] | None = None) -> Precheck:
    return Precheck(
        eligible=True, protection_days=90, rule=RULE, as_of=ON, conflicts=conflicts or []
    )


def test_a_submitted_registration_reads_back_whole(store):
    submitted = store.submit("acme", "gold", "emea", _deal(), _precheck(), today=ON)

    again = store.get(submitted.id)

    assert again == submitted
    assert again.deal.first_year_value == Decimal("50000.50") and again.deal.currency == "USD"
    assert (again.status, again.submitted_on, again.rule, again.protection_days) == (
        "pending",
        ON,
        RULE,
        90,
    )
    submitted_at = datetime.fromisoformat(again.submitted_at)
    assert submitted_at.tzinfo is not None and submitted_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - submitted_at).total_seconds()) < 60


def test_approval_starts_the_protection_and_a_second_decision_is_refused(store):
    submitted = store.submit("acme", "gold", "emea", _deal(), _precheck(), today=ON)

    approved = store.decide(submitted.id, approve=True, decided_by="mgr", note="ok", today=ON)

    assert (approved.status, approved.decided_by, approved.note) == ("approved", "mgr", "ok")
    assert approved.protected_until == date(2026, 8, 30)
    assert store.get(submitted.id).protected_until == date(2026, 8, 30)
    assert datetime.fromisoformat(store.get(submitted.id).decided_at).tzinfo is not None
    with pytest.raises(DecisionError):
        store.decide(submitted.id, approve=False, decided_by="mgr")
    with pytest.raises(RecordNotFound):
        store.decide("missing", approve=True, decided_by="mgr")


def test_conflicts_are_other_partners_pending_or_protected_registrations(store):
    pending = store.submit("alpha", "gold", "emea", _deal(), _precheck(), today=ON)
    rejected = store.submit("gamma", "gold", "emea", _deal(), _precheck(), today=ON)
    store.decide(rejected.id, approve=False, decided_by="mgr", today=ON)

    [conflict] = store.conflicts_for("contoso.com", "beta", ON, show_partner=False)
    assert (conflict.registration_id, conflict.partner_id, conflict.status) == (
        pending.id,
        None,
        "pending",
    )
    assert datetime.fromisoformat(conflict.submitted_at) == datetime.fromisoformat(
        pending.submitted_at
    )
    assert store.conflicts_for("contoso.com", "alpha", ON, show_partner=True) == []

    store.decide(pending.id, approve=True, decided_by="mgr", today=ON)
    [protected] = store.conflicts_for("contoso.com", "beta", date(2026, 8, 30), show_partner=True)
    assert (protected.partner_id, protected.protected) == ("alpha", True)
    assert store.conflicts_for("contoso.com", "beta", date(2026, 8, 31), show_partner=True) == []


def test_find_lists_newest_first_by_partner_and_status(store):
    first = store.submit("acme", None, None, _deal("a.example"), _precheck(), today=ON)
    second = store.submit("acme", None, None, _deal("b.example"), _precheck(), today=ON)
    other = store.submit("globex", None, None, _deal("c.example"), _precheck(), today=ON)
    store.decide(first.id, approve=False, decided_by="mgr")

    assert [r.id for r in store.find()] == [other.id, second.id, first.id]
    assert [r.id for r in store.find(partner_id="acme")] == [second.id, first.id]
    assert [r.id for r in store.find(status="rejected")] == [first.id]


def test_first_registration_dates_skip_rejected_ones(store):
    store.submit("acme", None, None, _deal(), _precheck(), today=date(2026, 3, 2))
    early = store.submit("acme", None, None, _deal(), _precheck(), today=date(2026, 2, 1))
    store.decide(early.id, approve=False, decided_by="mgr")
    store.submit("globex", None, None, _deal(), _precheck(), today=date(2026, 4, 5))

    assert store.first_registration_dates() == {
        "acme": date(2026, 3, 2),
        "globex": date(2026, 4, 5),
    }
    assert store.registration_dates("acme") == [date(2026, 3, 2)]


def test_profiles_are_saved_replaced_and_listed(store):
    profile = StoredProfile(
        partner_id="acme", tier="gold", joined=date(2026, 1, 15), completed_steps=["kickoff"]
    )
    store.save_profile(profile)
    store.save_profile(profile.model_copy(update={"completed_courses": ["SEC-101", "NET-200"]}))
    store.save_profile(StoredProfile(partner_id="globex", joined=date(2026, 2, 1)))

    acme = store.get_profile("acme")
    assert acme is not None
    assert (acme.joined, acme.completed_steps, acme.completed_courses) == (
        date(2026, 1, 15),
        ["kickoff"],
        ["SEC-101", "NET-200"],
    )
    assert [p.partner_id for p in store.list_profiles()] == ["acme", "globex"]
    assert store.get_profile("nobody") is None
