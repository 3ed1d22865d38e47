"""``/manage``: the channel manager's dashboard, served by the API.

The page is a static shell (``static/manage.html``, ``manage.js``, ``manage.css``; no build step,
no CDN). It asks for a manager API key or a manager token, keeps it in the tab's
``sessionStorage`` and reads everything through the same ``/v1`` routes as any client, sending
the credential as a header: the page itself holds no data, a partner token gets 403 from every
call, and no cookie means no cross-site request can act as the manager. Data is inserted as
text, never as markup.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.routes.widget import STATIC_DIR

router = APIRouter(tags=["manage"], include_in_schema=False)

# The shell loads only its own script and style; data comes from the API (same origin).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


@router.get("/manage")
def manage() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "manage.html",
        media_type="text/html",
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"},
    )
