"""`partner-assistant`: the command line. Scripts and evals rely on its JSON output.

Every command takes ``--store PATH`` (or ``PA_STORE_DIR``) to pick the knowledge base.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.models import CallerContext
from assistant.settings import Settings, get_settings

app = typer.Typer(
    name="partner-assistant",
    help="Partner knowledge base and assistant: ingest, search, ask, recommend, draft, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
state: dict[str, Any] = {}

StoreOpt = Annotated[
    Path | None, typer.Option("--store", help="Knowledge-base folder (default: PA_STORE_DIR).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.callback()
def main(store: StoreOpt = None) -> None:
    """Partner knowledge base and assistant."""
    if store is not None:
        state["store"] = store


def settings_for(store: Path | None = None) -> Settings:
    settings = get_settings()
    chosen = store or state.get("store")
    if chosen is not None:
        settings = settings.model_copy(
            update={"store": settings.store.model_copy(update={"dir": chosen})}
        )
    return settings


def fail(message: str, code: int = 2) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def knowledge_base(settings: Settings):  # noqa: ANN201 - imported lazily: loads torch
    from retrieval.chroma_store import StoreError
    from retrieval.embedder import EmbeddingModelError
    from retrieval.knowledge_base import open_knowledge_base

    try:
        return open_knowledge_base(settings)
    except (StoreError, EmbeddingModelError) as exc:
        fail(str(exc))


def caller_from(
    role: str,
    tier: str | None,
    region: str | None,
    as_of: str | None,
    partner_id: str | None = None,
) -> CallerContext:
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date in YYYY-MM-DD form")
    if role not in ("partner", "channel_manager", "admin"):
        fail(f"--role {role!r} must be partner, channel_manager or admin")
    return CallerContext(role=role, tier=tier, region=region, as_of=day, partner_id=partner_id)  # type: ignore[arg-type]


# -- knowledge base -------------------------------------------------------------------------
@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    sync: Annotated[
        bool, typer.Option("--sync", help="Delete documents whose files are gone.")
    ] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Ingest documents incrementally: unchanged files are skipped, changed ones replaced."""
    settings = settings_for(store)
    kb = knowledge_base(settings)
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name[-50:])

        summary = kb.ingest(paths, sync=sync, progress=progress)
    result = summary.as_dict()
    if as_json:
        emit_json(result)
    else:
        verdict = "nothing changed" if not summary.changed else f"{summary.files_indexed} indexed"
        console.print(
            f"[bold]{summary.files_seen}[/bold] files: {verdict}, {summary.files_skipped} unchanged, "
            f"{len(summary.files_failed)} failed, {summary.files_deleted} deleted; "
            f"+{summary.chunks_added}/-{summary.chunks_deleted} chunks in {summary.seconds:.1f}s"
        )
        for failure in summary.files_failed:
            console.print(f"  [red]failed[/red] {failure['path']}: {failure['error']}")
        for warning in summary.warnings:
            console.print(f"  [yellow]warning[/yellow] {warning}")
    if summary.files_failed:
        raise typer.Exit(1)


def _search_one(kb: Any, query: str, caller: CallerContext, k: int, mode: str | None) -> list[dict]:
    hits = kb.retriever.retrieve(query, caller, k=k, mode=mode)
    return [hit.model_dump() for hit in hits]


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="The query.")] = None,
    k: Annotated[int, typer.Option("--k", help="Number of results.")] = 10,
    tier: Annotated[str | None, typer.Option(help="Caller tier.")] = None,
    region: Annotated[str | None, typer.Option(help="Caller region.")] = None,
    role: Annotated[str, typer.Option(help="partner, channel_manager or admin.")] = "partner",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date the rules apply on.")] = None,
    mode: Annotated[str | None, typer.Option(help="dense, lexical or hybrid.")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="JSONL file of queries.")] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Search the knowledge base as a given caller (hybrid by default)."""
    from retrieval.access import AccessError
    from retrieval.hybrid import RetrievalError

    if not query and not batch:
        fail("give a QUERY or --batch FILE.jsonl")
    settings = settings_for(store)
    kb = knowledge_base(settings)
    if batch:
        if not batch.is_file():
            fail(f"batch file {batch} does not exist")
        for number, line in enumerate(batch.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                caller = CallerContext(
                    role=item.get("role", "partner"),
                    tier=item.get("tier"),
                    region=item.get("region"),
                    as_of=item.get("as_of"),
                )
                results = _search_one(
                    kb, item["query"], caller, int(item.get("k", k)), item.get("mode", mode)
                )
                emit_json({"id": item.get("id", number), "results": results})
            except (ValueError, KeyError, TypeError, AccessError, RetrievalError) as exc:
                emit_json(
                    {
                        "id": (item.get("id") if isinstance(item, dict) else number),
                        "error": str(exc),
                    }
                )
        return
    caller = caller_from(role, tier, region, as_of)
    try:
        results = _search_one(kb, query or "", caller, k, mode)
    except (AccessError, RetrievalError) as exc:
        fail(str(exc))
    if as_json:
        emit_json({"query": query, "results": results})
        return
    table = Table("#", "score", "source", "section", "page", "text")
    for n, hit in enumerate(results, start=1):
        table.add_row(
            str(n),
            f"{hit['score']:.3f}",
            hit["source"],
            hit["section"][:40],
            str(hit["page"] or ""),
            hit["text"][:90].replace("\n", " "),
        )
    Console().print(table)


@app.command()
def stats(as_json: JsonOpt = False, store: StoreOpt = None) -> None:
    """Documents and chunks in the store, by doc type, with the embedding model."""
    kb = knowledge_base(settings_for(store))
    result = kb.stats()
    if as_json:
        emit_json(result)
        return
    out = Console()
    out.print(
        f"store: {result['store']}\nmodel: {result['embedding_model']} ({result['embedding_dimension']} dims)"
    )
    out.print(f"documents: {result['documents']}  chunks: {result['chunks']}")
    table = Table("doc_type", "documents", "chunks")
    for doc_type, counts in result["by_doc_type"].items():
        table.add_row(doc_type, str(counts["documents"]), str(counts["chunks"]))
    out.print(table)


if __name__ == "__main__":
    app()
