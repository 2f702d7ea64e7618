"""Ingest throughput of the whole pipeline vs. the raw embedding model, in one process.

Baseline: ``SentenceTransformer.encode`` over exactly the texts the pipeline embeds
(title + chunk), same batch size, model already loaded. Pipeline: ``rag.ingest`` of the
bundled collection into a fresh temporary Chroma store with the same model instance
(parse, chunk, embed, write to Chroma, build the BM25 cache). Both run twice, alternating;
the best of each is compared. Target: pipeline / raw throughput >= 0.85.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rag.chunking import embedding_text
from rag.corpus import load_collection
from rag.embeddings import make_embedder
from rag.ingest import _stored_chunks, ingest
from rag.settings import load_settings


def main(rounds: int = 2) -> None:
    base = load_settings()
    embedder = make_embedder(base.embedding)
    papers = load_collection(base.corpus_paths())
    texts = [embedding_text(c.title, c.text, base.chunking) for p in papers for c in _stored_chunks(p, base)]
    embedder.embed(texts[:64])  # load and warm the model

    raw, pipe = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        embedder.model.encode(texts, batch_size=base.embedding.batch_size, normalize_embeddings=True, show_progress_bar=False)
        raw.append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(overrides={"store.path": str(Path(tmp))})
            t = time.perf_counter()
            report = ingest(settings, embedder=embedder, progress=False)
            pipe.append(time.perf_counter() - t)
            t = time.perf_counter()
            ingest(settings, embedder=embedder, progress=False)
            unchanged = time.perf_counter() - t
    n = len(texts)
    print(f"chunks: {n} from {len(papers)} papers ({report.chunks_total} stored)")
    print(f"raw encode:   best {min(raw):.2f} s  ({n / min(raw):.1f} chunks/s)  runs {[round(x, 2) for x in raw]}")
    print(f"full ingest:  best {min(pipe):.2f} s  ({n / min(pipe):.1f} chunks/s)  runs {[round(x, 2) for x in pipe]}")
    print(f"throughput ratio (pipeline / raw): {min(raw) / min(pipe):.3f}   target >= 0.85")
    print(f"re-ingest of the unchanged collection: {unchanged:.2f} s")


if __name__ == "__main__":
    main()
