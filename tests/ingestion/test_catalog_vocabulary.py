"""Vendor vocabularies in the training catalog, and ``superseded_by`` naming a title."""

from datetime import date
from pathlib import Path

import pytest

from ingestion.catalog_vocabulary import LEVEL_RANKS, level_rank
from ingestion.documents import LoadError
from ingestion.loaders import load_file
from ingestion.metadata import resolve_replacement
from ingestion.settings import AccessSettings
from retrieval.access import superseded_as_of
from tests.helpers import write

VENDOR_CSV = (
    "id,title,level,role,format,duration,tiers,regions\n"
    "BA-1,Selling with Brightmere,Associate,Seller;Partner Sales Leader,On-demand,3 hours,,\n"
    "BA-2,Sentinel Deployment,Professional,Solution Engineer,Live online,3 days,elite,apj\n"
    "BA-3,Threat Hunting,Masterclass,Security Analyst,Hands-on lab,8 hours,,\n"
)


def test_vendor_levels_formats_and_roles_are_kept_as_written():
    docs = load_file(Path("academy.csv"), "academy.csv", VENDOR_CSV.encode())
    records = [d.raw_metadata["_record"] for d in docs]
    assert [r["level"] for r in records] == ["Associate", "Professional", "Masterclass"]
    assert [r["format"] for r in records] == ["On-demand", "Live online", "Hands-on lab"]
    assert records[0]["role"] == ["Seller", "Partner Sales Leader"]
    assert records[1]["duration"] == "3 days"
    assert "Duration: 3 days" in docs[1].blocks[0].text
    assert "Level: Professional" in docs[1].blocks[0].text


def test_known_synonyms_are_ranked_and_unknown_levels_warn_without_failing():
    docs = load_file(Path("academy.csv"), "academy.csv", VENDOR_CSV.encode())
    ranks = [d.raw_metadata["_record"]["level_rank"] for d in docs]
    assert ranks == [1, 2, None]
    assert docs[0].warnings == [] and docs[1].warnings == []
    (warning,) = docs[2].warnings
    assert "BA-3" in warning and "'Masterclass'" in warning and "catalog_vocabulary" in warning


def test_level_rank_orders_common_vendor_ladders():
    assert level_rank("Foundational") < level_rank("Associate") < level_rank("Professional")
    assert level_rank("Professional") < level_rank(" EXPERT ")
    assert level_rank("entry") < level_rank("Intermediate") < level_rank("Advanced")
    assert level_rank("Specialty") == LEVEL_RANKS["advanced"]
    assert level_rank("") is None and level_rank("Masterclass") is None


def test_a_level_rank_in_the_record_is_ignored():
    csv_text = "id,title,level,level_rank\nX1,Course,Associate,3\n"
    (doc,) = load_file(Path("c.csv"), "c.csv", csv_text.encode())
    assert doc.raw_metadata["_record"]["level_rank"] == 1


def test_wrong_types_still_fail_with_the_field_name():
    with pytest.raises(LoadError, match="duration_hours"):
        load_file(Path("c.csv"), "c.csv", b"id,title,duration_hours\nX1,Course,three\n")


def test_access_fields_of_courses_stay_strict(settings, kb_factory, tmp_path):
    """An unknown tier in a course fails that file; unknown levels only warn."""
    settings = settings.model_copy(
        update={
            "access": AccessSettings(
                tiers=["authorized", "select", "premier", "elite"],
                regions=["amer", "emea", "apj"],
            )
        }
    )
    root = tmp_path / "kb"
    write(root / "manifest.yaml", "defaults:\n  doc_type: training\n")
    write(root / "good.csv", VENDOR_CSV)
    write(root / "bad.csv", "id,title,level,tiers\nZ1,Course,Associate,platinum\n")
    summary = kb_factory(settings).ingest([root])
    assert summary.files_indexed == 1
    (failed,) = summary.files_failed
    assert failed["path"].endswith("bad.csv") and "unknown tier 'platinum'" in failed["error"]
    (warning,) = summary.warnings
    assert warning.startswith("good.csv: course BA-3") and "Masterclass" in warning


class _Record:
    def __init__(self, title, superseded_by=None, effective_date=None):
        self.metadata = {
            "title": title,
            "superseded_by": superseded_by,
            "effective_date": effective_date,
        }


def test_superseded_by_may_name_the_replacement_by_title():
    docs = {
        "old.md": _Record("Deal Policy 2024", superseded_by="deal policy  2026"),
        "new.pdf": _Record("Deal Policy 2026", effective_date="2026-01-01"),
    }
    assert resolve_replacement("deal policy  2026", docs, "old.md").doc_id == "new.pdf"
    assert resolve_replacement("new.pdf", docs).doc_id == "new.pdf"
    # Before the replacement's effective date the old rule is in force, after it is not.
    assert superseded_as_of(docs, date(2025, 6, 1)) == set()
    assert superseded_as_of(docs, date(2026, 6, 1)) == {"old.md"}


def test_an_ambiguous_title_counts_as_superseded_now():
    docs = {
        "old.md": _Record("Policy 2024", superseded_by="Policy 2026"),
        "a.md": _Record("Policy 2026", effective_date="2027-01-01"),
        "b.md": _Record("Policy 2026", effective_date="2027-01-01"),
    }
    found = resolve_replacement("Policy 2026", docs, "old.md")
    assert found.doc_id is None and found.ambiguous == ("a.md", "b.md")
    assert superseded_as_of(docs, date(2026, 6, 1)) == {"old.md"}


def test_ingest_resolves_titles_and_warns_on_ambiguity(settings, kb_factory, tmp_path):
    root = tmp_path / "kb"
    head = "---\ntitle: {title}\ndoc_type: program_rule\n{extra}---\n# {title}\n\n{body}\n"
    write(root / "old.md", head.format(title="Rules 2024", extra="superseded_by: Rules 2026\n",
                                       body="Deals are protected for 90 days."))  # fmt: skip
    write(root / "new.md", head.format(title="Rules 2026", extra="effective_date: 2026-01-01\n",
                                       body="Deals are protected for 120 days."))  # fmt: skip
    summary = kb_factory(settings).ingest([root])
    assert summary.files_indexed == 2 and summary.warnings == []
    write(root / "copy.md", head.format(title="Rules 2026", extra="", body="A copy."))
    summary = kb_factory(settings).ingest([root])
    (warning,) = summary.warnings
    assert warning.startswith("old.md: superseded_by 'Rules 2026' is the title of several")
    assert "copy.md, new.md" in warning


def test_empty_csv_list_cells_are_empty_lists_and_access_cells_mean_everyone():
    csv_text = "id,title,prerequisites,role,tiers,regions\nE1,Course,,,,\n"
    (doc,) = load_file(Path("c.csv"), "c.csv", csv_text.encode())
    record = doc.raw_metadata["_record"]
    assert record["prerequisites"] == [] and record["role"] == []
    assert "tiers" not in doc.raw_metadata and "regions" not in doc.raw_metadata
