"""Who is calling: verified tokens and API keys turned into a `CallerContext`.

Three kinds of bearer token, told apart by their ``iss`` claim and each verified with its own key:

- **partner** tokens from the portal (HS256 with ``settings.auth.jwt_secret``, or RS256 with
  ``settings.auth.jwt_public_key``; ``jwt_issuer``/``jwt_audience`` are checked when set). The
  claims ``sub``, ``tier``, ``region``, ``lang`` and ``exp`` become the caller; tier and region
  must belong to ``settings.access``, because they decide what retrieval may return. A partner
  token carries the partner role only: one that claims a staff role is refused, so whoever holds
  the portal's key cannot mint managers or admins.
- **staff** tokens from a separately configured identity provider (``staff_issuer``,
  ``staff_audience`` and its own key, all checked); their ``role`` is ``channel_manager`` or
  ``admin``.
- **demo** tokens, signed by the demo page with its own secret (``demo_secret``, or one made per
  process) under :data:`DEMO_ISSUER`/:data:`DEMO_AUDIENCE`; accepted only while
  ``settings.auth.demo`` is on, and always as partners.

Staff may instead send ``X-API-Key`` (``settings.auth.api_keys``: "key:role" or
"key:role:name"). Each caller gets a ``principal``, the identity that owns its conversations:
issuer and subject of a token, or one API key. Nothing the client puts in a request body can
change who the caller is.

Example::

    auth = Authenticator(settings)
    token = auth.issue_token("acme", tier="gold", region="emea")   # tests, benchmarks
    auth.caller_from_token(token).caller.tier                       # "gold"
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args

import jwt

from assistant.models import CallerContext, Role

ROLES: tuple[str, ...] = get_args(Role)
MANAGER_ROLES = frozenset({"channel_manager", "admin"})
DEMO_ISSUER = "partner-assistant-demo"
DEMO_AUDIENCE = "partner-assistant-demo-widget"
API_KEY_PREFIX = 8  # characters of a presented API key that failed attempts are counted under
PORTAL = "portal"  # the principal's issuer part for partner tokens without an ``iss`` claim
_LANG = re.compile(r"^[a-z]{2}(-[A-Za-z]{2})?$")

TokenKind = Literal["partner", "staff", "demo"]


class AuthError(Exception):
    """The credentials are missing, expired, tampered with or name an unknown tier/region."""


@dataclass(frozen=True)
class Identity:
    """A verified caller and the key its rate limit is counted under."""

    caller: CallerContext
    key: str


@dataclass(frozen=True)
class _Verifier:
    """How one kind of token is checked: its key and algorithm, and the ``iss``/``aud`` it must
    carry (None: not checked)."""

    kind: TokenKind
    key: str
    algorithm: str
    issuer: str | None = None
    audience: str | None = None

    def claims(self, token: str) -> dict[str, Any]:
        required = ["exp", "sub"] + ["iss"] * bool(self.issuer) + ["aud"] * bool(self.audience)
        try:
            return jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError("the token is not valid") from exc


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


class Authenticator:
    """Verifies tokens and API keys with the configured secrets (read here, never logged)."""

    def __init__(self, settings: Any) -> None:
        auth = settings.auth
        self._tiers = list(settings.access.tiers)
        self._regions = list(settings.access.regions)
        self.algorithm: str = auth.jwt_algorithm
        self._signing_key: str | None = None
        if self.algorithm == "RS256":
            if not auth.jwt_public_key:
                raise ValueError("auth.jwt_public_key is required when auth.jwt_algorithm=RS256")
            verify_key: str = auth.jwt_public_key
        else:
            secret = _secret(auth.jwt_secret)
            if secret is None:
                if auth.environment != "development":
                    raise ValueError("auth.jwt_secret must be set outside development")
                # Nobody knows this one: without a portal secret no partner token verifies.
                secret = secrets.token_urlsafe(32)
            verify_key = self._signing_key = secret
        self._partner = _Verifier(
            "partner", verify_key, self.algorithm, auth.jwt_issuer, auth.jwt_audience
        )
        self._staff: _Verifier | None = None
        if auth.staff_issuer:
            staff_key = (
                auth.staff_jwt_public_key
                if auth.staff_jwt_algorithm == "RS256"
                else _secret(auth.staff_jwt_secret)
            )
            if not staff_key or not auth.staff_audience:
                raise ValueError("auth.staff_issuer needs auth.staff_audience and a staff key")
            self._staff = _Verifier(
                "staff", staff_key, auth.staff_jwt_algorithm, auth.staff_issuer, auth.staff_audience
            )
        self.demo: bool = bool(auth.demo)
        if self.demo and auth.environment == "production":
            raise ValueError("auth.demo must be off in production")
        demo_key = _secret(auth.demo_secret) or secrets.token_urlsafe(32)
        if demo_key == self._signing_key:
            raise ValueError("auth.demo_secret must differ from auth.jwt_secret")
        self._demo = _Verifier("demo", demo_key, "HS256", DEMO_ISSUER, DEMO_AUDIENCE)
        self._api_keys: list[tuple[bytes, str, str | None]] = []
        for entry in auth.api_keys:
            key, role, name = _parse_api_key(entry.get_secret_value())
            self._api_keys.append((key.encode(), role, name))

    def issue_token(
        self,
        sub: str,
        tier: str | None = None,
        region: str | None = None,
        role: str = "partner",
        lang: str = "en",
        ttl_seconds: int = 3600,
        joined: str | None = None,
    ) -> str:
        """Sign a partner token as the portal would (HS256 only: tests and benchmarks)."""
        if self._signing_key is None:
            raise ValueError("tokens can only be issued with an HS256 secret")
        claims = _claims(sub, tier, region, role, lang, ttl_seconds, joined)
        if self._partner.issuer:
            claims["iss"] = self._partner.issuer
        if self._partner.audience:
            claims["aud"] = self._partner.audience
        return jwt.encode(claims, self._signing_key, algorithm="HS256")

    def issue_demo_token(
        self,
        sub: str,
        tier: str,
        region: str,
        lang: str = "en",
        ttl_seconds: int = 3600,
        joined: str | None = None,
    ) -> str:
        """A partner token for the demo page, signed with the demo secret under the demo
        issuer and audience; never with the portal's secret."""
        if not self.demo:
            raise ValueError("demo tokens are issued only in demo mode (PA_AUTH_DEMO=true)")
        claims = _claims(sub, tier, region, "partner", lang, ttl_seconds, joined)
        claims.update(iss=DEMO_ISSUER, aud=DEMO_AUDIENCE)
        return jwt.encode(claims, self._demo.key, algorithm="HS256")

    def joined_from_token(self, token: str) -> date | None:
        """The partner's program join date (optional ``joined`` claim, YYYY-MM-DD): it decides
        whether the widget offers onboarding help. A malformed date is an error, not ignored."""
        _, claims = self._verified(token)
        value = claims.get("joined")
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise AuthError("joined claim must be a date in YYYY-MM-DD form") from None

    def _verified(self, token: str) -> tuple[_Verifier, dict[str, Any]]:
        """The token's claims, checked by the verifier its (unverified) issuer names."""
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.InvalidTokenError as exc:
            raise AuthError("the token is not valid") from exc
        if issuer == DEMO_ISSUER:
            if not self.demo:
                raise AuthError("demo tokens are accepted only in demo mode")
            verifier = self._demo
        elif self._staff is not None and issuer == self._staff.issuer:
            verifier = self._staff
        else:
            verifier = self._partner
        return verifier, verifier.claims(token)

    def caller_from_token(self, token: str) -> Identity:
        verifier, claims = self._verified(token)
        caller = self._caller(claims, verifier.kind)
        issuer = claims.get("iss") or PORTAL
        principal = f"{verifier.kind}:{issuer}|{claims['sub']}"
        caller = caller.model_copy(update={"principal": principal})
        return Identity(caller=caller, key=f"sub:{principal}")

    def _caller(self, claims: dict[str, Any], kind: TokenKind) -> CallerContext:
        role = claims.get("role", "partner")
        if role not in ROLES:
            raise AuthError(f"unknown role in token; expected one of {', '.join(ROLES)}")
        if kind == "staff" and role not in MANAGER_ROLES:
            raise AuthError("a staff token must carry the channel_manager or admin role")
        if kind != "staff" and role != "partner":
            raise AuthError(
                "partner tokens carry the partner role only; staff sign in with an API key "
                "or a token from the staff issuer"
            )
        tier = claims.get("tier")
        region = claims.get("region")
        if role == "partner" and (tier is None or region is None):
            raise AuthError("a partner token must carry tier and region claims")
        if tier is not None and str(tier).lower() not in self._tiers:
            raise AuthError("unknown tier in token")
        if region is not None and str(region).lower() not in self._regions:
            raise AuthError("unknown region in token")
        lang = str(claims.get("lang") or "en")
        if not _LANG.match(lang):
            raise AuthError("lang claim must be a language code such as 'en' or 'de'")
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub:
            raise AuthError("sub claim must be a non-empty string")
        return CallerContext(
            role=role,
            tier=str(tier).lower() if tier is not None else None,
            region=str(region).lower() if region is not None else None,
            language=lang,
            partner_id=sub,
        )

    def caller_from_api_key(self, presented: str) -> Identity:
        candidate = presented.encode()
        for key, role, name in self._api_keys:
            if hmac.compare_digest(candidate, key):
                digest = hashlib.sha256(key).hexdigest()[:12]
                caller = CallerContext(
                    role=role,  # type: ignore[arg-type]
                    partner_id=name,
                    principal=f"apikey:{name or digest}",
                )
                return Identity(caller=caller, key=f"apikey:{digest}")
        raise AuthError("the API key is not valid")


