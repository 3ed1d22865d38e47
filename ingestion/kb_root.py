"""The knowledge-base root: the folder every document id is relative to.

A document's id must not depend on the path an ingest was started from: ``ingest data`` and then
``ingest data/program`` must update ``program/deal-registration-2026.md``, not index the same
file again as ``deal-registration-2026.md``. So the id is the file's path relative to the root of
the knowledge base, found in this order:

1. ``configured`` (``PA_INGEST_ROOT``): a path outside it is an error;
2. the top of the chain of folders holding a ``manifest.yaml``, walking up from the path given
   (``data/`` and each of its folders hold one, so ``data/program`` resolves to ``data``; the
   walk stops at the first folder above the chain without one);
3. ``default`` when it contains the path (the admin route passes the server's data folder,
   ``doctor --repair`` the root a document was registered under), else the folder given.

Example::

    knowledge_base_root(Path("data/program"))          # → /…/data
    knowledge_base_root(Path("notes"), default=None)   # → /…/notes (no manifest around it)
"""

from __future__ import annotations

from pathlib import Path

from ingestion.documents import LoadError
from ingestion.metadata import MANIFEST_NAME


def knowledge_base_root(
    path: Path, configured: Path | None = None, default: Path | None = None
) -> Path:
    """The resolved root for ``path`` (a file or folder); raises :class:`LoadError` when
    ``configured`` does not contain it."""
    path = path.resolve()
    folder = path if path.is_dir() else path.parent
    if configured is not None:
        root = configured.resolve()
        if not folder.is_relative_to(root):
            raise LoadError(
                f"{path} is outside the knowledge-base root {root} (PA_INGEST_ROOT); "
                "ingest paths under it, or change the setting"
            )
        return root
    top: Path | None = None
    for candidate in (folder, *folder.parents):
        if (candidate / MANIFEST_NAME).is_file():
            top = candidate
        elif top is not None:
            break
    if top is not None:
        return top
    if default is not None and folder.is_relative_to(default.resolve()):
        return default.resolve()
    return folder
