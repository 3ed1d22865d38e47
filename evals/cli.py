"""The ``partner-assistant evals …`` commands: retrieval benchmarks and the answer-quality suite.

They register with the CLI through the ``partner_assistant.cli`` entry-point group (see
pyproject.toml), so the channel layer (``api/cli.py``) never imports this layer above it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.cli import JsonOpt, StoreOpt, console, emit_json, fail, knowledge_base, settings_for
from assistant.settings import get_settings

evals_app = typer.Typer(
    help="Retrieval benchmarks and the answer-quality suite.", no_args_is_help=True
)


@evals_app.command("retrieval")
def evals_retrieval(
    beir: Annotated[
        Path | None, typer.Option("--beir", help="A BEIR folder (corpus, queries, qrels).")
    ] = None,
    golden: Annotated[
        bool, typer.Option("--golden", help="Our golden set over data/ instead.")
    ] = False,
    mode: Annotated[
        list[str] | None, typer.Option("--mode", help="dense, lexical, hybrid.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N queries.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Retrieval metrics: a BEIR dataset ingested into a throwaway store (nDCG@10, recall@10/100,
    MRR@10), or our golden set over the sample corpus (recall@5, MRR@10)."""
    modes = tuple(mode or ("dense", "lexical", "hybrid"))
    if golden:
        from evals.golden_retrieval import run_golden_retrieval

        settings = settings_for(store)
        kb = knowledge_base(settings)
        kb.ingest([settings.data_dir], sync=True)
        result = run_golden_retrieval(kb, modes=modes)
        if as_json:
            emit_json(result)
            return
        table = Table("mode", "recall@1", "recall@5", "recall@10", "MRR@10", "nDCG@10")
        for name, m in result["modes"].items():
            table.add_row(
                name,
                *(
                    f"{m[k]:.3f}"
                    for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
                ),
            )
        Console().print(f"golden set: {result['answerable']} answerable of {result['items']} items")
        Console().print(table)
        return
    from evals.beir_retrieval import format_table, run_beir

    if beir is None or not beir.is_dir():
        fail("give --beir DIR (a BEIR folder) or --golden")
    try:
        result = run_beir(
            beir, modes=modes, store_dir=store, limit_queries=limit, settings=get_settings()
        )
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        emit_json(result)
    else:
        Console().print(format_table(result))


@evals_app.command("run")
def evals_run(
    suite: Annotated[
        str,
        typer.Option(
            "--suite",
            help="partner_qa, channel_manager, training, drafting, golden, all, conditionalqa, "
            "brightmere (a second vendor's corpus, own store), ci.",
        ),
    ] = "ci",
    limit: Annotated[int | None, typer.Option("--limit")] = None,
    judge: Annotated[str, typer.Option("--judge", help="none, local or openai.")] = "none",
    out: Annotated[Path | None, typer.Option("--out", help="Report folder.")] = None,
    gate: Annotated[
        bool, typer.Option("--gate", help="Fail on the thresholds in evals/thresholds.yaml.")
    ] = False,
    extractive: Annotated[
        bool,
        typer.Option(
            "--extractive", help="Answer with the extractive path (no model; ci always does)."
        ),
    ] = False,
    store: StoreOpt = None,
) -> None:
    """Run the real assistant over a golden dataset and write a report (JSON, Markdown, PNG)."""
    from evals.report import check_thresholds
    from evals.suite import EvalError, load_thresholds, run_suite

    settings = settings_for(store)
    try:
        report = run_suite(
            settings,
            suite=suite,
            limit=limit,
            judge=judge,
            out_dir=out,
            use_model=not extractive,
        )
    except EvalError as exc:
        fail(str(exc))
    if gate:
        failures = check_thresholds(report, load_thresholds())
        for failure in failures:
            console.print(f"[red]gate:[/red] {failure}")
        if failures:
            raise typer.Exit(1)
        console.print("[green]gate: all thresholds met[/green]")
