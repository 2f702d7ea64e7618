"""The int8 graph of an ONNX embedding export (rag/onnx_int8.py): the smoothing scales
exactly, and, with the real bundled models, vectors near the float ones and a cached graph
that is made again when half of it is missing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.onnx_int8 import calibration_texts, keeps_float, smoothing_scales
from rag.settings import PROJECT_ROOT


def test_smoothing_scales_are_smoothquants_formula():
    act = np.array([8.0, 1.0, 0.0])
    w = np.array([[0.5, -2.0], [1.0, 0.25], [0.0, 0.0]])
    s = smoothing_scales(act, w, alpha=0.5)
    # sqrt(8) / sqrt(2) = 2; sqrt(1) / sqrt(1) = 1; a dead channel: floors, never 0 or inf
    np.testing.assert_allclose(s[:2], [2.0, 1.0], rtol=1e-6)
    assert np.isfinite(s[2]) and s[2] > 0
    np.testing.assert_allclose(smoothing_scales(act, w, alpha=1.0)[:2], [8.0, 1.0], rtol=1e-6)  # all of it moves to the weights
    np.testing.assert_allclose(smoothing_scales(act, w, alpha=0.0)[:2], [0.5, 1.0], rtol=1e-6)  # 1 / max|w|
    # the product x @ w is unchanged: (x / s) @ (diag(s) w)
    x = np.array([[4.0, -1.0, 0.0]])
    np.testing.assert_allclose((x / s) @ (w * s[:, None]), x @ w, rtol=1e-6)


def test_only_the_narrowing_matmuls_stay_float():
    assert keeps_float([3072, 768]) and keeps_float([1536, 384])
    assert not keeps_float([768, 768]) and not keeps_float([768, 3072]) and not keeps_float([768])


def test_calibration_is_the_same_texts_every_time():
    texts = calibration_texts()
    assert len(texts) == 80 and texts == calibration_texts()
    assert all(len(t) > 200 for t in texts[:40]) and all(len(t) < 300 for t in texts[40:])


def _texts() -> list[str]:
    rows = [json.loads(x) for x in (PROJECT_ROOT / "eval" / "datasets" / "users4.jsonl").read_text().splitlines() if x.strip()]
    seed = sorted((PROJECT_ROOT / "data" / "seeds").glob("*.txt"))[1].read_text(encoding="utf-8")
    abstracts = [p for p in seed.split("\n\n") if len(p) > 400][:30]
    return [r["question"] for r in rows] + abstracts


@pytest.mark.slow
@pytest.mark.parametrize("model", ["all-mpnet-base-v2", "all-MiniLM-L6-v2"])
def test_int8_vectors_are_near_the_float_ones(model):
    from rag.onnx_embedder import OnnxEmbedder

    texts = _texts()
    assert len(texts) == 100
    f, q = OnnxEmbedder(model), OnnxEmbedder(model, quantization="int8")
    a, b = f.embed(texts), q.embed(texts)
    cos = (a * b).sum(1)
    assert cos.mean() >= 0.998 and cos.min() >= 0.995, (cos.mean(), cos.min())
    assert cos.min() < 0.99999  # a different graph: the weights really are int8
    assert q.cache_key != f.cache_key and q.name == f.name + "@int8"
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_an_int8_graph_missing_its_weights_is_made_again(tmp_path, monkeypatch, caplog):
    import logging

    from rag.onnx_embedder import MINILM, OnnxEmbedder, ensure_export, weights_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with caplog.at_level(logging.INFO):
        path = ensure_export(MINILM, "int8")
    # ONNX Runtime's advice to pre-process (a root-logger warning) and its per-tensor notes are not shown
    assert not [r for r in caplog.records if "quantization" in r.getMessage().lower()], [r.getMessage() for r in caplog.records]
    assert path.name.endswith("-int8v1.onnx") and weights_path(path).exists()
    vector = OnnxEmbedder(MINILM, quantization="int8").embed(["masked diffusion training"])
    weights_path(path).unlink()
    assert ensure_export(MINILM, "int8") == path and weights_path(path).exists()
    # the float export and the int8 graph, each with its weights; no work folder left behind
    assert len(list(path.parent.iterdir())) == 4
    np.testing.assert_allclose(OnnxEmbedder(MINILM, quantization="int8").embed(["masked diffusion training"]), vector, atol=1e-6)
    # a cached int8 graph is used as it is: the float export it came from is not needed again
    from rag.onnx_embedder import bundled_model_dir, onnx_path

    float_graph = onnx_path(bundled_model_dir())
    float_graph.unlink()
    weights_path(float_graph).unlink()
    assert ensure_export(MINILM, "int8") == path and not float_graph.exists()
