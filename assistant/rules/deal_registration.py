"""The deal-registration pre-check: a deal against the ``deal_registration`` rule in force.

Deterministic on purpose: a partner's registration is a commercial commitment, so every verdict
comes from the rule block of a program document (ingestion/rule_blocks.py) and says, in one
sentence, why it passed or failed and where the rule is written. A check is made only for what
the block states; amounts in different currencies are a failed "cannot compare" check, never a
conversion; a document without a block is reported as such (``eligible`` is ``None``).

Example::

    result = evaluate(Deal(customer="Contoso", region="emea", first_year_value=25000,
                           currency="EUR", kind="expansion"), rule, tier="gold", region="emea")
    result.eligible, [c.id for c in result.checks if not c.ok]
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.rules.rule_book import Rule, RuleCitation, RuleRef, number_forms
from ingestion.rule_blocks import DealRegistrationBlock, Money, format_amount

DealKind = Literal["new", "expansion", "renewal"]


class Deal(BaseModel):
    """A deal as a partner describes it (``deal.json``, the API body, or a chat question)."""

    model_config = ConfigDict(extra="forbid")

    customer: str = Field(min_length=1, max_length=200)
    customer_domain: str | None = Field(None, max_length=253)
    region: str | None = Field(None, max_length=40)
    first_year_value: Decimal | None = Field(None, ge=0)
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$")
    kind: DealKind = "new"
    expansion_percent: float | None = Field(None, ge=0, le=10000)
    proposal_sent: bool = False
    public_tender_published: bool | None = None
    products: list[str] = Field([], max_length=100)

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @field_validator("region")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else value

    @field_validator("customer_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        return normalize_domain(value) if value else value

    @property
    def value(self) -> Money | None:
        if self.first_year_value is None or not self.currency:
            return None
        return Money(amount=self.first_year_value, currency=self.currency)


def normalize_domain(value: str) -> str:
    """``https://www.Contoso.com/about`` -> ``contoso.com``: one customer, one key."""
    domain = re.sub(r"^[a-z]+://", "", value.strip().lower()).split("/")[0].split(":")[0]
    return domain.removeprefix("www.").strip(".")


class Check(BaseModel):
    """One rule applied to the deal: passed or not, why (one sentence), where it is written."""

    id: str
    ok: bool
    detail: str
    citation: RuleCitation


class Conflict(BaseModel):
    """Another partner's registration for the same customer domain. The other partner's id is
    shown to channel managers only."""

    registration_id: str
    partner_id: str | None = None
    status: str
    submitted_at: str
    protected_until: date | None = None
    protected: bool = False
    # submitted within the rule's conflict window before now (None: the rule states none)
    within_conflict_window: bool | None = None


class Precheck(BaseModel):
    """The answer of ``check-deal`` and ``POST /v1/deals/precheck``."""

    eligible: bool | None
    checks: list[Check] = []
    protection_days: int | None = None
    extension_days: int | None = None
    approval_business_days: int | None = None
    conflicts: list[Conflict] = []
    rule: RuleRef | None = None
    as_of: date
    message: str | None = None


def no_rule(as_of: date, prose: RuleRef | None) -> Precheck:
    """The answer when no rule in force for the caller carries a ``deal_registration`` block."""
    if prose is not None:
        message = (
            f"{prose.title or prose.source} states the deal-registration rules in text only, "
            "without a structured deal_registration block, so the assistant does not pre-check "
            "deals against it; please check the document or ask your channel manager."
        )
    else:
        message = (
            "No deal-registration rule in force for you on this date carries a structured "
            "deal_registration block, so the assistant cannot pre-check the deal."
        )
    return Precheck(eligible=None, rule=prose, as_of=as_of, message=message)


