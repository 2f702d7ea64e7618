"""The int8 graph of an ONNX embedding export (``embedding.quantization = "int8"``).

Made once from the float export of rag/onnx_embedder.py and cached beside it. Three steps:

1. Calibration: the float graph runs on fixed texts (titles and abstracts of the bundled
   collection, :func:`calibration_texts`) and records, for every weight MatMul, the largest
   absolute value of each input channel.
2. Smoothing (SmoothQuant, Xiao et al. 2023): a transformer's activations have a few channels
   with values 10-100x the rest (all-mpnet-base-v2: one channel at 70 where 99 % of values
   are below 0.9), and int8 with one scale per tensor loses the rest. Each input channel j is
   divided by ``s_j = amax_j ** alpha / wmax_j ** (1 - alpha)`` (a Mul node before the MatMul)
   and the weight's row j multiplied by it: the same product in exact arithmetic, with the
   outliers moved into the weights, which are quantized per output channel.
3. Dynamic int8 quantization (ONNX Runtime's ``quantize_dynamic``) of every weight MatMul
   except the feed-forward output projections (input wider than output), which stay float:
   their input, the GELU output, keeps outliers smoothing does not remove, and quantizing
   them moved all-mpnet-base-v2's vectors to a mean cosine of 0.994 (0.76 without smoothing;
   0.985 over the collection's chunks, and R@5 fell by up to 0.02), against 0.999 with them
   kept float (measured 2026-12-05, 100 texts). Splitting their input instead (the 32-384
   widest channels float, the rest int8) reached only 0.9986 and lost 0.02-0.03 R@5.

Invariants: the int8 graph has the float graph's inputs and output; it is written under a
temporary name and renamed, weights first, like the float export; calibration is
deterministic (same texts, same order), so the same float export always gives the same
int8 graph.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import RagError
from .onnx_embedder import building, feed, save_graph

# migration strength; with every MatMul int8, MPNet's mean cosine to float was 0.993 at 0.7, 0.994 at
# 0.75 and 0.8, 0.991 at 0.9 (smoothing only the feed-forward outputs: 0.86 at 0.5, 0.987 at 0.8)
ALPHA = 0.75
CALIBRATION_PAPERS = 40  # abstracts (and as many other titles) the activation ranges are taken from


class _OrtAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage() and "Quantization parameters for tensor" not in record.getMessage()


def smoothing_scales(act_max: np.ndarray, weight: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """SmoothQuant's per-input-channel scales for a MatMul ``x @ weight`` (``weight``: in x
    out): ``act_max[j] ** alpha / max|weight[j, :]| ** (1 - alpha)``, floored at 1e-5 so a
    dead channel never divides by zero."""
    act_max = np.asarray(act_max, dtype=np.float64)
    w_max = np.abs(np.asarray(weight, dtype=np.float64)).max(axis=1)
    scales = np.power(np.maximum(act_max, 1e-5), alpha) / np.power(np.maximum(w_max, 1e-5), 1 - alpha)
    return np.maximum(scales, 1e-5).astype(np.float32)


def keeps_float(weight_shape: Sequence[int]) -> bool:
    """A MatMul whose weight narrows its input (a feed-forward output projection, 3072 -> 768)
    stays float (see the module docstring)."""
    return len(weight_shape) == 2 and weight_shape[0] > weight_shape[1]


def calibration_texts(papers: int = CALIBRATION_PAPERS) -> list[str]:
    """Titles and abstracts of the bundled collection, in a fixed order: ``papers`` full
    abstracts (title first, as ingest embeds them) and the titles of the next ``papers``."""
    from .corpus import load_collection
    from .settings import PROJECT_ROOT

    found = sorted(load_collection([PROJECT_ROOT / "data" / "seeds"]), key=lambda p: p.id)
    if len(found) < 2 * papers:
        raise RagError(f"the int8 calibration needs {2 * papers} bundled papers in {PROJECT_ROOT / 'data' / 'seeds'}; found {len(found)}")
    return [f"{p.title}. {p.abstract}" for p in found[:papers]] + [p.title for p in found[papers : 2 * papers]]


def quantize(float_graph: Path, out: Path, tokenizer, texts: Sequence[str], alpha: float = ALPHA) -> Path:
    """Write the int8 graph of ``float_graph`` to ``out``, its weights beside it
    (rag/onnx_embedder.py's ``weights_path``): see the module docstring. ``tokenizer`` is the
    model's own, for the calibration ``texts``. Needs ``onnx`` and ONNX Runtime's quantization
    tools; about 30 s for MPNet."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(float_graph))
    inits = {i.name: i for i in model.graph.initializer}
    matmuls = [n for n in model.graph.node if n.op_type == "MatMul" and len(n.input) == 2 and n.input[1] in inits]
    if not matmuls:
        raise RagError(f"{float_graph}: no MatMul with a weight to quantize")
    with building(out, f"making the int8 graph of {float_graph} failed: {{exc}} (set embedding.quantization = \"none\")") as work:
        # 1. calibration: the float graph with every MatMul input as an extra output
        probe = onnx.load(str(float_graph))
        for n in matmuls:
            probe.graph.output.append(helper.make_tensor_value_info(n.input[0], TensorProto.FLOAT, None))
        onnx.save_model(probe, str(work / "probe.onnx"), save_as_external_data=True, location="probe.onnx.data")
        del probe
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = min(os.cpu_count() or 1, 4)
        session = ort.InferenceSession(str(work / "probe.onnx"), opts, providers=["CPUExecutionProvider"])
        wanted = [n.input[0] for n in matmuls]
        inputs = {i.name for i in session.get_inputs()}
        act_max: dict[str, np.ndarray] = {}
        for text in texts:
            for name, x in zip(wanted, session.run(wanted, feed([tokenizer.encode(text)], inputs))):
                m = np.abs(x.reshape(-1, x.shape[-1])).max(axis=0)
                act_max[name] = m if name not in act_max else np.maximum(act_max[name], m)
        del session
        # 2. smoothing: x / s before the MatMul, diag(s) @ W as its weight
        muls = {}
        for n in matmuls:
            w = numpy_helper.to_array(inits[n.input[1]])
            s = smoothing_scales(act_max[n.input[0]], w, alpha)
            inits[n.input[1]].CopyFrom(numpy_helper.from_array((w * s[:, None]).astype(np.float32), n.input[1]))
            scale = f"{n.name}/smooth_scale"
            model.graph.initializer.append(numpy_helper.from_array((1.0 / s).astype(np.float32), scale))
            muls[n.name] = helper.make_node("Mul", [n.input[0], scale], [f"{n.name}/smoothed"], name=f"{n.name}/smooth")
            n.input[0] = f"{n.name}/smoothed"
        ordered = [m for node in model.graph.node for m in ((muls[node.name], node) if node.name in muls else (node,))]
        del model.graph.node[:]
        model.graph.node.extend(ordered)
        onnx.save_model(model, str(work / "smoothed.onnx"), save_as_external_data=True, location="smoothed.onnx.data")
        # 3. int8 weights, one scale per output channel; the narrowing MatMuls stay float
        quantized = [n.name for n in matmuls if not keeps_float(inits[n.input[1]].dims)]
        quiet = _OrtAdvice()  # ONNX Runtime's quantizer advises pre-processing on the root logger: not for users
        logging.getLogger().addFilter(quiet)
        try:
            quantize_dynamic(
                str(work / "smoothed.onnx"), str(work / "int8.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                nodes_to_quantize=quantized, op_types_to_quantize=["MatMul"],
            )
        finally:
            logging.getLogger().removeFilter(quiet)
        save_graph(onnx.load(str(work / "int8.onnx")), work, out)
    return out
