"""`partner-assistant`: the command line. Scripts and evals rely on its JSON output.

Every command takes ``--store PATH`` (or ``PA_STORE_DIR``) to pick the knowledge base.

Start-up matters for a command line: arguments are checked against settings before anything
heavy is loaded (a bad ``--tier`` fails at once), commands that only read the store (``stats``,
``handoffs``) never import the embedding model, and commands that need one check first that a
store exists. Each command is a small function so the module can move between packages as is.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import date
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.models import (
    Answer,
    CallerContext,
    DraftKind,
    DraftRequest,
    PartnerProfile,
    Question,
    Role,
    Turn,
)
from assistant.settings import Settings, get_settings

Mode = Literal["dense", "lexical", "hybrid"]  # RetrievalSettings.mode's values
MISSING_STORE = "run `partner-assistant ingest PATH` first"
STORE_BUSY = 3  # the exit status when another ingest held the store past the lock timeout

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


def _print_version(value: bool) -> None:
    if value:
        try:
            version = package_metadata.version("partner-assistant")
        except package_metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        sys.stdout.write(f"partner-assistant {version}\n")
        raise typer.Exit()


@app.callback()
def main(
    store: StoreOpt = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
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


def fail(message: str, code: int = 2) -> NoReturn:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def open_store(settings: Settings):  # noqa: ANN201 - imported lazily: chromadb
    """The existing store, opened without the embedding model; a missing one is an error with
    the command that fixes it (not an empty result and exit 0)."""
    from retrieval.chroma_store import StoreError, StoreMissing

    try:
        from retrieval.chroma_store import ChromaStore

        return ChromaStore.open_existing(settings)
    except StoreMissing as exc:
        fail(f"{exc}: {MISSING_STORE}", code=1)
    except StoreError as exc:
        fail(str(exc))


@contextmanager
def broken_store_is_an_error() -> Iterator[None]:
    """Chroma failing on a store it opened means the store is inconsistent (two writers at
    once, files deleted by hand): say so and what checks and repairs it, not a traceback."""
    from chromadb.errors import ChromaError

    try:
        yield
    except ChromaError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(
            f"the store cannot be read ({reason}); `partner-assistant doctor` checks it and "
            "`doctor --repair` rebuilds it",
            code=1,
        )


def knowledge_base(  # noqa: ANN201 - loads the embedding model
    settings: Settings, must_exist: bool = True, reindex: bool = False
):
    """The knowledge base with its embedding model (seconds to load), once the store is known
    to exist (``ingest`` creates it, so it passes ``must_exist=False``)."""
    from retrieval.chroma_store import StoreError
    from retrieval.embedder import EmbeddingModelError
    from retrieval.knowledge_base import open_knowledge_base

    if must_exist:
        open_store(settings)
    try:
        return open_knowledge_base(settings, reindex=reindex)
    except (StoreError, EmbeddingModelError) as exc:
        fail(str(exc))


def caller_from(
    settings: Settings,
    role: str,
    tier: str | None,
    region: str | None,
    as_of: str | None,
    partner_id: str | None = None,
) -> CallerContext:
    """The caller the options describe, checked against the configured tiers and regions
    before any model is loaded."""
    from retrieval.access import AccessError, validate_caller

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date in YYYY-MM-DD form")
    caller = CallerContext(role=role, tier=tier, region=region, as_of=day, partner_id=partner_id)  # type: ignore[arg-type]
    try:
        return validate_caller(caller, settings.access)
    except AccessError as exc:
        option = "--tier" if "tier" in str(exc) else "--region"
        fail(f"{option}: {exc}")
    return caller


def public_metadata(hit: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A hit's metadata without the flags written only for Chroma's filters."""
    from ingestion.metadata import filter_fields

    hidden = filter_fields(settings.access)
    return {k: v for k, v in hit["metadata"].items() if k not in hidden}


def run_batch(path: Path, handle: Any, errors: tuple[type[Exception], ...]) -> None:
    """Run ``handle(item, caller)`` for each JSONL line of ``path`` and print one JSON line per
    item with its id; a bad line prints ``{"id", "error"}`` and the batch goes on."""
    if not path.is_file():
        fail(f"batch file {path} does not exist")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item: Any = None
        caught: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError, AttributeError)
        try:
            item = json.loads(line)
            caller = CallerContext.from_item(item)
            emit_json({"id": item.get("id", number), **handle(item, caller)})
        except caught + errors as exc:
            item_id = item.get("id", number) if isinstance(item, dict) else number
            emit_json({"id": item_id, "error": str(exc)})


