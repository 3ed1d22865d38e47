"""Recognise a deal in a chat question, so the answer path can run the pre-check on it.

"Can I register a 25,000 EUR expansion at Contoso?" carries a deal: an amount with a currency,
a kind (the contract's own words: new, expansion, renewal) and a customer. A question only counts
as a deal when it carries an amount with a currency *and* asks about registering it or names a
deal kind; "What is the minimum deal size?" carries no deal and goes the normal way.

Currencies are ISO codes as written ("EUR", "usd") or the unambiguous symbols € £ ¥ ₹; a bare
"$" is read as USD only because the ISO code is then absent and the pre-check states the currency
it compared in (a mismatch is reported, never converted).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from assistant.rules.deal_registration import Deal, DealKind, normalize_domain

_SYMBOLS = {"€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "$": "USD"}
_SCALE = {"k": 1_000, "m": 1_000_000}
# 25,000 / 25.000 / 25 000 (thousands), then an optional decimal part of one or two digits.
_NUMBER = r"(\d{1,3}(?:[,.\s]\d{3})+|\d+)(?:[.,](\d{1,2})(?!\d))?\s*([kKmM]\b)?"
_CODE_AFTER = re.compile(_NUMBER + r"\s*([A-Z]{3}|[a-z]{3})\b")
_SYMBOL_BEFORE = re.compile(r"([€£¥₹$])\s*" + _NUMBER)
_SYMBOL_AFTER = re.compile(_NUMBER + r"\s*([€£¥₹])")
_CODE_BEFORE = re.compile(r"\b([A-Z]{3})\s*" + _NUMBER)
_KINDS: dict[str, DealKind] = {
    "renewal": "renewal",
    "renew": "renewal",
    "expansion": "expansion",
    "expand": "expansion",
    "upsell": "expansion",
    "new": "new",
}
_KIND_WORD = re.compile(r"\b(renew(?:al|als|ing)?|expan(?:sion|d|ding)|upsell|new)\b", re.I)
_REGISTER = re.compile(r"\bregist(?:er|ered|ering|ration)\b", re.I)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b)", re.I)
_DOMAIN = re.compile(r"\b((?:[a-z0-9-]+\.)+[a-z]{2,})\b", re.I)
_CUSTOMER = re.compile(r"\b(?:at|for|with|to)\s+((?:[A-Z][\w&'-]*)(?:\s+(?:[A-Z][\w&'-]*|&|of))*)")
_NOT_CURRENCY = {"THE", "AND", "FOR"}


def _amount(whole: str, fraction: str | None, scale: str | None) -> Decimal | None:
    try:
        value = Decimal(re.sub(r"[,.\s]", "", whole) + (f".{fraction}" if fraction else ""))
    except InvalidOperation:
        return None
    return value * _SCALE[scale.lower()] if scale else value


def _money(text: str) -> tuple[Decimal, str] | None:
    for match in _CODE_AFTER.finditer(text):
        code = match[4].upper()
        if code not in _NOT_CURRENCY and (match[4].isupper() or code in _SYMBOLS.values()):
            amount = _amount(match[1], match[2], match[3])
            if amount is not None:
                return amount, code
    for pattern, symbol_first in ((_SYMBOL_BEFORE, True), (_SYMBOL_AFTER, False)):
        found = pattern.search(text)
        if found:
            symbol = found[1] if symbol_first else found[4]
            groups = (found[2], found[3], found[4]) if symbol_first else found.groups()[:3]
            amount = _amount(*groups)
            if amount is not None:
                return amount, _SYMBOLS[symbol]
    before = _CODE_BEFORE.search(text)
    if before and before[1] not in _NOT_CURRENCY:
        amount = _amount(before[2], before[3], before[4])
        if amount is not None:
            return amount, before[1]
    return None


def deal_from_question(text: str) -> Deal | None:
    """The deal a question describes, or ``None`` when it carries none.

    >>> deal = deal_from_question("Can I register a 25,000 EUR expansion at Contoso?")
    >>> (deal.first_year_value, deal.currency, deal.kind, deal.customer)
    (Decimal('25000'), 'EUR', 'expansion', 'Contoso')
    """
    money = _money(text)
    kind_match = _KIND_WORD.search(text)
    if money is None or not (_REGISTER.search(text) or kind_match):
        return None
    kind: DealKind = "new"
    if kind_match:
        word = kind_match[1].lower()
        kind = next((v for k, v in _KINDS.items() if word.startswith(k)), "new")
    percent = _PERCENT.search(text)
    domain = _DOMAIN.search(text)
    customer = _CUSTOMER.search(text)
    name = customer[1].strip() if customer else None
    if not name and domain:
        name = domain[1]
    return Deal(
        customer=name or "the customer",
        customer_domain=normalize_domain(domain[1]) if domain else None,
        first_year_value=money[0],
        currency=money[1],
        kind=kind,
        expansion_percent=float(percent[1]) if percent and kind == "expansion" else None,
    )
