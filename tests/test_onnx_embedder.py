"""The ONNX runtime of the bundled models (MiniLM, MPNet): same vectors as
sentence-transformers, and the query path that uses it does not import torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_settings

from rag.embeddings import SentenceTransformerEmbedder, make_embedder
from rag.onnx_embedder import OnnxEmbedder, onnx_path, weights_path
from rag.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _texts() -> list[str]:
    rows = [json.loads(x) for x in (PROJECT_ROOT / "eval" / "datasets" / "dev.jsonl").read_text().splitlines() if x.strip()]
    texts = [r["question"] for r in rows[:60]] + [r["reference_answer"] for r in rows[:30]]
    seed = sorted((PROJECT_ROOT / "data" / "seeds").glob("*.txt"))[0].read_text(encoding="utf-8")
    return texts + [seed[:4000], "", "a", "ß ü 日本語 — emoji 🙂", "x " * 600] + [t.upper() for t in texts[:5]]


@pytest.mark.parametrize(("model", "dim"), [("all-MiniLM-L6-v2", 384), ("all-mpnet-base-v2", 768)])
def test_onnx_and_torch_vectors_agree_on_100_texts(model, dim):
    texts = _texts()
    assert len(texts) == 100
    settings = make_settings(Path("/nonexistent"), **{"embedding.model": model, "embedding.quantization": "none"})
    onnx = make_embedder(settings.embedding)
    assert isinstance(onnx, OnnxEmbedder)
    torch_backend = make_embedder(settings.embedding.model_copy(update={"runtime": "torch"}))
    assert isinstance(torch_backend, SentenceTransformerEmbedder)
    assert onnx.name == torch_backend.name  # the same index serves both
    a, b = onnx.embed(texts), torch_backend.embed(texts)
    assert a.shape == b.shape == (100, dim) and a.dtype == np.float32
    cos = (a * b).sum(1)
    assert cos.min() >= 0.999, (cos.argmin(), cos.min())
    # one text at a time (MiniLM: on the one-thread session) gives the same vectors
    single = np.stack([onnx.embed([t])[0] for t in texts[:10]])
    assert np.abs(single - a[:10]).max() < 1e-4
    threads = onnx.threads or min(os.cpu_count() or 1, 4)
    # MiniLM answers a short call on one thread; MPNet has one session for every call
    assert sorted(onnx._sessions) == (sorted({1, threads}) if model == "all-MiniLM-L6-v2" else [threads])
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    # the order of the inputs does not change a text's vector (batches are length-sorted)
    np.testing.assert_allclose(onnx.embed(texts[::-1])[::-1], a, atol=1e-5)


def test_the_export_is_cached_by_model_version():
    from rag.onnx_embedder import bundled_model_dir, model_dir_of

    path = onnx_path(bundled_model_dir())
    # the graph is small; its weights are beside it as external data (fast to load)
    assert path.exists() and path.stat().st_size < 5_000_000 and weights_path(path).stat().st_size > 50_000_000
    assert "all-MiniLM-L6-v2-" in path.name
    mpnet = onnx_path(model_dir_of("all-mpnet-base-v2"), "all-mpnet-base-v2")
    assert mpnet.name.startswith("all-mpnet-base-v2-") and mpnet != path


def test_an_export_missing_its_weights_is_made_again(tmp_path, monkeypatch):
    """The graph and its weights are one export: with the weights file gone, the next load
    exports both again (no half export is used, no work folder is left behind)."""
    from rag.onnx_embedder import MINILM, ensure_export

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = ensure_export(MINILM)
    assert path.parent == tmp_path / "rag-papers" / "onnx" and weights_path(path).exists()
    vector = OnnxEmbedder(MINILM).embed(["masked diffusion training"])
    weights_path(path).unlink()
    again = ensure_export(MINILM)
    assert again == path and weights_path(path).exists()
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, weights_path(path).name])
    np.testing.assert_allclose(OnnxEmbedder(MINILM).embed(["masked diffusion training"]), vector, atol=1e-6)


def test_rag_search_does_not_import_torch(full_index):
    settings, _ = full_index
    code = (
        "import sys\n"
        "from rag.cli import main\n"
        f"main(['--set', 'store.path={settings.store.path}', 'search', 'diffusion training on a small budget'])\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'llama_index.core', 'llama_cpp', 'bm25s', 'scipy') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Stretching Each Dollar" in out.stdout
    assert "HEAVY []" in out.stdout, out.stdout[-500:]
