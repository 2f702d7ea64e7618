"""A disk cache of document vectors, so one machine embeds the same text once.

Ingest is the model's work: 1,281 chunks of the bundled collection take about four minutes
with all-mpnet-base-v2 on 2 cores. A second store of the same texts (a fresh clone, another
store path, a test session, a preset that keeps the embedder) reads them from here instead.

Invariants:

* Only an embedder that names its vectors caches them: ``cache_key`` identifies the model,
  its runtime and its weights (ONNX and torch vectors agree only to a cosine of 0.999, so
  they are kept apart); an embedder without one (hashing, OpenAI, a test's fake) is used as is.
* A vector is stored under the SHA-256 of (cache key, text) as float32 bytes and comes back
  bit for bit: a cached ingest writes the same index as an uncached one.
* Queries are never cached (``kind="query"`` goes straight to the model).
* The cache is an optimisation only: a cache that cannot be opened, read or written (locked,
  read-only, corrupt) is logged once and bypassed; it never fails an ingest.
* One SQLite file, ``$XDG_CACHE_HOME/rag-papers/vectors/vectors.sqlite`` (default
  ``~/.cache``); delete it to free the space (about 3 KB per 768-dimension vector).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .embeddings import Embedder, Kind

log = logging.getLogger(__name__)


def default_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-papers" / "vectors" / "vectors.sqlite"


def vector_key(cache_key: str, text: str) -> str:
    return hashlib.sha256(f"{cache_key}\0{text}".encode()).hexdigest()


class VectorCache:
    """Vectors by key in one SQLite file (safe across threads and processes)."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_path()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), timeout=10, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER NOT NULL, data BLOB NOT NULL)")
                conn.commit()
                self._conn = conn
            except (OSError, sqlite3.Error) as exc:
                self._give_up(exc)
        return self._conn

    def _give_up(self, exc: Exception) -> None:
        self._broken = True
        log.warning("vector cache %s is not usable (%s); embedding without it", self.path, exc)

    def get(self, keys: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys`` (of dimension ``dim``)."""
        with self._lock:
            conn = self._connection()
            if conn is None or not keys:
                return {}
            found: dict[str, np.ndarray] = {}
            try:
                for i in range(0, len(keys), 500):
                    part = list(keys[i : i + 500])
                    rows = conn.execute(f"SELECT key, dim, data FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
                    for key, d, data in rows:
                        if d == dim and len(data) == 4 * dim:
                            found[key] = np.frombuffer(data, dtype=np.float32).copy()
            except sqlite3.Error as exc:
                self._give_up(exc)
                return {}
            return found

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            conn = self._connection()
            if conn is None or not items:
                return
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO vectors (key, dim, data) VALUES (?, ?, ?)",
                    [(k, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
                )
                conn.commit()
            except sqlite3.Error as exc:
                self._give_up(exc)


class CachedEmbedder:
    """``inner`` with its document vectors read from and written to ``cache``; the Embedder
    contract, same name and dimension as ``inner``. ``hits`` counts vectors served from the cache."""

    def __init__(self, inner: Embedder, cache: VectorCache, cache_key: str):
        self.inner, self.cache, self.cache_key = inner, cache, cache_key
        self.name, self.dim = inner.name, inner.dim
        self.hits = 0

    def embed(self, texts: Sequence[str], *, kind: Kind = "document") -> np.ndarray:
        if kind != "document" or not texts:
            return self.inner.embed(texts, kind=kind)
        keys = [vector_key(self.cache_key, t) for t in texts]
        found = self.cache.get(keys, self.dim)
        missing = [i for i, k in enumerate(keys) if k not in found]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if missing:
            fresh = self.inner.embed([texts[i] for i in missing], kind=kind)
            out[missing] = fresh
            self.cache.put({keys[i]: fresh[j] for j, i in enumerate(missing)})
        for i, k in enumerate(keys):
            if k in found:
                out[i] = found[k]
        self.hits += len(texts) - len(missing)
        return out


def cached(embedder: Embedder, cache: VectorCache | None = None) -> Embedder:
    """``embedder`` behind the vector cache when it names its vectors (``cache_key``), else
    itself. A :class:`CachedEmbedder` given again is rewrapped with its own cache and a fresh
    ``hits`` count (one ingest's count)."""
    if isinstance(embedder, CachedEmbedder):
        return CachedEmbedder(embedder.inner, cache or embedder.cache, embedder.cache_key)
    key = getattr(embedder, "cache_key", None)
    if not key:
        return embedder
    return CachedEmbedder(embedder, cache or VectorCache(), key)
