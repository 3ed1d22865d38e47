"""``/v1/admin``: ingest documents and read knowledge-base statistics (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.encoders import jsonable_encoder

from api.deps import AdminDep, ServiceDep
from api.errors import COMMON_RESPONSES
from api.schemas import IngestRequest

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=COMMON_RESPONSES)


def _as_object(result: Any) -> dict[str, Any]:
    encoded = jsonable_encoder(result)
    return encoded if isinstance(encoded, dict) else {"result": encoded}


@router.post("/ingest", response_model=dict[str, Any])
def ingest(body: IngestRequest, caller: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """Ingest files or folders on the server (incremental: unchanged files are skipped)."""
    try:
        return _as_object(service.ingest(body.paths, body.sync))
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        raise HTTPException(400, f"cannot ingest: {exc}") from exc


@router.get("/stats", response_model=dict[str, Any])
def stats(caller: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """Documents, chunks and sources in the knowledge base."""
    return _as_object(service.stats())