def evaluate(
    deal: Deal,
    rule: Rule,
    tier: str | None,
    region: str | None,
    as_of: date,
    conflicts: list[Conflict] | None = None,
    now: datetime | None = None,
) -> Precheck:
    """Apply every rule the block states to ``deal`` for a partner of ``tier`` in ``region``."""
    block: DealRegistrationBlock = rule.block
    checks = [
        check
        for check in (
            _tier(block, rule, tier),
            # The partner's own region (from the token) decides the minimum; the deal's region
            # only when the caller has none (a manager checking a deal).
            _minimum(block, rule, deal, region or deal.region),
            _renewal(block, rule, deal),
            _expansion(block, rule, deal),
            _tender(block, rule, deal),
            _proposal(block, rule, deal),
        )
        if check is not None
    ]
    if deal.customer_domain and conflicts is not None:
        conflicts = [_with_window(c, block, now or datetime.now(UTC)) for c in conflicts]
        checks.append(_conflict(rule, deal, conflicts))
    # A conflict is for the channel manager to decide; only the rule checks decide eligibility.
    eligible = all(c.ok for c in checks if c.id != "conflict")
    return Precheck(
        eligible=eligible,
        checks=checks,
        protection_days=block.protection_days,
        extension_days=block.extension_for(tier) if block.extension else None,
        approval_business_days=block.approval_business_days,
        conflicts=conflicts or [],
        rule=rule.ref,
        as_of=as_of,
    )


def _tier(block: DealRegistrationBlock, rule: Rule, tier: str | None) -> Check | None:
    if block.tiers is None:
        return None
    allowed = ", ".join(block.tiers)
    ok = tier is not None and tier in block.tiers
    detail = (
        f"Tier {tier} is among the tiers that may register deals ({allowed})."
        if ok
        else f"Tier {tier or 'unknown'} may not register deals under this rule, which allows "
        f"{allowed}."
    )
    return Check(id="tier", ok=ok, detail=detail, citation=rule.cite("tiers"))


def _minimum(
    block: DealRegistrationBlock, rule: Rule, deal: Deal, region: str | None
) -> Check | None:
    if not block.minimum_first_year_value:
        return None
    minimum = block.minimum_for(region)
    if minimum is None:
        return Check(
            id="minimum_value",
            ok=True,
            detail=f"The rule sets no minimum first-year value for region {region or 'unknown'}.",
            citation=rule.cite("minimum_first_year_value"),
        )
    citation = rule.cite("minimum_first_year_value", *number_forms(minimum.amount))
    scope = f" for {region}" if region and region in block.minimum_first_year_value else ""
    value = deal.value
    if value is None:
        detail = (
            f"The deal gives no first-year value with a currency, so the minimum of {minimum}"
            f"{scope} cannot be checked."
        )
        return Check(id="minimum_value", ok=False, detail=detail, citation=citation)
    if value.currency != minimum.currency:
        detail = (
            f"Cannot compare: the first-year value of {value} is in {value.currency} and the "
            f"minimum{scope} is {minimum}, and the assistant does not convert currencies."
        )
        return Check(id="minimum_value", ok=False, detail=detail, citation=citation)
    ok = value.amount >= minimum.amount
    relation = "meets" if ok else "is below"
    detail = f"The first-year value of {value} {relation} the minimum of {minimum}{scope}."
    return Check(id="minimum_value", ok=ok, detail=detail, citation=citation)


def _renewal(block: DealRegistrationBlock, rule: Rule, deal: Deal) -> Check | None:
    if block.renewals_eligible is None:
        return None
    citation = rule.cite("renewals_eligible")
    if deal.kind != "renewal":
        detail = f"The deal is {_kind_phrase(deal)}, not a renewal."
        return Check(id="renewal", ok=True, detail=detail, citation=citation)
    if block.renewals_eligible:
        detail = "Renewals may be registered under this rule."
        return Check(id="renewal", ok=True, detail=detail, citation=citation)
    detail = "The deal is a renewal, and renewals cannot be registered under this rule."
    return Check(id="renewal", ok=False, detail=detail, citation=citation)


