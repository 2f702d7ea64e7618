"""Ingest throughput of the whole pipeline vs. the raw embedding model, in one process.

Baseline: the raw torch encoder, ``SentenceTransformer.encode`` over exactly the texts the
pipeline embeds (title + chunk), same batch size, model already loaded. Pipeline:
``rag.ingest`` of the bundled collection into a fresh temporary Chroma store (parse, chunk,
embed, write to Chroma, build the search cache) with the default embedding runtime (ONNX)
(int8 graph, embedding.quantization), with the float ONNX graph and with torch (float), models
already loaded, the vector cache off (every chunk is embedded, as on a new machine). All run
twice (``python bench/bench_ingest.py ROUNDS`` to change), alternating; the best of each is
compared. Target: pipeline (default) / raw torch throughput >= 1.2.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from rag.chunking import embedding_text
from rag.corpus import load_collection
from rag.embeddings import make_embedder
from rag.ingest import _stored_chunks, ingest
from rag.settings import load_settings


def main(rounds: int = int(sys.argv[1]) if len(sys.argv) > 1 else 2) -> None:
    base = load_settings()
    embedder = make_embedder(base.embedding)
    float_embedder = make_embedder(base.embedding.model_copy(update={"quantization": "none"}))
    # torch has no int8: the raw baseline and the torch pipeline run the float model
    torch_embedder = make_embedder(base.embedding.model_copy(update={"runtime": "torch", "quantization": "none"}))
    papers = load_collection(base.corpus_paths())
    texts = [embedding_text(c.title, c.text, base.chunking) for p in papers for c in _stored_chunks(p, base)]
    for emb in (embedder, float_embedder, torch_embedder):  # load and warm the models
        emb.embed(texts[:64])

    raw, pipe, pipe_float, pipe_torch = [], [], [], []
    for _ in range(rounds):
        t = time.perf_counter()
        torch_embedder.model.encode(texts, batch_size=base.embedding.batch_size, normalize_embeddings=True, show_progress_bar=False)
        raw.append(time.perf_counter() - t)
        for emb, times in ((embedder, pipe), (float_embedder, pipe_float), (torch_embedder, pipe_torch)):
            with tempfile.TemporaryDirectory() as tmp:
                # no vector cache: every chunk is embedded, as on a new machine
                settings = load_settings(overrides={"store.path": str(Path(tmp)), "embedding.vector_cache": False})
                t = time.perf_counter()
                report = ingest(settings, embedder=emb, progress=False)
                times.append(time.perf_counter() - t)
                if emb is embedder:
                    t = time.perf_counter()
                    ingest(settings, embedder=emb, progress=False)
                    unchanged = time.perf_counter() - t
    n = len(texts)
    print(f"chunks: {n} from {len(papers)} papers ({report.chunks_total} stored)")
    print(f"raw torch encode:      best {min(raw):.2f} s  ({n / min(raw):.1f} chunks/s)  runs {[round(x, 2) for x in raw]}")
    print(f"full ingest, default:   best {min(pipe):.2f} s  ({n / min(pipe):.1f} chunks/s)  runs {[round(x, 2) for x in pipe]}")
    print(f"full ingest, onnx float: best {min(pipe_float):.2f} s  ({n / min(pipe_float):.1f} chunks/s)  runs {[round(x, 2) for x in pipe_float]}")
    print(f"full ingest, torch:     best {min(pipe_torch):.2f} s  ({n / min(pipe_torch):.1f} chunks/s)  runs {[round(x, 2) for x in pipe_torch]}")
    print(f"throughput ratio (default pipeline / raw torch): {min(raw) / min(pipe):.3f}   target >= 1.2")
    print(f"throughput ratio (onnx float pipeline / raw torch): {min(raw) / min(pipe_float):.3f}")
    print(f"throughput ratio (torch pipeline / raw torch):   {min(raw) / min(pipe_torch):.3f}")
    print(f"re-ingest of the unchanged collection: {unchanged:.2f} s")


if __name__ == "__main__":
    main()
