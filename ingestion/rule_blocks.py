"""Machine-readable rule blocks that a program-rule document may carry in its metadata.

A vendor already writes its deal-registration and onboarding rules in prose; the two blocks here
(``deal_registration:`` and ``onboarding:``, see docs/knowledge-base-format.md) state the same
rules as data, so that the assistant can apply them deterministically and cite the document for
every verdict. They are validated at ingest like the rest of the metadata contract: a typo in a
key, an amount without a currency or a tier outside the configured vocabulary fails that file
with its name and the reason, because a silently ignored rule would give partners wrong verdicts.

Every field is optional: a check is only made for what the block states.

Example::

    block = DealRegistrationBlock.model_validate(
        {"minimum_first_year_value": {"emea": "18000 EUR"}, "protection_days": 90}
    )
    block.minimum_for("emea")        # Money(amount=Decimal('18000'), currency='EUR')
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer

from ingestion.documents import LoadError

ALL_REGIONS = "*"
MAX_DAYS = 36500  # a hundred years: beyond it a day count is a typo, not a rule
_MONEY = re.compile(r"^\s*([0-9][0-9,.\s_']*)\s+([A-Za-z]{3})\s*$")


class Money(BaseModel):
    """An amount in one currency, written ``"amount CURRENCY"`` (``"20000 USD"``,
    ``"20,000 USD"``). Amounts in different currencies are never converted into each other."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: str

    @classmethod
    def parse(cls, value: Any) -> Money:
        if isinstance(value, Money):
            return value
        if isinstance(value, dict):
            return cls(amount=Decimal(str(value["amount"])), currency=str(value["currency"]))
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not money written as 'amount CURRENCY'")
        match = _MONEY.match(value)
        if not match:
            raise ValueError(f"{value!r} is not money written as 'amount CURRENCY' (20000 USD)")
        digits = re.sub(r"[,\s_']", "", match[1])
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", digits):
            # "18.000 EUR" is 18 in one convention and 18000 in another: refuse to guess.
            raise ValueError(f"{value!r} is ambiguous: write the amount without '.' separators")
        try:
            amount = Decimal(digits)
        except InvalidOperation:
            raise ValueError(f"{value!r} has no readable amount") from None
        return cls(amount=amount, currency=match[2].upper())

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{format_amount(self.amount)} {self.currency}"


def format_amount(amount: Decimal) -> str:
    """``25000`` -> ``25,000``; decimals kept only when there are any."""
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount:,.2f}"


class _Block(BaseModel):
    # A misspelt rule key must fail the file, not be ignored.
    model_config = ConfigDict(extra="forbid")


def _lower_list(value: Any) -> Any:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(v).strip().lower() for v in value]
    return value


class Extension(_Block):
    """One extension of the protection period: how long, for which tiers, how often."""

    days: int = Field(ge=1, le=MAX_DAYS)
    tiers: list[str] | None = None
    once: bool = True

    _tiers = field_validator("tiers", mode="before")(_lower_list)


class DealRegistrationBlock(_Block):
    """The ``deal_registration:`` block. Key names are a contract shared with other tools."""

    tiers: list[str] | None = None
    # region -> minimum; a single amount applies to every region (stored under "*").
    minimum_first_year_value: dict[str, Money] | None = None
    expansion_minimum_percent: float | None = Field(None, ge=0, le=1000)
    renewals_eligible: bool | None = None
    published_tenders_eligible: bool | None = None
    register_before_first_proposal: bool | None = None
    approval_business_days: int | None = Field(None, ge=0, le=MAX_DAYS)
    protection_days: int | None = Field(None, ge=1, le=MAX_DAYS)
    extension: Extension | None = None
    conflict_window_business_days: int | None = Field(None, ge=0)
    conflict_window_hours: int | None = Field(None, ge=0)
    # rule key -> the section of the document's text that states it, for citations
    sections: dict[str, str] = {}

    _tiers = field_validator("tiers", mode="before")(_lower_list)

    @field_validator("minimum_first_year_value", mode="before")
    @classmethod
    def _money_by_region(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str | Money):
            return {ALL_REGIONS: Money.parse(value)}
        if isinstance(value, dict):
            return {str(k).strip().lower(): Money.parse(v) for k, v in value.items()}
        raise ValueError("must be 'amount CURRENCY' or a mapping region -> 'amount CURRENCY'")

    @field_validator("sections")
    @classmethod
    def _known_keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(cls.model_fields) - {"conflicts"})
        if unknown:
            raise ValueError(f"sections names unknown rule keys: {', '.join(unknown)}")
        return value

    def minimum_for(self, region: str | None) -> Money | None:
        table = self.minimum_first_year_value or {}
        if region and region in table:
            return table[region]
        return table.get(ALL_REGIONS)

    def extension_for(self, tier: str | None) -> int:
        """Days of extension the tier may request (0 when none)."""
        if self.extension is None:
            return 0
        if self.extension.tiers is not None and tier not in self.extension.tiers:
            return 0
        return self.extension.days

    def vocabulary_errors(self, tiers: list[str], regions: list[str]) -> list[str]:
        errors = []
        for name in (self.tiers or []) + ((self.extension.tiers or []) if self.extension else []):
            if name not in tiers:
                errors.append(f"unknown tier {name!r}")
        for name in self.minimum_first_year_value or {}:
            if name != ALL_REGIONS and name not in regions:
                errors.append(f"unknown region {name!r} in minimum_first_year_value")
        return errors


class OnboardingStep(_Block):
    """One onboarding step, due ``due_day`` days after the partner joined.

    A step is done when the partner reports its id as completed, when the partner completed
    ``course``, or when the partner has at least ``registrations`` deal registrations.
    """

    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1)
    due_day: int = Field(ge=0, le=MAX_DAYS)
    course: str | None = None
    tiers: list[str] | None = None
    registrations: int | None = Field(None, ge=1)

    _tiers = field_validator("tiers", mode="before")(_lower_list)


class OnboardingBlock(_Block):
    """The ``onboarding:`` block: the steps a new partner goes through, in order."""

    steps: list[OnboardingStep] = []
    sections: dict[str, str] = {}  # step id -> section of the text that describes it

    @field_validator("steps")
    @classmethod
    def _unique_ids(cls, steps: list[OnboardingStep]) -> list[OnboardingStep]:
        ids = [s.id for s in steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate step ids: {', '.join(duplicates)}")
        return steps

    def vocabulary_errors(self, tiers: list[str], regions: list[str]) -> list[str]:
        return [
            f"unknown tier {name!r} in onboarding step {step.id!r}"
            for step in self.steps
            for name in step.tiers or []
            if name not in tiers
        ]


def check_rule_vocabulary(
    blocks: list[DealRegistrationBlock | OnboardingBlock | None],
    tiers: list[str],
    regions: list[str],
) -> None:
    for block in blocks:
        if block is None:
            continue
        errors = block.vocabulary_errors(tiers, regions)
        if errors:
            allowed = f"tiers: {', '.join(tiers)}; regions: {', '.join(regions)}"
            raise LoadError(f"bad rule block: {errors[0]} (allowed {allowed})")