def _expansion(block: DealRegistrationBlock, rule: Rule, deal: Deal) -> Check | None:
    if deal.kind != "expansion" or block.expansion_minimum_percent is None:
        return None
    minimum = block.expansion_minimum_percent
    shown = _percent(minimum)
    citation = rule.cite("expansion_minimum_percent", *(f"{f}%" for f in number_forms(minimum)))
    if deal.expansion_percent is None:
        detail = (
            f"The deal does not say how much the expansion adds, so the minimum of {shown} "
            "cannot be checked."
        )
        return Check(id="expansion", ok=False, detail=detail, citation=citation)
    ok = deal.expansion_percent >= minimum
    relation = "meets" if ok else "is below"
    detail = (
        f"The expansion adds {_percent(deal.expansion_percent)} and {relation} the minimum of "
        f"{shown} that an expansion must add."
    )
    return Check(id="expansion", ok=ok, detail=detail, citation=citation)


def _tender(block: DealRegistrationBlock, rule: Rule, deal: Deal) -> Check | None:
    if block.published_tenders_eligible is None:
        return None
    citation = rule.cite("published_tenders_eligible")
    if not deal.public_tender_published:
        detail = "The deal is not a public tender that has already been published."
        return Check(id="public_tender", ok=True, detail=detail, citation=citation)
    if block.published_tenders_eligible:
        detail = "Deals with a published public tender may be registered under this rule."
        return Check(id="public_tender", ok=True, detail=detail, citation=citation)
    detail = "The public tender is already published, and such deals cannot be registered."
    return Check(id="public_tender", ok=False, detail=detail, citation=citation)


def _proposal(block: DealRegistrationBlock, rule: Rule, deal: Deal) -> Check | None:
    if not block.register_before_first_proposal:
        return None
    citation = rule.cite("register_before_first_proposal")
    if deal.proposal_sent:
        detail = "A proposal has already been sent, and a deal must be registered before the first proposal."
        return Check(id="proposal", ok=False, detail=detail, citation=citation)
    detail = "No proposal has been sent yet, so the deal is registered before the first proposal."
    return Check(id="proposal", ok=True, detail=detail, citation=citation)


def _with_window(conflict: Conflict, block: DealRegistrationBlock, now: datetime) -> Conflict:
    submitted = datetime.fromisoformat(conflict.submitted_at)
    if submitted.tzinfo is None:
        submitted = submitted.replace(tzinfo=UTC)
    within = None
    if block.conflict_window_hours is not None:
        within = now - submitted <= timedelta(hours=block.conflict_window_hours)
    elif block.conflict_window_business_days is not None:
        within = business_days_between(submitted.date(), now.date()) <= (
            block.conflict_window_business_days
        )
    return conflict.model_copy(update={"within_conflict_window": within})


def business_days_between(start: date, end: date) -> int:
    """Weekdays after ``start`` up to and including ``end`` (public holidays are not known)."""
    days = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        days += day.weekday() < 5
    return days


def _conflict(rule: Rule, deal: Deal, conflicts: list[Conflict]) -> Check:
    """Failed when another partner holds a protected registration for the customer; a pending
    one submitted within the rule's conflict window is named too (the manager decides)."""
    protected = [c for c in conflicts if c.protected]
    in_window = [c for c in conflicts if not c.protected and c.within_conflict_window]
    if protected:
        detail = (
            f"Another partner holds a protected registration for {deal.customer_domain}, so a "
            "channel manager must decide between the registrations."
        )
        return Check(id="conflict", ok=False, detail=detail, citation=rule.cite("conflicts"))
    if in_window:
        detail = (
            f"Another partner registered {deal.customer_domain} within the conflict window, so "
            "a channel manager will decide between the registrations."
        )
        window = rule.block.conflict_window_hours or rule.block.conflict_window_business_days
        key = (
            "conflict_window_hours"
            if rule.block.conflict_window_hours
            else ("conflict_window_business_days")
        )
        citation = rule.cite(key, *number_forms(window))
        return Check(id="conflict", ok=False, detail=detail, citation=citation)
    detail = f"No other partner holds a protected registration for {deal.customer_domain}."
    return Check(id="conflict", ok=True, detail=detail, citation=rule.cite("conflicts"))


def _kind_phrase(deal: Deal) -> str:
    return "an expansion" if deal.kind == "expansion" else "new business"


def _percent(value: float) -> str:
    return f"{format_amount(Decimal(str(value)))}%"
