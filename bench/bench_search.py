"""`rag search` latency: warm (in-process, 50 queries) and cold (one new process).

Warm: one Retriever, loaded and warmed, answers 50 dev-set questions; p50/p95 of the
search call. Cold: wall time of `rag search "..."` as a new process (ONNX and torch
embedding runtimes), 3 runs each, interleaved with the baseline `python -c "import chromadb,
numpy"`, plus the import cost of the heavy modules measured in a fresh interpreter. The
default (all-mpnet-base-v2 on its int8 graph), the float MPNet (embedding.quantization =
"none") and `--preset minilm` are measured side by side.

    python bench/bench_search.py [--store DIR]

``--store``: use the indexes already in DIR (e.g. .rag, after `rag ingest`, `rag ingest --set
embedding.quantization=none` and `rag ingest --preset minilm`) instead of ingesting the bundled
collection into a temporary folder three times
(about 5 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, dev_questions, summary, warm_search_times

from rag.ingest import ingest
from rag.retrieve import Retriever
from rag.settings import load_settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=None, help="reuse the indexes in this store folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = str(args.store.resolve()) if args.store else tmp
        overrides = {"store.path": store}
        # (preset, overrides): the default (MPNet, int8 graph), MPNet float, MiniLM (float)
        configs = ((None, {}), (None, {"embedding.quantization": "none"}), ("minilm", {}))
        if args.store is None:
            for preset, extra in configs:
                ingest(load_settings(overrides={**overrides, **extra}, preset=preset), progress=False)
        questions = dev_questions(50)
        for preset, extra in configs:
            for mode in ("hybrid", "dense", "bm25"):
                s = load_settings(overrides={**overrides, **extra, "retrieval.mode": mode}, preset=preset)
                r = Retriever(s)
                r.warm()
                times = warm_search_times(r, questions)
                name = f"{s.embedding.model} {s.embedding.quantization}"
                print(f"warm search ({name}, {mode:6}, {len(times)} queries): {summary(times)}")

        env = {**os.environ, "RAG__STORE__PATH": store}

        def wall(cmd: list[str], extra: dict[str, str] | None = None, runs: int = 3) -> list[float]:
            out = []
            for _ in range(runs):
                t = time.perf_counter()
                subprocess.run(cmd, env={**env, **(extra or {})}, cwd=ROOT, check=True, capture_output=True)
                out.append(time.perf_counter() - t)
            return out

        # interleaved, so a busy machine slows all of them alike
        search = [sys.executable, "-m", "rag.cli", "search", questions[0]]
        runs: dict[str, list[float]] = {"baseline": [], "onnx int8 (default)": [], "onnx float": [], "onnx, minilm": [], "torch": []}
        for _ in range(3):
            runs["baseline"] += wall([sys.executable, "-c", "import chromadb, numpy"], runs=1)
            runs["onnx int8 (default)"] += wall(search, runs=1)
            runs["onnx float"] += wall(search, {"RAG__EMBEDDING__QUANTIZATION": "none"}, runs=1)
            runs["onnx, minilm"] += wall(search, {"RAG_PRESET": "minilm"}, runs=1)
            runs["torch"] += wall(search, {"RAG__EMBEDDING__RUNTIME": "torch", "RAG__EMBEDDING__QUANTIZATION": "none"}, runs=1)
        b = statistics.median(runs.pop("baseline"))
        print(f"cold baseline `python -c 'import chromadb, numpy'`: median {b:.2f} s")
        for name, xs in runs.items():
            m = statistics.median(xs)
            print(f"cold `rag search` process, {name:<14}: median {m:.2f} s = {m / b:.2f} x baseline, runs {[round(x, 2) for x in xs]}")
        for mod in ("rag.cli", "chromadb", "llama_index.core", "torch", "sentence_transformers"):
            code = f"import time; t=time.perf_counter(); import {mod}; print(time.perf_counter()-t)"
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            print(f"  import {mod:<22} {float(out):.2f} s (fresh interpreter)")


if __name__ == "__main__":
    main()
