"""Where document ids start: the knowledge-base root, whatever path an ingest is given."""

import pytest

from ingestion.documents import LoadError
from ingestion.kb_root import knowledge_base_root
from tests.helpers import DATA, write


def test_a_subfolder_of_the_sample_data_resolves_to_the_data_folder():
    assert knowledge_base_root(DATA / "program") == DATA.resolve()
    assert knowledge_base_root(DATA / "products" / "flow" / "faq.md") == DATA.resolve()
    assert knowledge_base_root(DATA) == DATA.resolve()


def test_the_chain_of_manifests_stops_at_the_first_folder_without_one(tmp_path):
    write(tmp_path / "manifest.yaml", "defaults: {}\n")  # above a gap: not part of the chain
    write(tmp_path / "docs" / "kb" / "manifest.yaml", "defaults: {}\n")
    write(tmp_path / "docs" / "kb" / "a" / "b" / "x.md", "# X\n")

    assert knowledge_base_root(tmp_path / "docs" / "kb" / "a" / "b") == tmp_path / "docs" / "kb"


def test_without_a_manifest_the_default_then_the_folder_given(tmp_path):
    write(tmp_path / "inbox" / "sub" / "x.md", "# X\n")

    assert knowledge_base_root(tmp_path / "inbox" / "sub", default=tmp_path / "inbox") == (
        tmp_path / "inbox"
    )
    assert knowledge_base_root(tmp_path / "inbox" / "sub") == tmp_path / "inbox" / "sub"
    assert knowledge_base_root(tmp_path / "inbox" / "sub" / "x.md") == tmp_path / "inbox" / "sub"


def test_the_setting_wins_and_a_path_outside_it_is_an_error(tmp_path):
    write(tmp_path / "kb" / "manifest.yaml", "defaults: {}\n")
    write(tmp_path / "kb" / "sub" / "x.md", "# X\n")
    write(tmp_path / "elsewhere" / "y.md", "# Y\n")

    assert knowledge_base_root(tmp_path / "kb" / "sub", configured=tmp_path) == tmp_path
    with pytest.raises(LoadError, match="outside the knowledge-base root"):
        knowledge_base_root(tmp_path / "elsewhere", configured=tmp_path / "kb")
