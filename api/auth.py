"""Who is calling: verified portal tokens and manager API keys turned into a `CallerContext`.

Portal partners send ``Authorization: Bearer <JWT>`` signed by the portal (HS256 with
``settings.auth.jwt_secret``, or RS256 verified with ``settings.auth.jwt_public_key``). The claims
``sub``, ``tier``, ``region``, ``role``, ``lang`` and ``exp`` become the caller; tier and region
must belong to ``settings.access`` vocabularies, because they decide what retrieval may return.
Channel managers and admins may instead send ``X-API-Key`` (``settings.auth.api_keys`` holds
"key:role" pairs). Nothing the client puts in a request body can change who the caller is.

Example::

    auth = Authenticator(settings)
    token = auth.issue_token("acme", tier="gold", region="emea")   # demo page, tests
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
from typing import Any, get_args

import jwt

from assistant.models import CallerContext, Role

ROLES: tuple[str, ...] = get_args(Role)
MANAGER_ROLES = frozenset({"channel_manager", "admin"})
_LANG = re.compile(r"^[a-z]{2}(-[A-Za-z]{2})?$")


class AuthError(Exception):
    """The credentials are missing, expired, tampered with or name an unknown tier/region."""


@dataclass(frozen=True)
class Identity:
    """A verified caller and the key its rate limit is counted under."""

    caller: CallerContext
    key: str


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
            self._verify_key: str = auth.jwt_public_key
        else:
            if auth.jwt_secret is not None:
                secret = auth.jwt_secret.get_secret_value()
            elif auth.environment == "development":
                # A per-process secret: the demo page can sign tokens, nobody else can.
                secret = secrets.token_urlsafe(32)
            else:
                raise ValueError("auth.jwt_secret must be set outside development")
            self._verify_key = secret
            self._signing_key = secret
        self._api_keys: list[tuple[bytes, str, str | None]] = []
        for entry in auth.api_keys:
            key, role, name = _parse_api_key(entry.get_secret_value())
            self._api_keys.append((key.encode(), role, name))

    @property
    def can_issue(self) -> bool:
        return self._signing_key is not None

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
        """Sign a token as the portal would (HS256 only: the demo page and tests use it)."""
        if self._signing_key is None:
            raise ValueError("tokens can only be issued with an HS256 secret")
        claims: dict[str, Any] = {
            "sub": sub,
            "role": role,
            "lang": lang,
            "exp": int(time.time()) + ttl_seconds,
        }
        if tier is not None:
            claims["tier"] = tier
        if region is not None:
            claims["region"] = region
        if joined is not None:
            claims["joined"] = joined
        return jwt.encode(claims, self._signing_key, algorithm="HS256")

    def joined_from_token(self, token: str) -> date | None:
        """The partner's program join date (optional ``joined`` claim, YYYY-MM-DD): it decides
        whether the widget offers onboarding help. A malformed date is an error, not ignored."""
        claims = self._claims(token)
        value = claims.get("joined")
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise AuthError("joined claim must be a date in YYYY-MM-DD form") from None

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                self._verify_key,
                algorithms=[self.algorithm],
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError("the token is not valid") from exc

    def caller_from_token(self, token: str) -> Identity:
        try:
            claims = jwt.decode(
                token,
                self._verify_key,
                algorithms=[self.algorithm],
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError("the token is not valid") from exc
        return Identity(caller=self._caller(claims), key=f"sub:{claims['sub']}")

    def _caller(self, claims: dict[str, Any]) -> CallerContext:
        role = claims.get("role", "partner")
        if role not in ROLES:
            raise AuthError(f"unknown role in token; expected one of {', '.join(ROLES)}")
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
                caller = CallerContext(role=role, partner_id=name)  # type: ignore[arg-type]
                return Identity(caller=caller, key=f"apikey:{digest}")
        raise AuthError("the API key is not valid")


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