def throttle_keys(address: str | None, api_key: str | None) -> list[str]:
    """What a failed authentication is counted under: the client address, and for an API key
    its first characters (hashed: no part of a credential is stored), so that guesses spread
    over many addresses still meet the limit. A token's claims are not used: they are the
    attacker's to choose, and would let anyone lock a partner out."""
    keys = [f"ip:{address or 'unknown'}"]
    if api_key:
        digest = hashlib.sha256(api_key[:API_KEY_PREFIX].encode()).hexdigest()[:16]
        keys.append(f"key:{digest}")
    return keys


def _claims(
    sub: str,
    tier: str | None,
    region: str | None,
    role: str,
    lang: str,
    ttl_seconds: int,
    joined: str | None,
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role,
        "lang": lang,
        "exp": int(time.time()) + ttl_seconds,
    }
    optional = {"tier": tier, "region": region, "joined": joined}
    claims.update({k: v for k, v in optional.items() if v is not None})
    return claims


def _parse_api_key(entry: str) -> tuple[str, str, str | None]:
    """``key:role`` or ``key:role:name``; the name is how the key's holder appears in a
    hand-off's trail (who assigned, who replied)."""
    key, sep, last = entry.rpartition(":")
    if sep and key and last in MANAGER_ROLES:
        return key, last, None
    key, sep, role = key.rpartition(":")
    if sep and key and role in MANAGER_ROLES and last.strip():
        return key, role, last.strip()
    raise ValueError(
        "each auth.api_keys entry must be 'key:role' or 'key:role:name' with role "
        "channel_manager|admin"
    )
