"""`RegistrationStore`: deal registrations, their manager review, and onboarding profiles.

A registration is stored with the pre-check it passed (the rule version it was checked against
stays with it even after the rule is superseded). A channel manager approves or rejects it; an
approval starts the protection period the rule grants. A registration is flagged as a conflict
when another partner holds a pending or protected registration for the same customer domain;
the manager decides, as the program's conflict rule says.

Onboarding profiles (join date, completed steps and courses) live here too, because time to
first deal is measured between a profile's join date and the partner's first registration.

The tables sit on the same declarative ``Base`` as :mod:`assistant.records`, so one database and
one metadata hold them all; the record store's migrations (:mod:`assistant.schema`) make them,
so the engine given here is a `RecordStore`'s. Instants are stored as aware UTC datetimes, days
as dates, the deal and its pre-check as JSON documents.

Example::

    store = RegistrationStore(records.engine)
    reg = store.submit("acme", "gold", "emea", deal, precheck)
    store.decide(reg.id, approve=True, decided_by="mgr", today=date(2026, 3, 1))
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Boolean, Date, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from assistant.db_types import JSON_DOCUMENT, UtcDateTime
from assistant.records import RecordNotFound, _Base
from assistant.rules.deal_registration import Conflict, Deal, Precheck
from assistant.rules.rule_book import RuleRef

RegistrationStatus = Literal["pending", "approved", "rejected"]


class DecisionError(ValueError):
    """The registration was already decided."""


class _Registration(_Base):
    __tablename__ = "deal_registrations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(100), index=True)
    tier: Mapped[str | None] = mapped_column(String(40), nullable=True)
    region: Mapped[str | None] = mapped_column(String(40), nullable=True)
    customer_domain: Mapped[str | None] = mapped_column(String(253), index=True, nullable=True)
    deal: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)  # Deal
    precheck: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)  # Precheck at submission
    status: Mapped[str] = mapped_column(String(16), index=True)
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_on: Mapped[date] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    protected_until: Mapped[date | None] = mapped_column(Date, nullable=True)


class _OnboardingProfile(_Base):
    __tablename__ = "onboarding_profiles"

    partner_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tier: Mapped[str | None] = mapped_column(String(40), nullable=True)
    joined: Mapped[date] = mapped_column(Date)
    completed_steps: Mapped[list[str]] = mapped_column(JSON_DOCUMENT, default=list)
    completed_courses: Mapped[list[str]] = mapped_column(JSON_DOCUMENT, default=list)
    updated: Mapped[datetime] = mapped_column(UtcDateTime())


class Registration(BaseModel):
    id: str
    partner_id: str
    tier: str | None = None
    region: str | None = None
    deal: Deal
    status: RegistrationStatus
    conflict: bool = False
    conflicts: list[Conflict] = []
    rule: RuleRef | None = None
    protection_days: int | None = None
    submitted_at: str
    submitted_on: date
    decided_at: str | None = None
    decided_by: str | None = None
    note: str = ""
    protected_until: date | None = None


class StoredProfile(BaseModel):
    partner_id: str
    tier: str | None = None
    joined: date
    completed_steps: list[str] = []
    completed_courses: list[str] = []


class RegistrationStore:
    """Registrations and onboarding profiles, one short transaction per method."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @staticmethod
    def _model(row: _Registration) -> Registration:
        precheck = Precheck.model_validate(row.precheck)
        return Registration(
            id=row.id,
            partner_id=row.partner_id,
            tier=row.tier,
            region=row.region,
            deal=Deal.model_validate(row.deal),
            status=row.status,  # type: ignore[arg-type]
            conflict=row.conflict,
            conflicts=precheck.conflicts,
            rule=precheck.rule,
            protection_days=precheck.protection_days,
            submitted_at=row.submitted_at.isoformat(),
            submitted_on=row.submitted_on,
            decided_at=row.decided_at.isoformat() if row.decided_at else None,
            decided_by=row.decided_by,
            note=row.note,
            protected_until=row.protected_until,
        )

    # -- registrations ----------------------------------------------------------------------
    def conflicts_for(
        self, domain: str | None, partner_id: str | None, as_of: date, show_partner: bool
    ) -> list[Conflict]:
        """Other partners' pending or protected registrations for ``domain`` on ``as_of``."""
        if not domain:
            return []
        with self._session() as session:
            rows = session.scalars(
                select(_Registration)
                .where(_Registration.customer_domain == domain)
                .where(_Registration.status.in_(("pending", "approved")))
                .order_by(_Registration.submitted_at)
            ).all()
        out = []
        for row in rows:
            if row.partner_id == partner_id:
                continue
            until = row.protected_until
            protected = row.status == "approved" and until is not None and until >= as_of
            if row.status == "approved" and not protected:
                continue  # its protection has run out: the customer is open again
            out.append(
                Conflict(
                    registration_id=row.id,
                    partner_id=row.partner_id if show_partner else None,
                    status=row.status,
                    submitted_at=row.submitted_at.isoformat(),
                    protected_until=until,
                    protected=protected,
                )
            )
        return out

    def submit(
        self,
        partner_id: str,
        tier: str | None,
        region: str | None,
        deal: Deal,
        precheck: Precheck,
        today: date | None = None,
    ) -> Registration:
        now = datetime.now(UTC)
        row = _Registration(
            id=uuid.uuid4().hex,
            partner_id=partner_id,
            tier=tier,
            region=region,
            customer_domain=deal.customer_domain,
            deal=json.loads(deal.model_dump_json()),
            precheck=json.loads(precheck.model_dump_json()),
            status="pending",
            conflict=bool(precheck.conflicts),
            submitted_at=now,
            submitted_on=today or now.date(),
            note="",
        )
        with self._session() as session:
            session.add(row)
        return self._model(row)

    def get(self, registration_id: str) -> Registration:
        with self._session() as session:
            row = session.get(_Registration, registration_id)
            if row is None:
                raise RecordNotFound(f"no registration {registration_id}")
            return self._model(row)

    def find(
        self, partner_id: str | None = None, status: RegistrationStatus | None = None
    ) -> list[Registration]:
        """Registrations, newest first; ``partner_id`` limits them to one partner's own."""
        query = select(_Registration).order_by(_Registration.submitted_at.desc())
        if partner_id is not None:
            query = query.where(_Registration.partner_id == partner_id)
        if status is not None:
            query = query.where(_Registration.status == status)
        with self._session() as session:
            return [self._model(row) for row in session.scalars(query).all()]

    def decide(
        self,
        registration_id: str,
        approve: bool,
        decided_by: str,
        note: str = "",
        today: date | None = None,
    ) -> Registration:
        """Approve (protection starts today for the rule's ``protection_days``) or reject."""
        now = datetime.now(UTC)
        day = today or now.date()
        with self._session() as session:
            row = session.get(_Registration, registration_id)
            if row is None:
                raise RecordNotFound(f"no registration {registration_id}")
            if row.status != "pending":
                raise DecisionError(f"registration {registration_id} is already {row.status}")
            row.status = "approved" if approve else "rejected"
            row.decided_at = now
            row.decided_by = decided_by
            row.note = note
            days = Precheck.model_validate(row.precheck).protection_days
            if approve and days:
                row.protected_until = day + timedelta(days=days)
            return self._model(row)

    def first_registration_dates(self) -> dict[str, date]:
        """Each partner's first registration date (rejected ones do not count)."""
        with self._session() as session:
            rows = session.execute(
                select(_Registration.partner_id, _Registration.submitted_on).where(
                    _Registration.status != "rejected"
                )
            ).all()
        first: dict[str, date] = {}
        for partner_id, day in rows:
            if partner_id not in first or day < first[partner_id]:
                first[partner_id] = day
        return first

    def registration_dates(self, partner_id: str) -> list[date]:
        return sorted(
            r.submitted_on for r in self.find(partner_id=partner_id) if r.status != "rejected"
        )

    # -- onboarding profiles ------------------------------------------------------------------
    def save_profile(self, profile: StoredProfile) -> StoredProfile:
        with self._session() as session:
            row = session.get(_OnboardingProfile, profile.partner_id)
            if row is None:
                row = _OnboardingProfile(partner_id=profile.partner_id)
                session.add(row)
            row.tier = profile.tier
            row.joined = profile.joined
            row.completed_steps = list(profile.completed_steps)
            row.completed_courses = list(profile.completed_courses)
            row.updated = datetime.now(UTC)
        return profile

    def get_profile(self, partner_id: str) -> StoredProfile | None:
        with self._session() as session:
            row = session.get(_OnboardingProfile, partner_id)
            return self._profile(row) if row is not None else None

    def list_profiles(self) -> list[StoredProfile]:
        with self._session() as session:
            rows = session.scalars(
                select(_OnboardingProfile).order_by(_OnboardingProfile.partner_id)
            ).all()
            return [self._profile(row) for row in rows]

    @staticmethod
    def _profile(row: _OnboardingProfile) -> StoredProfile:
        return StoredProfile(
            partner_id=row.partner_id,
            tier=row.tier,
            joined=row.joined,
            completed_steps=list(row.completed_steps),
            completed_courses=list(row.completed_courses),
        )
