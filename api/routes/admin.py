"""``/v1/admin``: ingest documents and read knowledge-base statistics (admins only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.encoders import jsonable_encoder

from api.deps import AdminDep, ServiceDep
from api.errors import COMMON_RESPONSES
from api.schemas import IngestRequest
from retrieval.store_lock import StoreBusy

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=COMMON_RESPONSES)


def _as_object(result: Any) -> dict[str, Any]:
    encoded = jsonable_encoder(result)
    return encoded if isinstance(encoded, dict) else {"result": encoded}


def _inside(data_dir: Path, raw: str) -> Path:
    """A leaked admin key must not read arbitrary server files into the knowledge base."""
    root = data_dir.resolve()
    try:
        path = (root / raw).resolve()
    except (ValueError, OSError) as exc:
        raise HTTPException(400, f"path {raw!r} is not a usable path") from exc
    if not path.is_relative_to(root):
        raise HTTPException(400, f"path {raw!r} is outside the data folder")
    if "\x00" in raw or not path.exists():
        raise HTTPException(400, f"path {raw!r} does not exist in the data folder")
    return path


@router.post("/ingest", response_model=dict[str, Any])
def ingest(
    body: IngestRequest, request: Request, caller: AdminDep, service: ServiceDep
) -> dict[str, Any]:
    """Ingest files or folders under the server's data folder (``settings.data_dir``);
    incremental: unchanged files are skipped. Paths are relative to the data folder; document
    ids are relative to the knowledge-base root (``PA_INGEST_ROOT``, else the top folder with a
    ``manifest.yaml``, else the data folder), so a subfolder updates the same documents and
    ``sync`` deletes only documents under the paths given. 409 when another ingest holds the
    store for longer than ``PA_INGEST_LOCK_TIMEOUT``."""
    data_dir = request.app.state.settings.data_dir
    paths = [_inside(data_dir, p) for p in body.paths]
    try:
        return _as_object(service.ingest(paths, body.sync, default_root=data_dir))
    except StoreBusy as exc:
        raise HTTPException(409, str(exc)) from exc
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        raise HTTPException(400, f"cannot ingest: {exc}") from exc


@router.get("/stats", response_model=dict[str, Any])
def stats(caller: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """Documents, chunks and sources in the knowledge base."""
    return _as_object(service.stats())
