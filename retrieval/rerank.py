"""Optional cross-encoder reranking of fused candidates.

No reranker ships offline, so this runs only when ``PA_RETRIEVAL_RERANKER_PATH`` names a local
sentence-transformers CrossEncoder folder. It rescores the top candidates jointly with the query,
which fixes rank errors that neither BM25 nor bi-encoder similarity can see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class CrossEncoderReranker:
    def __init__(self, path: Path, depth: int = 30) -> None:
        from sentence_transformers import CrossEncoder

        if not Path(path).is_dir():
            raise FileNotFoundError(f"reranker folder {path} does not exist")
        self.model = CrossEncoder(str(path), device="cpu", local_files_only=True)
        self.depth = depth

    def rerank(self, query: str, ranked: list[tuple[Any, float]]) -> list[tuple[Any, float]]:
        head, tail = ranked[: self.depth], ranked[self.depth :]
        if not head:
            return ranked
        scores = self.model.predict(
            [(query, chunk.text) for chunk, _ in head], show_progress_bar=False
        )
        rescored = sorted(zip([c for c, _ in head], map(float, scores)), key=lambda p: -p[1])
        return rescored + tail