# -- knowledge base -------------------------------------------------------------------------
@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    sync: Annotated[
        bool, typer.Option("--sync", help="Delete documents whose files are gone.")
    ] = False,
    reindex: Annotated[
        bool,
        typer.Option(
            "--reindex",
            help="Empty the store first and embed everything again (after changing the "
            "embedding model).",
        ),
    ] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Ingest documents incrementally: unchanged files are skipped, changed ones replaced.

    Ids are paths relative to the knowledge-base root (PA_INGEST_ROOT, else the top folder with
    a manifest.yaml), so a subfolder updates the same documents. One ingest at a time: a second
    waits up to PA_INGEST_LOCK_TIMEOUT, then exits 3 naming the one that holds the store."""
    from retrieval.chroma_store import StoreError
    from retrieval.store_lock import StoreBusy, writing

    settings = settings_for(store)
    try:
        with writing(settings, "ingest", on_wait=_say_waiting(settings)):
            kb = knowledge_base(settings, must_exist=False, reindex=reindex)
            with broken_store_is_an_error():
                summary = _ingest_with_progress(kb, paths, sync)
    except StoreBusy as exc:
        fail(str(exc), code=STORE_BUSY)
    except StoreError as exc:
        fail(str(exc))
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


def _say_waiting(settings: Settings) -> Callable[[Any], None]:
    def say(holder: Any) -> None:
        who = holder.describe() if holder else "another writer"
        console.print(
            f"waiting for the store lock held by {who} "
            f"(up to {settings.ingest.lock_timeout:g}s, PA_INGEST_LOCK_TIMEOUT)…",
            highlight=False,
            soft_wrap=True,
        )

    return say


def _ingest_with_progress(kb: Any, paths: list[Path], sync: bool) -> Any:
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

        return kb.ingest(paths, sync=sync, progress=progress)


def _search_one(
    kb: Any, query: str, caller: CallerContext, k: int, mode: str | None, settings: Settings
) -> list[dict]:
    results = []
    for hit in kb.retriever.retrieve(query, caller, k=k, mode=mode):
        result = hit.model_dump()
        result["relevance"] = relevance(result)
        result["metadata"] = public_metadata(result, settings)
        results.append(result)
    return results


def relevance(hit: dict[str, Any]) -> float | None:
    """0–1: the cosine similarity of query and passage (the fusion score only ranks, and its
    scale depends on the number of lists fused); None when no embedding was compared."""
    value = hit.get("relevance")
    return None if value is None else round(min(1.0, max(0.0, float(value))), 2)


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(\*\*|__|`|^#{1,6}\s+|^\s*[-*+]\s+|^\s*>\s?|^\|?\s*:?-{3,}.*$)", re.M)


def plain_text(markdown: str) -> str:
    """Markdown as one line of readable text: links become their label, emphasis, heading and
    list marks and table rules go, table cells are separated by a semicolon."""
    text = _MD_MARKS.sub("", _MD_LINK.sub(r"\1", markdown))
    text = re.sub(r"\s*\|\s*", "; ", text).strip("; ")
    return " ".join(text.split())


def snippet(text: str, limit: int = 240) -> str:
    """At most ``limit`` characters, cut at a word boundary."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def print_results(results: list[dict[str, Any]]) -> None:
    out = Console()
    if not results:
        out.print("No results you may see match that query.")
    for n, hit in enumerate(results, start=1):
        score = "–" if hit["relevance"] is None else f"{hit['relevance']:.2f}"
        where = f", p. {hit['page']}" if hit["page"] else ""
        out.print(f"[bold]{n}. {hit['title'] or hit['source']}[/bold]  relevance {score}")
        out.print(f"   [dim]{hit['source']}{where} — {hit['section']}[/dim]", highlight=False)
        out.print(f"   {snippet(plain_text(hit['text']))}", highlight=False)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="The query.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Number of results.")] = 10,
    tier: Annotated[str | None, typer.Option(help="Caller tier (see PA_ACCESS_TIERS).")] = None,
    region: Annotated[
        str | None, typer.Option(help="Caller region (see PA_ACCESS_REGIONS).")
    ] = None,
    role: Annotated[Role, typer.Option(help="Caller role.")] = "partner",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date the rules apply on.")] = None,
    mode: Annotated[
        Mode | None, typer.Option(help="Retrieval mode (default: PA_RETRIEVAL_MODE).")
    ] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="JSONL file of queries.")] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Search the knowledge base as a given caller (hybrid by default)."""
    if not query and not batch:
        fail("give a QUERY or --batch FILE.jsonl")
    if batch and not batch.is_file():
        fail(f"batch file {batch} does not exist")
    settings = settings_for(store)
    caller = caller_from(settings, role, tier, region, as_of)
    from retrieval.access import AccessError
    from retrieval.hybrid import RetrievalError

    kb = knowledge_base(settings)
    if batch:
        run_batch(
            batch,
            lambda item, caller: {
                "results": _search_one(
                    kb,
                    item["query"],
                    caller,
                    int(item.get("k", k)),
                    item.get("mode", mode),
                    settings,
                )
            },
            (AccessError, RetrievalError),
        )
        return
    try:
        with broken_store_is_an_error():
            results = _search_one(kb, query or "", caller, k, mode, settings)
    except (AccessError, RetrievalError) as exc:
        fail(str(exc))
    if as_json:
        emit_json({"query": query, "results": results})
    else:
        print_results(results)


@app.command()
def stats(as_json: JsonOpt = False, store: StoreOpt = None) -> None:
    """Documents and chunks in the store, by doc type, with the embedding model it was built
    with (read from the store: the model itself is not loaded)."""
    with broken_store_is_an_error():
        result = open_store(settings_for(store)).stats()
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


@app.command()
def doctor(
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="When the store is inconsistent, rebuild it from the files its registry "
            "names (embeds them all again with the configured model).",
        ),
    ] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Check that the store is consistent: Chroma opens and answers queries, every registered
    document has its chunks and no chunk is left over, no file is registered twice, the
    embedding model is the configured one and the lexical index is current. Exit 0 when
    healthy, 1 with the report when not (after --repair: whether the repair made it healthy)."""
    from retrieval.chroma_store import StoreError, StoreMissing
    from retrieval.embedder import EmbeddingModelError
    from retrieval.store_check import check_store
    from retrieval.store_lock import StoreBusy

    settings = settings_for(store)
    result: dict[str, Any] = {}
    try:
        report = check_store(settings)
        result = report.as_dict()
        if repair and not report.healthy:
            from retrieval.knowledge_base import rebuild_knowledge_base

            if not as_json:
                _print_report(report)
                console.print("repairing: rebuilding the store from its registry…")
            _, summary = rebuild_knowledge_base(settings)
            report = check_store(settings)
            result = {"before": result, "repair": summary.as_dict(), **report.as_dict()}
            if not as_json:
                _print_repair(summary.as_dict())
    except StoreBusy as exc:
        fail(str(exc), code=STORE_BUSY)
    except StoreMissing as exc:
        fail(f"{exc}: nothing to repair; {MISSING_STORE}", code=1)
    except (StoreError, EmbeddingModelError) as exc:
        fail(str(exc), code=1)
    if as_json:
        emit_json(result)
    else:
        _print_report(report)
        if not report.healthy and not repair:
            console.print(
                "repair: `partner-assistant doctor --repair` rebuilds the store from the files "
                "its registry names",
                highlight=False,
                soft_wrap=True,
            )
    if not report.healthy:
        raise typer.Exit(1)


