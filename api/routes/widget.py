"""What the portal widget needs besides chat: starter questions and the demo page at ``/``.

The demo page signs a short-lived demo partner token server-side and embeds the widget with one
script tag, exactly as a partner portal would. It exists only in demo mode (``PA_AUTH_DEMO=true``;
``make run`` turns it on, nothing else does): otherwise this route answers 404. Its tokens are
signed with the demo secret under the demo issuer and audience (:mod:`api.auth`), never with the
portal's secret, and the API refuses them whenever demo mode is off.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import AuthError
from api.i18n import messages, pick_language, starter_questions
from api.schemas import Suggestions

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(tags=["widget"])


ONBOARDING_STARTER = "Your onboarding"
ONBOARDING_ROUTE = "/v1/onboarding"
_optional_bearer = HTTPBearer(auto_error=False)


def _recently_joined(request: Request, bearer: HTTPAuthorizationCredentials | None) -> bool:
    """Whether the caller's token says they joined within the onboarding window. The starter
    reveals nothing, so a missing or bad token simply means no starter (not a 401)."""
    if bearer is None or not bearer.credentials:
        return False
    try:
        joined = request.app.state.auth.joined_from_token(bearer.credentials)
    except AuthError:
        return False
    window = request.app.state.settings.rules.onboarding_window_days
    return joined is not None and date.today() - joined <= timedelta(days=window)


@router.get("/v1/suggestions", response_model=Suggestions)
def suggestions(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)],
    lang: str = Query("en", pattern=r"^[a-z]{2}$"),
) -> Suggestions:
    """Starter questions for the widget, in the requested language (English if unknown).

    A partner whose token says they joined within ``PA_RULES_ONBOARDING_WINDOW_DAYS`` also gets
    "Your onboarding" first; ``actions`` maps it to the route the widget calls instead of chat.
    """
    language = pick_language(lang)
    items = starter_questions(language)
    actions: dict[str, str] = {}
    if _recently_joined(request, bearer):
        label = str(messages(language).get("onboardingStarter") or ONBOARDING_STARTER)
        items.insert(0, label)
        actions[label] = ONBOARDING_ROUTE
    return Suggestions(language=language, suggestions=items, actions=actions)


_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Partner portal (demo)</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; color: #1f2933; background: #f5f7fa; }}
header {{ background: #0b3d91; color: #fff; padding: 1rem 2rem; }}
main {{ padding: 2rem; max-width: 48rem; }}
code {{ background: #e4e7eb; padding: 0 .25rem; }}
</style>
</head>
<body>
<header><h1>Partner portal</h1></header>
<main>
<p>Demo partner <code>{sub}</code>: tier <code>{tier}</code>, region <code>{region}</code>.
The assistant opens from the button in the corner.</p>
<p>Change the demo caller with <code>?tier=&amp;region=&amp;lang=</code>, and the embed with
<code>?accent=&amp;position=left&amp;launcher=</code>.</p>
</main>
<script src="/static/widget.js" data-api-base="" data-token="{token}" data-lang="{lang}"
 data-vendor="{vendor}" data-accent="{accent}" data-position="{position}"
 data-launcher-label="{launcher}" defer></script>
</body>
</html>
"""


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def demo_page(
    request: Request,
    tier: str | None = None,
    region: str | None = None,
    lang: str = "en",
    accent: str = "",
    position: str = "right",
    launcher: str = "",
) -> HTMLResponse:
    settings = request.app.state.settings
    auth = request.app.state.auth
    if not auth.demo:
        raise HTTPException(404, "the demo page exists only in demo mode (PA_AUTH_DEMO=true)")
    tiers, regions = settings.access.tiers, settings.access.regions
    tier = tier if tier is not None and tier in tiers else tiers[min(2, len(tiers) - 1)]
    region = region if region is not None and region in regions else regions[0]
    lang = pick_language(lang)
    sub = "demo-partner"
    # The demo partner joined recently, so the widget shows the onboarding starter.
    joined = (date.today() - timedelta(days=20)).isoformat()
    token = auth.issue_demo_token(
        sub, tier=tier, region=region, lang=lang, ttl_seconds=3600, joined=joined
    )
    page = _PAGE.format(
        lang=lang,
        sub=html.escape(sub),
        tier=html.escape(tier),
        region=html.escape(region),
        token=html.escape(token, quote=True),
        vendor=html.escape(settings.api.vendor_name, quote=True),
        accent=html.escape(accent[:40], quote=True),
        position="left" if position == "left" else "right",
        launcher=html.escape(launcher[:40], quote=True),
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
