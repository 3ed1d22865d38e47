"""The second evaluation corpus (Brightmere): its PDF is reproducible, its questions hold against
its text (and the checker catches items that do not), it ingests with its own vocabulary, and
its suite runs in a throwaway store without touching the product's store or database."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from evals.vendor_suite import VENDOR_CORPORA, breakdown, language_scores, load_items

ROOT = Path(__file__).resolve().parents[2]
CORPUS = VENDOR_CORPORA["brightmere"]


def _load_script(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_pdf_rebuilds_byte_identically(tmp_path):
    build = _load_script(CORPUS.folder / "build_pdfs.py", "brightmere_build_pdfs")
    (written,) = build.main(tmp_path)
    committed = CORPUS.folder / written.relative_to(tmp_path)
    assert written.read_bytes() == committed.read_bytes()


def test_check_dataset_script_passes_on_the_committed_dataset():
    done = subprocess.run(
        [sys.executable, "evals/corpora/check_dataset.py", "brightmere"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 problem(s)" in done.stdout


def test_dataset_covers_every_kind_and_four_other_languages():
    items = load_items(CORPUS)
    kinds = {item["kind"] for item in items}
    assert {"table", "price", "sla", "near_miss", "access_denied", "superseded", "follow_up",
            "injection", "multilingual", "cross_lingual", "paraphrase"} <= kinds  # fmt: skip
    for language in ("de", "es", "fr", "ja"):
        assert sum(i["answer_language"] == language for i in items) >= 4, language
    german_only = [
        i for i in items if i["gold_sources"] == ["regional/dach-partner-addendum-de.md"]
    ]
    assert any(i["answer_language"] == "en" for i in german_only)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda i: i["id"] == "bm018" and i.update(key_facts=["31%"]), "bm018: cell"),
        (lambda i: i["id"] == "bm003" and i.update(key_facts=["190 days"]), "bm003: key fact"),
        (
            lambda i: i["id"] == "bm055" and i.update(caller={**i["caller"], "tier": "elite"}),
            "bm055: denied source program/elite-partner-benefits.md IS visible",
        ),
        (
            lambda i: i["id"] == "bm001" and i.update(caller={**i["caller"], "tier": "gold"}),
            "bm001: tier 'gold'",
        ),  # fmt: skip
        (
            lambda i: (
                i["id"] == "bm064" and i.update(caller={**i["caller"], "as_of": "2026-06-01"})
            ),
            "bm064: gold source program/deal-registration-policy-2024.md is not visible",
        ),
    ],
)
def test_checker_catches_items_that_do_not_hold(tmp_path, edit, expected):
    checker = _load_script(ROOT / "evals/corpora/check_dataset.py", "check_dataset")
    lines = CORPUS.dataset.read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    for item in items:
        edit(item)
    dataset = tmp_path / "brightmere_qa.jsonl"
    dataset.write_text("\n".join(json.dumps(i) for i in items) + "\n", encoding="utf-8")
    problems = checker.check_items(replace(CORPUS, dataset=dataset))
    assert any(p.startswith(expected) for p in problems), problems


def test_language_scores_and_breakdown():
    de = {"answer_language": "de"}
    assert (
        language_scores(de, "Logs werden standardmäßig 180 Tage aufbewahrt [1].")[
            "answer_language_correct"
        ]
        == 1.0
    )
    assert (
        language_scores(de, "Logs are kept for 180 days by default [1].")["answer_language_correct"]
        == 0.0
    )
    # The cited source's own title does not count: an English answer citing a German-titled
    # addendum is English (with the title it reads as German).
    en_item = {"answer_language": "en"}
    title = "PartnerLink Zusatzvereinbarung DACH für Österreich und die Schweiz"
    english = f"Elbtal Distribution [1] (Source: {title})."
    assert language_scores(en_item, english)["detected_language"] == "de"
    assert language_scores(en_item, english, [title])["detected_language"] == "en"
    rows = [
        {"kind": "table", "answerable": True, "abstained": False, "access_violations": 0,
         "key_fact_recall": 1.0, "confidently_wrong": 0.0},
        {"kind": "table", "answerable": True, "abstained": False, "access_violations": 0,
         "key_fact_recall": 0.0, "confidently_wrong": 1.0},
        {"kind": "near_miss", "answerable": False, "abstained": True, "access_violations": 0},
    ]  # fmt: skip
    figures = breakdown(rows, "kind")
    assert figures["table"]["key_fact_recall"] == 0.5
    assert figures["table"]["confidently_wrong"] == 0.5
    assert figures["near_miss"]["abstain_recall"] == 1.0


def test_corpus_ingests_with_its_own_vocabulary_only(settings, kb_factory):
    from retrieval.settings import StoreSettings

    default_vocabulary = kb_factory(settings).ingest([CORPUS.folder])
    failed = {Path(f["path"]).name for f in default_vocabulary.files_failed}
    assert "elite-partner-benefits.md" in failed and "apj-partner-addendum.md" in failed

    own = settings.model_copy(
        update={
            "access": CORPUS.access,
            "store": StoreSettings(dir=settings.store.dir.parent / "own", collection="own"),
        }
    )
    kb = kb_factory(own)
    summary = kb.ingest([CORPUS.folder])
    assert summary.files_failed == [] and summary.files_indexed == 21
    (warning,) = summary.warnings  # the one catalog level without a rank
    assert "BA-SEN-HNT" in warning and "'Masterclass'" in warning

    # the recommender reads the vendor's catalog and never offers a course the partner may not
    # take (completed, another level's or region's)
    from assistant.models import PartnerProfile
    from assistant.service import build_service
    from evals.vendor_suite import load_training_cases

    service = build_service(own, kb=kb)
    offered = set()
    for case in load_training_cases(CORPUS):
        recs = service.recommend_training(PartnerProfile.model_validate(case["profile"]))
        ids = {r.course_id for r in recs}
        assert not ids & set(case["must_not"]), (case["id"], ids)
        offered |= ids
    assert offered, "the vendor catalog gave no recommendation at all"


@pytest.mark.slow
def test_suite_runs_in_a_throwaway_store_and_database(tmp_path, settings):
    """Extractive path on a few items: the report has the figures, the product's store and app
    database are never created."""
    from evals import vendor_suite
    from evals.suite import run_suite

    ids = ["bm018", "bm055", "bm083"]
    report = vendor_suite.run_vendor_suite(settings, "brightmere", use_model=False, item_ids=ids)
    assert not settings.store.dir.exists()
    assert not Path(settings.db.url.removeprefix("sqlite:///")).exists()
    body = report["suites"]["brightmere"]
    assert [row["id"] for row in body["items"]] == ids
    assert not any("error" in row for row in body["items"])
    aggregate = report["aggregate"]
    for metric in ("key_fact_recall", "confidently_wrong", "abstain_recall", "access_violations",
                   "citation_validity", "answer_language_accuracy_de"):  # fmt: skip
        assert f"brightmere.{metric}" in aggregate, metric
    assert set(body["breakdown"]["kind"]) == {"table", "access_denied", "multilingual"}
    assert set(body["breakdown"]["language"]) == {"de"}
    assert body["ingest"]["files_failed"] == []
    # the CLI path writes a report folder
    out = run_suite(settings, "brightmere", limit=1, out_dir=tmp_path / "out", use_model=False)
    assert (tmp_path / "out" / "summary.md").is_file() and out["suite"] == "brightmere"


@pytest.mark.slow
def test_ci_gate_answers_vendor_items_from_their_own_store(monkeypatch, sample_kb, sample_settings):
    """The ci runner sends the brightmere items to the vendor suite (own store, own vocabulary)
    and gates only its leaks and injected text."""
    from assistant.llm import ScriptedChatModel
    from assistant.service import build_service
    from evals import suite
    from evals.report import check_thresholds

    subset = {
        "partner_qa": suite.load_dataset("partner_qa")[:1],
        "brightmere": [i for i in load_items(CORPUS) if i["id"] == "bm055"],
    }
    monkeypatch.setattr(suite, "ci_items", lambda: {k: list(v) for k, v in subset.items()})
    model = ScriptedChatModel(lambda messages: "", name="scripted-empty")
    service = build_service(sample_settings, chat_model=model, kb=sample_kb)
    report = suite._run_golden(sample_settings, "ci", None, "none", model, service, None)
    assert set(report["suites"]) == {"partner_qa", "brightmere"}
    (row,) = report["suites"]["brightmere"]["items"]
    assert row["id"] == "bm055" and row["abstained"] and row["access_violations"] == 0
    gate = suite.load_thresholds()["ci"]["thresholds"]
    vendor_gate = {k: v for k, v in gate.items() if k.startswith("brightmere.")}
    assert set(vendor_gate) == {"brightmere.access_violations", "brightmere.injection_resisted"}
    assert check_thresholds(report, {"brightmere.access_violations": {"max": 0}}) == []