def _print_report(report: Any) -> None:
    out = Console()
    counts = report.counts
    shown = ", ".join(
        f"{k} {counts[k]}" for k in ("documents", "chunks", "generation") if k in counts
    )
    out.print(
        f"store: {report.store}" + (f" ({shown})" if shown else ""), highlight=False, soft_wrap=True
    )
    for finding in report.findings:
        mark = "[red]PROBLEM[/red]" if finding.severity == "problem" else "[yellow]warning[/yellow]"
        out.print(f"{mark} {finding.check}: {finding.message}", highlight=False, soft_wrap=True)
        for item in finding.items:
            out.print(f"    {item}", highlight=False, soft_wrap=True)
    problems = len(report.problems)
    out.print("healthy" if report.healthy else f"[red]{problems} problem(s)[/red]")


def _print_repair(summary: dict[str, Any]) -> None:
    console.print(
        f"rebuilt: {summary['files_indexed']} files indexed, {len(summary['files_failed'])} "
        f"failed, {summary['chunks_added']} chunks",
        highlight=False,
        soft_wrap=True,
    )
    for failure in summary["files_failed"]:
        console.print(f"  [red]failed[/red] {failure['path']}: {failure['error']}", soft_wrap=True)


# -- the assistant --------------------------------------------------------------------------
def service_for(settings: Settings):  # noqa: ANN201 - imported lazily: loads torch
    from assistant.service import build_service

    return build_service(settings, kb=knowledge_base(settings))


def _history(path: Path | None) -> list[Turn]:
    if path is None:
        return []
    if not path.is_file():
        fail(f"history file {path} does not exist")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [Turn.model_validate(t) for t in raw]
    except (ValueError, TypeError) as exc:
        fail(f"history file {path}: expected a JSON list of {{role, content}}: {exc}")
    return []


def _print_answer(answer: Answer) -> None:
    out = Console()
    out.print(answer.answer)
    for c in answer.citations:
        where = ", ".join(x for x in [c.section, f"p. {c.page}" if c.page else ""] if x)
        out.print(f"  [{c.n}] {c.title} ({c.source}{'; ' + where if where else ''})")
    out.print(
        f"[dim]path: {answer.path}; prompt {answer.prompt.name if answer.prompt else '-'} "
        f"v{answer.prompt.version if answer.prompt else '-'}[/dim]"
    )
    if answer.handoff_offered:
        out.print(
            "[yellow]A hand-off to your channel account manager was offered "
            f"(id {answer.handoff_id}).[/yellow]"
        )


