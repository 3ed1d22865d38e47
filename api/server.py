"""`serve`: run the API with uvicorn (the CLI's ``partner-assistant serve`` calls it)."""

from __future__ import annotations

import uvicorn

from assistant.settings import Settings


def serve(
    settings: Settings, host: str | None = None, port: int | None = None, workers: int | None = None
) -> None:
    """Serve on ``host:port``. With several workers uvicorn imports the app factory by name in
    each worker process, so those workers read their settings from the environment (``PA_*``),
    not from ``settings``."""
    host = host or settings.api.host
    port = port or settings.api.port
    workers = workers or settings.api.workers
    if workers > 1:
        uvicorn.run("api.app:app_from_env", factory=True, host=host, port=port, workers=workers)
        return
    from api.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port)
