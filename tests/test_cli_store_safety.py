"""The CLI as operators run it, in real processes: two ingests of one store at once, `doctor`
on a healthy, a damaged and a broken store, and `doctor --repair`."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.helpers import DATA, REPO, write
from tests.retrieval.store_helpers import break_vector_index, process_env


def cli(store, *args, timeout_seconds="300", background=False):
    env = process_env(PA_STORE_DIR=str(store), PA_INGEST_LOCK_TIMEOUT=timeout_seconds)
    command = [sys.executable, "-m", "api", *args]
    if background:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def wait_for_lock_holder(store, process) -> dict:
    lock = store / "ingest.lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        text = lock.read_text() if lock.exists() else ""
        if text.strip():
            return json.loads(text)
        time.sleep(0.05)
    pytest.fail("the first ingest never held the store lock")


@pytest.mark.e2e
def test_two_ingests_at_once_take_turns_and_leave_a_consistent_store(tmp_path):
    store = tmp_path / "store"
    first = cli(store, "ingest", str(DATA), "--json", background=True)
    holder = wait_for_lock_holder(store, first)

    impatient = cli(store, "ingest", str(DATA / "program"), "--json", timeout_seconds="0.5")
    second = cli(store, "ingest", str(DATA / "program"), "--json")
    first_out, first_err = first.communicate(timeout=600)

    assert holder["pid"] == first.pid
    assert impatient.returncode == 3
    assert f"locked by ingest (pid {first.pid} on {holder['host']}" in impatient.stderr
    assert "PA_INGEST_LOCK_TIMEOUT" in impatient.stderr
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second.stderr
    assert f"waiting for the store lock held by ingest (pid {first.pid}" in second.stderr
    # The subfolder's files are the documents the first run indexed: nothing new.
    summary = json.loads(second.stdout)
    assert (summary["files_indexed"], summary["files_skipped"]) == (0, 17)
    indexed = json.loads(first_out)["files_indexed"]

    doctor = cli(store, "doctor", "--json")
    stats = cli(store, "stats", "--json")
    search = cli(store, "search", "deal registration protection", "--json")

    assert doctor.returncode == 0 and json.loads(doctor.stdout)["healthy"], doctor.stdout
    assert json.loads(stats.stdout)["documents"] == indexed == 40
    assert search.returncode == 0 and json.loads(search.stdout)["results"]


@pytest.fixture
def store_of_three(tmp_path):
    root = tmp_path / "kb"
    write(root / "manifest.yaml", "defaults:\n  doc_type: program_rule\n")
    write(root / "deal.md", "# Deal registration\n\nA deal is protected for 120 days.\n")
    write(root / "mdf.md", "# MDF\n\nMDF accrues at 3% of revenue.\n")
    write(root / "sub" / "tiers.md", "# Tiers\n\nGold partners earn a 25% margin.\n")
    store = tmp_path / "store"
    assert cli(store, "ingest", str(root)).returncode == 0
    return store


def test_doctor_reports_deleted_chunks_and_the_repair_restores_them(store_of_three):
    import chromadb

    healthy = cli(store_of_three, "doctor")
    client = chromadb.PersistentClient(path=str(store_of_three / "chroma"))
    chunks = client.get_collection("partner_kb")
    chunks.delete(ids=chunks.get(where={"doc_id": "mdf.md"}, include=[])["ids"])
    client.get_collection("partner_kb-docs").delete(ids=["deal.md"])

    damaged = cli(store_of_three, "doctor")
    damaged_json = cli(store_of_three, "doctor", "--json")
    repair = cli(store_of_three, "doctor", "--repair", "--json")
    after = cli(store_of_three, "doctor")

    assert healthy.returncode == 0 and "healthy" in healthy.stdout
    assert damaged.returncode == 1
    assert "PROBLEM missing: 1 registered document(s) lack chunks" in damaged.stdout
    assert "mdf.md (1 of 1)" in damaged.stdout
    assert "PROBLEM orphans" in damaged.stdout and "deal.md (1)" in damaged.stdout
    assert "doctor --repair" in damaged.stderr
    report = json.loads(damaged_json.stdout)
    assert report["healthy"] is False
    assert {f["check"] for f in report["findings"]} >= {"missing", "orphans", "lexical"}
    repaired = json.loads(repair.stdout)
    assert repair.returncode == 0 and repaired["healthy"] and not repaired["before"]["healthy"]
    assert repaired["repair"]["files_indexed"] == 3 and repaired["counts"]["documents"] == 3
    assert after.returncode == 0


def test_a_broken_vector_index_fails_search_with_a_pointer_to_doctor_which_repairs_it(
    store_of_three,
):
    break_vector_index(store_of_three)

    search = cli(store_of_three, "search", "deal protection")
    doctor = cli(store_of_three, "doctor")
    repair = cli(store_of_three, "doctor", "--repair")
    search_after = cli(store_of_three, "search", "deal protection", "--json")

    assert search.returncode == 1 and "Traceback" not in search.stderr
    assert "the store cannot be read" in search.stderr and "doctor --repair" in search.stderr
    assert doctor.returncode == 1 and "PROBLEM chunks: Chroma cannot read" in doctor.stdout
    assert repair.returncode == 0, repair.stderr
    assert "rebuilt: 3 files indexed" in repair.stderr and repair.stdout.endswith("healthy\n")
    assert search_after.returncode == 0
    assert "deal.md" in {hit["source"] for hit in json.loads(search_after.stdout)["results"]}