def busy(message: str, show: bool):  # noqa: ANN201 - a context manager
    """A spinner on the terminal (stderr) while the model loads or answers; nothing when the
    output is piped or JSON, so scripts read clean output."""
    return console.status(message) if show and console.is_terminal else nullcontext()


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question.")] = None,
    tier: Annotated[str | None, typer.Option(help="Caller tier (see PA_ACCESS_TIERS).")] = None,
    region: Annotated[
        str | None, typer.Option(help="Caller region (see PA_ACCESS_REGIONS).")
    ] = None,
    role: Annotated[Role, typer.Option(help="Caller role.")] = "partner",
    partner_id: Annotated[str | None, typer.Option("--partner-id")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date the rules apply on.")] = None,
    history: Annotated[Path | None, typer.Option("--history", help="JSON list of turns.")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="JSONL file of questions.")] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Print tokens as they come.")] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Answer a question with citations, as a given caller."""
    if not question and not batch:
        fail("give a QUESTION or --batch FILE.jsonl")
    if batch and not batch.is_file():
        fail(f"batch file {batch} does not exist")
    settings = settings_for(store)
    caller = caller_from(settings, role, tier, region, as_of, partner_id)
    turns = _history(history)
    from assistant.llm import ChatModelError
    from retrieval.access import AccessError

    with busy("Loading the knowledge base…", show=not as_json):
        service = service_for(settings)
    if batch:

        def answer_item(item: dict, caller: CallerContext) -> dict:
            turns = [Turn.model_validate(t) for t in item.get("history") or []]
            answer = service.answer(Question(text=item["question"], caller=caller, history=turns))
            return answer.model_dump(mode="json")

        run_batch(batch, answer_item, (AccessError, ChatModelError))
        return
    try:
        q = Question(text=question or "", caller=caller, history=turns)
        if stream:
            final: dict[str, Any] = {}
            for event in service.stream_answer(q):
                if event.event == "token" and not as_json:
                    sys.stdout.write(event.data["text"])
                    sys.stdout.flush()
                elif event.event == "final":
                    final = event.data
            answer = Answer.model_validate(final)
            if not as_json:
                sys.stdout.write("\n")
        else:
            with busy("Searching the documents and checking the answer…", show=not as_json):
                answer = service.answer(q)
    except (AccessError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        emit_json(answer.model_dump(mode="json"))
    elif not stream:
        _print_answer(answer)
    else:
        _print_answer(answer.model_copy(update={"answer": ""}))


def read_profile(path: Path, settings: Settings) -> PartnerProfile:
    """The profile file, with its tier and region checked against settings."""
    if not path.is_file():
        fail(f"profile file {path} does not exist")
    try:
        partner = PartnerProfile.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        fail(f"profile {path}: {exc}")
    caller_from(settings, "partner", partner.tier, partner.region, None)
    return partner


@app.command("recommend-training")
def recommend_training(
    profile: Annotated[
        Path, typer.Option("--profile", help="Partner profile JSON file.", show_default=False)
    ],
    limit: Annotated[int, typer.Option(min=1, max=50, help="How many courses at most.")] = 5,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Recommend courses from a partner profile and its gaps, one reason each."""
    from retrieval.access import AccessError

    settings = settings_for(store)
    partner = read_profile(profile, settings)
    service = service_for(settings)
    try:
        recommendations = service.recommend_training(partner, limit=limit)
    except AccessError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"recommendations": [r.model_dump(mode="json") for r in recommendations]})
        return
    if not recommendations:
        Console().print("No course matches this profile's gaps.")
        return
    table = Table("course", "title", "why")
    for r in recommendations:
        table.add_row(r.course_id, r.title, r.reason)
    Console().print(table)


@app.command()
def draft(
    product: Annotated[
        str, typer.Option(help="A product named in the knowledge base.", show_default=False)
    ],
    kind: Annotated[DraftKind, typer.Option(help="What to draft.")] = "email",
    vertical: Annotated[str | None, typer.Option(help="Customer vertical.")] = None,
    region: Annotated[str | None, typer.Option(help="Region.")] = None,
    tier: Annotated[str | None, typer.Option(help="Partner tier.")] = None,
    partner: Annotated[str | None, typer.Option(help="Partner company name.")] = None,
    tone: Annotated[str, typer.Option(help="Tone.")] = "professional",
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Draft co-marketing content from approved material; its sources are listed after it."""
    from retrieval.access import AccessError

    settings = settings_for(store)
    caller = caller_from(settings, "partner", tier, region, None)
    try:
        request = DraftRequest(
            kind=kind,
            product=product,
            vertical=vertical,
            region=caller.region,
            partner=partner,
            tone=tone,
        )
    except ValueError as exc:
        fail(str(exc).splitlines()[0])
    with busy("Drafting from the approved material…", show=not as_json):
        service = service_for(settings)
        try:
            result = service.draft(request, caller)
        except (AccessError, LookupError, ValueError) as exc:
            fail(str(exc))
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    out = Console()
    out.print(result.text, highlight=False)
    if result.citations:
        out.print("\nSources:")
    for c in result.citations:
        out.print(f"  {c.n}. {c.title} ({c.source})", highlight=False)


# -- channel managers -----------------------------------------------------------------------
handoffs_app = typer.Typer(
    help="The hand-off queue: list, show, assign, reply, close. Without a command: list.",
)
app.add_typer(handoffs_app, name="handoffs")

ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", help="Act as the holder of this manager API key (PA_AUTH_API_KEYS)."),
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", help="Act as the caller of this signed portal JWT.")
]
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Your name in the hand-off trail when acting as the operator."),
]


def cli_caller(
    settings: Settings, api_key: str | None, token: str | None, by: str | None
) -> CallerContext:
    """Who runs the command. With ``--api-key`` or ``--token`` the credentials are verified as
    the API verifies them, and a partner token sees only its own hand-offs. Without either the
    command runs as the operator (admin): whoever can run it reaches the database anyway."""
    if api_key or token:
        from api.auth import Authenticator, AuthError

        try:
            auth = Authenticator(settings)
            identity = (
                auth.caller_from_api_key(api_key)
                if api_key
                else auth.caller_from_token(token or "")
            )
        except (AuthError, ValueError) as exc:
            fail(f"credentials refused: {exc}")
        return identity.caller
    return CallerContext(role="admin", partner_id=by or "operator")


