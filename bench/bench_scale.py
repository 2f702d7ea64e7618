"""What a growing collection costs: synthetic collections of 1k, 10k, 100k papers through the
real store (embedded Chroma, and a Chroma server with --server) and the real search cache.

    python bench/bench_scale.py [--sizes 1000,10000,100000] [--server] [--png bench/scale.png]

Papers are generated text: a Zipf-distributed vocabulary of 30,000 made-up words, titles of
6-12 words and abstracts of 6-10 sentences (about 150-250 words, like the bundled ones).
Vectors are random unit vectors (a deterministic embedder registered nowhere, passed to
``ingest`` and ``Retriever``): this measures cost, not quality, and leaves the encoder out.
Each size runs in its own process so peak memory (ru_maxrss) is that size's alone.

Per size: ingest time and peak memory, index size on disk, cold start (a new process that
opens the index and answers one query), and warm search p50/p95 over 50 queries. Prints a
table and draws it as a PNG. Not part of `make test`; `make bench` runs it with 1k and 10k.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, percentile, warm_search_times

VOCAB = 30_000
DIM = 384


class RandomEmbedder:
    """Deterministic random unit vectors keyed by the text (cost only, no meaning)."""

    name = "bench:random-384"
    dim = DIM

    def embed(self, texts, *, kind="document"):
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


SYLLABLES = "ba be ca co de di fa fo ga ge la le li lo ma me mi mo na ne no pa pe po ra re ri ro sa se si so ta te ti to va ve vi".split()


def words(rng: np.random.Generator) -> list[str]:
    """A made-up vocabulary of 1-4 syllable words (tokenizes like English: ~1.5 tokens a word)."""
    out: set[str] = set()
    while len(out) < VOCAB:
        out.add("".join(rng.choice(SYLLABLES, size=rng.integers(1, 5))))
    return sorted(out)


def write_collection(path: Path, n: int, seed: int = 0) -> list[str]:
    """Write ``n`` papers as JSONL; return 50 queries (phrases from random papers)."""
    rng = np.random.default_rng(seed)
    vocab = words(rng)
    ranks = np.arange(1, VOCAB + 1)
    p = 1 / ranks**1.07
    p /= p.sum()
    queries = []
    with path.open("w") as f:
        for i in range(n):
            title = " ".join(vocab[j] for j in rng.choice(VOCAB, size=rng.integers(6, 13), p=p)).capitalize()
            sentences = []
            for _ in range(rng.integers(6, 11)):
                sentences.append(" ".join(vocab[j] for j in rng.choice(VOCAB, size=rng.integers(12, 28), p=p)).capitalize() + ".")
            f.write(json.dumps({"id": f"p{i}", "title": f"{title} {i}", "abstract": " ".join(sentences)}) + "\n")
            if len(queries) < 50 and rng.random() < 50 / n * 2:
                queries.append(" ".join(sentences[0].split()[2:9]))
    return queries


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_size(n: int, server_port: int | None) -> dict:
    """One size, in this process: ingest, size, warm search. Returns the figures."""
    from rag.ingest import ingest
    from rag.retrieve import Retriever
    from rag.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        coll = tmp / "papers.jsonl"
        queries = write_collection(coll, n)
        overrides = {"store.path": str(tmp / "store"), "corpus.paths": [str(coll)], "store.collection_prefix": f"scale{n}"}
        if server_port:
            overrides.update({"store.mode": "server", "store.port": server_port})
        settings = load_settings(overrides=overrides)
        emb = RandomEmbedder()
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        report = ingest(settings, embedder=emb, progress=False)
        ingest_s = time.perf_counter() - t
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size_mb = dir_size(tmp / "store") / 1e6
        if server_port:
            size_mb = float("nan")  # lives in the server's folder (measured by the caller)

        # cold start: a new process opens the index and answers one query
        code = (
            "import sys, time; t = time.perf_counter()\n"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from bench_scale import RandomEmbedder\n"
            "from rag.retrieve import Retriever\n"
            "from rag.settings import load_settings\n"
            f"r = Retriever(load_settings(overrides={overrides!r}), embedder=RandomEmbedder())\n"
            f"r.search({queries[0]!r})\n"
            "print(time.perf_counter() - t)\n"
        )
        cold = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip().splitlines()[-1])

        times = warm_search_times(Retriever(settings, embedder=emb), queries)
        peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "papers": n,
            "chunks": report.chunks_total,
            "ingest_s": round(ingest_s, 2),
            "papers_per_s": round(n / ingest_s, 1),
            "peak_rss_mb": round(max(peak_mb, peak_after), 1),
            "rss_before_mb": round(rss0 / 1024, 1),
            "disk_mb": round(size_mb, 1),
            "cold_s": round(cold, 2),
            "warm_p50_ms": round(percentile(times, 50) * 1000, 1),
            "warm_p95_ms": round(percentile(times, 95) * 1000, 1),
        }


def plot(rows: list[dict], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for mode in sorted({r["mode"] for r in rows}):
        rs = [r for r in rows if r["mode"] == mode]
        xs = [r["papers"] for r in rs]
        for ax, key, label in zip(axes, ("ingest_s", "peak_rss_mb", "warm_p50_ms", "cold_s"), ("ingest (s)", "peak memory (MB)", "warm search p50 (ms)", "cold start (s)")):
            ax.plot(xs, [r[key] for r in rs], marker="o", label=mode)
            ax.set_xscale("log")
            ax.set_xlabel("papers")
            ax.set_title(label)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(png, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--server", action="store_true", help="also through a Chroma server (`chroma run`) on 127.0.0.1")
    ap.add_argument("--server-only", action="store_true", help="only through the Chroma server (e.g. one large size, the embedded rows measured before)")
    ap.add_argument("--png", type=Path, default=ROOT / "bench" / "scale.png")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size here
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_size(args.one, args.port)))
        return
    rows = []
    modes = ["server"] if args.server_only else ["embedded"] + (["server"] if args.server else [])
    for mode in modes:
        for n in [int(x) for x in args.sizes.split(",")]:
            cmd = [sys.executable, __file__, "--one", str(n)]
            server = None
            if mode == "server":
                import socket

                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                data = Path(tempfile.mkdtemp())
                server = subprocess.Popen(
                    [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
                )
                time.sleep(4)
                cmd += ["--port", str(port)]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
                if line is None:
                    print(f"{mode} {n}: failed\n{out.stderr[-1500:]}")
                    continue
                row = {"mode": mode, **json.loads(line[7:])}
                if server is not None:
                    row["disk_mb"] = round(dir_size(data) / 1e6, 1)
            finally:
                if server is not None:
                    server.terminate()
                    server.wait(20)
            rows.append(row)
            print(json.dumps(row), flush=True)
    keys = ["mode", "papers", "chunks", "ingest_s", "papers_per_s", "peak_rss_mb", "disk_mb", "cold_s", "warm_p50_ms", "warm_p95_ms"]
    print("\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")
    if rows:
        plot(rows, args.png)
        print(f"\nplot: {args.png}")


if __name__ == "__main__":
    main()
