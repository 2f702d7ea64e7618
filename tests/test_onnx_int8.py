"""The int8 graph of an ONNX embedding export (rag/onnx_int8.py): the smoothing scales
exactly, and, with the real bundled models, vectors near the float ones and a cached graph
that is made again when half of it is missing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.onnx_int8 import _as_nbits, calibration_texts, narrows, nbits_weights, smoothing_scales
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


def test_only_the_narrowing_matmuls_are_told_apart():
    assert narrows([3072, 768]) and narrows([1536, 384])
    assert not narrows([768, 768]) and not narrows([768, 3072]) and not narrows([768])


def test_nbits_weights_exact():
    w = np.zeros((128, 2), dtype=np.float32)
    w[:64, 0] = np.linspace(-1.27, 1.27, 64)  # column 0, block 0: max |w| 1.27 -> scale 0.01
    w[64:, 0] = 2.54  # block 1: scale 0.02, every value 127
    q, scales = nbits_weights(w, block=64)
    assert q.shape == (2, 2, 64) and q.dtype == np.uint8 and scales.dtype == np.float32
    np.testing.assert_allclose(scales, [0.01, 0.02, 1.0, 1.0], rtol=1e-6)  # column 1 is zeros: scale 1
    assert q[0, 0, 0] == 128 - 127 and q[0, 0, -1] == 128 + 127 and (q[0, 1] == 255).all() and (q[1] == 128).all()
    dequantized = ((q.astype(np.float32) - 128) * scales.reshape(2, 2, 1)).reshape(2, 128).T
    assert np.abs(dequantized - w).max() <= 0.005 + 1e-6  # half a step of the finer block
    with pytest.raises(Exception, match="blocks of 64"):
        nbits_weights(np.ones((100, 2), dtype=np.float32))


def test_matmul_nbits_in_onnx_runtime_gives_the_product():
    """The op as ONNX Runtime runs it (8-bit weights, int8 activations per block) against
    numpy's float product of the same matrices."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = (rng.standard_normal((256, 32)) * 0.05).astype(np.float32)
    x = rng.standard_normal((1, 5, 256)).astype(np.float32)
    x[..., 7] = 40.0  # an outlier channel, as a GELU output has
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5, 32])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    _as_nbits(model, {"proj"})
    assert [n.op_type for n in model.graph.node] == ["MatMulNBits"] and [i.name for i in model.graph.initializer] == ["w/nbits", "w/nbits_scales"]
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    with pytest.raises(Exception, match="0 of the 1"):
        _as_nbits(model, {"a renamed node"})  # never a graph silently left with float projections
    want = x @ w
    assert np.abs(got - want).max() <= 0.02 * np.abs(want).max()
    cos = (got * want).sum(-1) / np.linalg.norm(got, axis=-1) / np.linalg.norm(want, axis=-1)
    assert cos.min() > 0.999


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

    from rag.onnx_embedder import INT8_VERSION, MINILM, OnnxEmbedder, ensure_export, weights_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with caplog.at_level(logging.INFO):
        path = ensure_export(MINILM, "int8")
    # ONNX Runtime's advice to pre-process (a root-logger warning) and its per-tensor notes are not shown
    assert not [r for r in caplog.records if "quantization" in r.getMessage().lower()], [r.getMessage() for r in caplog.records]
    assert path.name.endswith(f"-int8v{INT8_VERSION}.onnx") and weights_path(path).exists()
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