def _handoff_failures(action: Any) -> Any:
    from assistant.records import InvalidTransition

    try:
        return action()
    except LookupError as exc:
        fail(str(exc).strip("'\""), code=1)
    except InvalidTransition as exc:
        fail(str(exc), code=1)
    except PermissionError as exc:
        fail(str(exc), code=1)
    except ValueError as exc:
        fail(str(exc))


def _print_handoff(handoff: Any, as_json: bool) -> None:
    if as_json:
        emit_json(handoff.model_dump(mode="json"))
        return
    out = Console()
    who = handoff.caller
    out.print(f"[bold]{handoff.reference}[/bold]  {handoff.status}  ({handoff.id})")
    out.print(
        f"partner {who.partner_id or '-'} · {who.tier or '-'} · {who.region or '-'} · "
        f"{who.language} · reason {handoff.reason}"
    )
    out.print(f"question: {handoff.question}")
    if handoff.comment:
        out.print(f"comment: {handoff.comment}")
    for c in handoff.evidence:
        out.print(f"  [{c.n}] {c.title or c.source} ({c.source})")
    for event in handoff.history:
        note = f": {event.note}" if event.note else ""
        out.print(f"  {event.at[:19]} {event.status} by {event.by or '-'}{note}")


@handoffs_app.callback(invoke_without_command=True)
def handoffs_main(ctx: typer.Context, as_json: JsonOpt = False, store: StoreOpt = None) -> None:
    """The hand-off queue (``handoffs`` alone lists it)."""
    if ctx.invoked_subcommand is None:
        handoffs_list(as_json=as_json, store=store)


@handoffs_app.command("list")
def handoffs_list(
    status: Annotated[
        str | None, typer.Option(help="offered, requested, assigned, answered, closed.")
    ] = None,
    tier: Annotated[str | None, typer.Option(help="Partner tier.")] = None,
    region: Annotated[str | None, typer.Option(help="Partner region.")] = None,
    partner: Annotated[str | None, typer.Option("--partner", help="Partner id.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Assigned to.")] = None,
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="To this date, inclusive.")] = None,
    limit: Annotated[int, typer.Option(help="Page size.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    api_key: ApiKeyOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """List hand-offs, newest first."""
    from pydantic import ValidationError

    from assistant.records import HandoffFilters

    settings = settings_for(store)
    caller = cli_caller(settings, api_key, token, None)
    try:
        filters = HandoffFilters.model_validate(
            {
                "status": status,
                "tier": tier,
                "region": region,
                "partner_id": partner,
                "assignee": assignee,
                "since": since,
                "until": until,
                "limit": limit,
                "offset": offset,
            }
        )
    except ValidationError as exc:
        fail(f"bad filter: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
    page = service_for(settings).list_handoffs(filters, caller=caller)
    if as_json:
        emit_json(
            {"handoffs": [h.model_dump(mode="json") for h in page.items], "total": page.total}
        )
        return
    table = Table("reference", "status", "created", "partner", "assignee", "question")
    for h in page.items:
        who = (
            f"{h.caller.partner_id or h.caller.role} {h.caller.tier or ''} {h.caller.region or ''}"
        )
        table.add_row(
            h.reference, h.status, h.created_at[:19], who.strip(), h.assignee or "", h.question[:70]
        )
    Console().print(table)
    console.print(f"{len(page.items)} of {page.total}")


@handoffs_app.command("show")
def handoffs_show(
    handoff_id: Annotated[str, typer.Argument(help="Hand-off id.")],
    api_key: ApiKeyOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """One hand-off with its evidence and history."""
    settings = settings_for(store)
    caller = cli_caller(settings, api_key, token, None)
    service = service_for(settings)
    _print_handoff(_handoff_failures(lambda: service.get_handoff(handoff_id, caller)), as_json)


@handoffs_app.command("assign")
def handoffs_assign(
    handoff_id: Annotated[str, typer.Argument(help="Hand-off id.")],
    to: Annotated[str | None, typer.Option("--to", help="Who takes it (default: you).")] = None,
    api_key: ApiKeyOpt = None,
    token: TokenOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Take a hand-off, or give it to someone."""
    settings = settings_for(store)
    caller = cli_caller(settings, api_key, token, by)
    service = service_for(settings)
    handoff = _handoff_failures(lambda: service.assign_handoff(handoff_id, caller, assignee=to))
    _print_handoff(handoff, as_json)


@handoffs_app.command("reply")
def handoffs_reply(
    handoff_id: Annotated[str, typer.Argument(help="Hand-off id.")],
    text: Annotated[str, typer.Argument(help="The reply the partner will read.")],
    api_key: ApiKeyOpt = None,
    token: TokenOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Reply to the partner (shown in their conversation and, for Slack, in the thread)."""
    settings = settings_for(store)
    caller = cli_caller(settings, api_key, token, by)
    service = service_for(settings)
    handoff = _handoff_failures(lambda: service.reply_handoff(handoff_id, caller, text))
    if handoff.slack_channel:
        from api.slack import post_manager_reply

        try:
            post_manager_reply(settings, handoff)
        except Exception as exc:  # the reply is stored; say that Slack did not get it
            console.print(f"[yellow]reply stored, but not posted to Slack: {exc}[/yellow]")
    _print_handoff(handoff, as_json)


@handoffs_app.command("close")
def handoffs_close(
    handoff_id: Annotated[str, typer.Argument(help="Hand-off id.")],
    note: Annotated[str, typer.Option(help="Why it is closed.")] = "",
    api_key: ApiKeyOpt = None,
    token: TokenOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Close a hand-off."""
    settings = settings_for(store)
    caller = cli_caller(settings, api_key, token, by)
    service = service_for(settings)
    handoff = _handoff_failures(lambda: service.close_handoff(handoff_id, caller, note=note))
    _print_handoff(handoff, as_json)


@app.command()
def insights(
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="To this date, inclusive.")] = None,
    tier: Annotated[str | None, typer.Option(help="Only partners of this tier.")] = None,
    region: Annotated[str | None, typer.Option(help="Only partners in this region.")] = None,
    language: Annotated[str | None, typer.Option(help="Only questions in this language.")] = None,
    export_topic: Annotated[
        int | None,
        typer.Option("--export-topic", help="Print topic N (0 = largest) as eval JSONL."),
    ] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """What partners ask that the documents do not answer: answer rate per day, gap topics with
    their kind and suggested action, and conversation sentiment."""
    from pydantic import ValidationError

    from assistant.insights import InsightsFilters

    try:
        filters = InsightsFilters.model_validate(
            {"since": since, "until": until, "tier": tier, "region": region, "language": language}
        )
    except ValidationError as exc:
        fail(f"bad filter: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
    service = service_for(settings_for(store))
    if export_topic is not None:
        try:
            sys.stdout.write(service.export_gap(export_topic, filters))
        except LookupError as exc:
            fail(str(exc).strip("'\""), code=1)
        return
    report = service.insights(filters)
    if as_json:
        emit_json(report.model_dump(mode="json"))
        return
    out = Console()
    rate = f"{report.answer_rate:.0%}" if report.answer_rate is not None else "-"
    out.print(
        f"{report.questions} questions, {report.answered} answered ({rate}), "
        f"{report.abstained} abstained, {report.thumbs_down} thumbs down, "
        f"{report.handoffs_requested} hand-offs requested"
    )
    days = Table("day", "questions", "answered", "abstained", "thumbs down", "answer rate")
    for d in report.volume:
        shown = f"{d.answer_rate:.0%}" if d.answer_rate is not None else "-"
        days.add_row(
            d.day, str(d.questions), str(d.answered), str(d.abstained), str(d.thumbs_down), shown
        )
    out.print(days)
    topics = Table("#", "size", "kind", "topic", "terms", "action")
    for n, t in enumerate(report.topics):
        topics.add_row(str(n), str(t.size), t.kind, t.name, ", ".join(t.terms), t.action)
    out.print(topics)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.sentiment.counts.items()))
    out.print(f"sentiment: {counts or 'no conversations'} ({report.sentiment.method})")


# -- partner automations (assistant/rules) ---------------------------------------------------
def _read_model(path: Path, model: Any, what: str) -> Any:
    if not path.is_file():
        fail(f"{what} file {path} does not exist")
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        lines = [line.strip() for line in str(exc).splitlines()[:3]]
        fail(f"{what} {path}: {' '.join(lines)}")


@app.command("check-deal")
def check_deal(
    deal: Annotated[Path, typer.Option("--deal", help="Deal JSON file.")],
    tier: Annotated[str, typer.Option(help="The partner's tier.")],
    region: Annotated[str, typer.Option(help="The partner's region.")],
    as_of: Annotated[str | None, typer.Option(help="Check under the rule in force then.")] = None,
    partner_id: Annotated[
        str | None, typer.Option(help="Partner (conflicts skip its own).")
    ] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Pre-check a deal against the deal-registration rule in force; exit 1 if not eligible."""
    from assistant.rules.deal_registration import Deal
    from assistant.rules.desk import RuleInputError
    from retrieval.access import AccessError

    parsed = _read_model(deal, Deal, "deal")
    settings = settings_for(store)
    caller = caller_from(settings, "partner", tier, region, as_of, partner_id)
    service = service_for(settings)
    try:
        result = service.rules.precheck(parsed, caller)
    except (RuleInputError, AccessError) as exc:
        fail(str(exc))
    if as_json:
        emit_json(result.model_dump(mode="json"))
    else:
        out = Console()
        if result.rule is not None:
            rule = result.rule
            out.print(
                f"rule: {rule.title} ({rule.source}, version {rule.version}, "
                f"effective {rule.effective_date})"
            )
        if result.eligible is None:
            out.print(result.message or "no structured rule")
        else:
            out.print("eligible" if result.eligible else "NOT eligible")
        for check in result.checks:
            mark = "ok  " if check.ok else "FAIL"
            out.print(f"  {mark} {check.id}: {check.detail} [{check.citation.label()}]")
        for key in ("protection_days", "extension_days", "approval_business_days"):
            out.print(f"  {key}: {getattr(result, key)}")
        for conflict in result.conflicts:
            out.print(f"  conflict: {conflict.registration_id} {conflict.status}")
    if not result.eligible:
        raise typer.Exit(1)


registrations_app = typer.Typer(
    help="Deal registrations: list them, approve or reject (channel managers).",
    no_args_is_help=True,
)
app.add_typer(registrations_app, name="registrations")


def _registration_store(store: Path | None):  # noqa: ANN202
    from assistant.records import RecordStore
    from assistant.registrations import RegistrationStore

    return RegistrationStore(RecordStore.from_settings(settings_for(store)).engine)


def _print_registrations(items: list, as_json: bool) -> None:
    if as_json:
        emit_json({"registrations": [r.model_dump(mode="json") for r in items]})
        return
    table = Table(
        "id", "partner", "customer", "value", "kind", "status", "conflict", "protected until"
    )
    for r in items:
        value = f"{r.deal.first_year_value} {r.deal.currency}" if r.deal.currency else "-"
        table.add_row(
            r.id[:12],
            r.partner_id,
            r.deal.customer,
            value,
            r.deal.kind,
            r.status,
            "yes" if r.conflict else "",
            str(r.protected_until or ""),
        )
    Console().print(table)


@registrations_app.command("list")
def registrations_list(
    partner: Annotated[str | None, typer.Option(help="Only this partner's.")] = None,
    status: Annotated[str | None, typer.Option(help="pending, approved or rejected.")] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Registrations, newest first."""
    if status not in (None, "pending", "approved", "rejected"):
        fail("--status must be pending, approved or rejected")
    items = _registration_store(store).find(partner_id=partner, status=status)  # type: ignore[arg-type]
    _print_registrations(items, as_json)


def _decide(
    registration_id: str, approve: bool, note: str, by: str, as_json: bool, store: Path | None
) -> None:
    from assistant.records import RecordNotFound
    from assistant.registrations import DecisionError

    registrations = _registration_store(store)
    matches = [r.id for r in registrations.find() if r.id.startswith(registration_id)]
    if len(matches) != 1:
        fail(f"no single registration starts with {registration_id!r}", 1)
    try:
        decided = registrations.decide(matches[0], approve, by, note)
    except (RecordNotFound, DecisionError) as exc:
        fail(str(exc), 1)
    _print_registrations([decided], as_json)


@registrations_app.command("approve")
def registrations_approve(
    registration_id: Annotated[str, typer.Argument(help="Id (or a unique prefix).")],
    note: Annotated[str, typer.Option(help="Note for the partner.")] = "",
    by: Annotated[str, typer.Option(help="Who decides.")] = "channel_manager",
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Approve a pending registration; its protection period starts today."""
    _decide(registration_id, True, note, by, as_json, store)


@registrations_app.command("reject")
def registrations_reject(
    registration_id: Annotated[str, typer.Argument(help="Id (or a unique prefix).")],
    note: Annotated[str, typer.Option(help="Why, for the partner.")] = "",
    by: Annotated[str, typer.Option(help="Who decides.")] = "channel_manager",
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Reject a pending registration."""
    _decide(registration_id, False, note, by, as_json, store)


@app.command()
def onboarding(
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Onboarding profile JSON file.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Progress on this date (default today).")
    ] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Keep the profile for time-to-first-deal figures.")
    ] = False,
    distribution: Annotated[
        bool,
        typer.Option("--distribution", help="Time to first deal across saved profiles."),
    ] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Onboarding progress: done, due and overdue steps, the next step, time to first deal."""
    from assistant.rules.onboarding import OnboardingProfile, time_to_first_deal
    from retrieval.access import AccessError

    if distribution:
        registrations = _registration_store(store)
        joined = {p.partner_id: p.joined for p in registrations.list_profiles()}
        stats = time_to_first_deal(joined, registrations.first_registration_dates())
        if as_json:
            emit_json(stats.model_dump(mode="json"))
            return
        Console().print(
            f"partners {stats.partners}, with a first deal {stats.with_first_deal}; days to first "
            f"deal min {stats.min_days}, median {stats.median_days}, mean {stats.mean_days}, "
            f"max {stats.max_days}"
        )
        return
    if profile is None:
        fail("give --profile FILE (or --distribution)")
        return
    parsed = _read_model(profile, OnboardingProfile, "profile")
    settings = settings_for(store)
    caller = caller_from(settings, "partner", parsed.tier, parsed.region, as_of, parsed.partner_id)
    service = service_for(settings)
    try:
        result = service.rules.onboarding(parsed, caller, save=save)
    except AccessError as exc:
        fail(str(exc))
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    out = Console()
    if result.rule is not None:
        out.print(
            f"rule: {result.rule.title} ({result.rule.source}, version {result.rule.version})"
        )
    if result.message:
        out.print(result.message)
    table = Table("step", "status", "due", "training", "cited")
    for step in result.steps:
        course = f"{step.course.id} {step.course.title}".strip() if step.course else ""
        table.add_row(step.title, step.status, str(step.due_date), course, step.citation.label())
    out.print(table)
    out.print(f"next step: {result.next_step or 'none'}")
    ttfd = result.time_to_first_deal_days
    out.print(f"time to first deal: {f'{ttfd} days' if ttfd is not None else 'no deal yet'}")


def check_slack(settings: Settings, socket_mode: bool) -> None:
    """A partial Slack configuration fails here, in one line, before anything starts."""
    from api.slack_config import (
        SlackConfigError,
        check_http,
        check_socket_mode,
        http_endpoint_wanted,
    )

    try:
        if socket_mode:
            check_socket_mode(settings.slack)
        elif http_endpoint_wanted(settings.slack):
            check_http(settings.slack)
    except SlackConfigError as exc:
        fail(str(exc))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    store: StoreOpt = None,
) -> None:
    """Run the API, the portal widget demo page and the Slack endpoint with uvicorn."""
    settings = settings_for(store)
    check_slack(settings, socket_mode=False)
    from api.server import serve as run_server

    run_server(settings, host=host, port=port, workers=workers)


@app.command()
def slack(store: StoreOpt = None) -> None:
    """Run the Slack bot on its own in Socket Mode: one connection to Slack, no public URL and
    no signing secret (needs PA_SLACK_BOT_TOKEN and PA_SLACK_APP_TOKEN)."""
    settings = settings_for(store)
    check_slack(settings, socket_mode=True)
    from api.slack import run_socket_mode

    with busy("Loading the knowledge base…", show=True):
        service = service_for(settings)
    console.print("Slack bot running in Socket Mode; Ctrl-C stops it.")
    with suppress(KeyboardInterrupt):
        run_socket_mode(settings, service)


# -- the record store's database -------------------------------------------------------------
db_app = typer.Typer(
    help="The record store's database (PA_DB_URL): its schema revision, and migrating it.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _with_database(action: Any) -> Any:
    """Run ``action(engine, shown_url)`` on the configured database, with clear failures."""
    from alembic.util import CommandError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from assistant.schema import SchemaOutOfDate, engine_for

    url = settings_for().db.url
    shown = make_url(url).render_as_string(hide_password=True)
    engine = engine_for(url)
    try:
        return action(engine, shown)
    except DBAPIError as exc:  # unreachable, or a migration failed (and was rolled back)
        fail(f"{shown}: {exc.orig}")
    except (SchemaOutOfDate, CommandError, ValueError) as exc:
        fail(str(exc), code=1)
    finally:
        engine.dispose()


@db_app.command("current")
def db_current(as_json: JsonOpt = False) -> None:
    """The database's schema revision and the one this version needs (exit 1 when behind)."""
    from assistant.schema import head_revision, schema_revision

    current, shown = _with_database(lambda engine, shown: (schema_revision(engine), shown))
    head = head_revision()
    if as_json:
        emit_json(
            {"database": shown, "current": current, "head": head, "up_to_date": current == head}
        )
    else:
        state_text = (
            "up to date" if current == head else "behind: run `partner-assistant db upgrade`"
        )
        Console().print(
            f"{shown}: revision {current or 'none (empty)'}, this version needs {head} ({state_text})",
            highlight=False,
            soft_wrap=True,
        )
    if current != head:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[
        str, typer.Option(help="The revision to migrate to (default: this version's head).")
    ] = "head",
    as_json: JsonOpt = False,
) -> None:
    """Migrate the database to this version's schema (what the API does on start when
    PA_DB_AUTO_MIGRATE is on). A database made before migrations keeps its rows."""
    from assistant.schema import schema_revision, upgrade_schema

    def upgrade(engine: Any, shown: str) -> tuple[str | None, str, str]:
        return schema_revision(engine), upgrade_schema(engine, revision), shown

    before, after, shown = _with_database(upgrade)
    if as_json:
        emit_json({"database": shown, "from": before, "to": after})
        return
    done = (
        f"upgraded from {before or 'none (empty)'} to {after}"
        if before != after
        else f"already at {after}"
    )
    Console().print(f"{shown}: {done}", highlight=False, soft_wrap=True)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="The revision to go back to, e.g. 0001.")],
    as_json: JsonOpt = False,
) -> None:
    """Migrate the database back to an older revision, before running an older version on it."""
    from assistant.schema import downgrade_schema, schema_revision

    def downgrade(engine: Any, shown: str) -> tuple[str | None, str, str]:
        return schema_revision(engine), downgrade_schema(engine, revision), shown

    before, after, shown = _with_database(downgrade)
    if as_json:
        emit_json({"database": shown, "from": before, "to": after or None})
        return
    Console().print(
        f"{shown}: downgraded from {before} to {after or 'none (empty)'}",
        highlight=False,
        soft_wrap=True,
    )


# -- plug-ins: command groups of the layers above (evals) -----------------------------------
# The eval commands live in evals/cli.py; they register through the ``partner_assistant.cli``
# entry-point group, so the channel layer never imports the layer above it. They are added when
# the command line starts (`run`), not on import, so evals/cli.py can import this module.
_plugins_registered = False


def register_plugins() -> None:
    """Add the command groups other installed layers declare (idempotent)."""
    global _plugins_registered
    if _plugins_registered:
        return
    _plugins_registered = True
    for entry in package_metadata.entry_points(group="partner_assistant.cli"):
        try:
            sub_app = entry.load()
        except ImportError as exc:  # a plug-in whose dependencies are missing is left out
            print(f"partner-assistant: {entry.name!r} commands unavailable: {exc}", file=sys.stderr)
            continue
        app.add_typer(sub_app, name=entry.name)


def run() -> None:
    """The ``partner-assistant`` entry point: every command group, then the command line."""
    register_plugins()
    app(prog_name="partner-assistant")
