"""The embedder interface and its backends.

One narrow interface: ``embed(texts, kind=...)`` returns L2-normalized float32 vectors.
Backends register themselves in ``EMBEDDERS`` by the name used in
``settings.embedding.provider``; the deterministic ``hashing`` embedder is registered the
same way as the real ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import numpy as np

from .environment import offline_models
from .errors import ConfigError
from .settings import EmbeddingSettings, resolve_path

log = logging.getLogger(__name__)

Kind = Literal["document", "query"]
BUNDLED_MINILM = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str
    """Identity of the model (provider:model), recorded in the index."""
    dim: int

    def embed(self, texts: Sequence[str], *, kind: Kind = "document") -> np.ndarray:
        """Vectors of shape (len(texts), dim), L2-normalized, float32."""
        ...


EMBEDDERS: dict[str, Callable[[EmbeddingSettings], Embedder]] = {}


def register(provider: str) -> Callable[[Callable[[EmbeddingSettings], Embedder]], Callable[[EmbeddingSettings], Embedder]]:
    def deco(factory: Callable[[EmbeddingSettings], Embedder]) -> Callable[[EmbeddingSettings], Embedder]:
        EMBEDDERS[provider] = factory
        return factory

    return deco


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    try:
        factory = EMBEDDERS[settings.provider]
    except KeyError:
        raise ConfigError(f"unknown embedding.provider '{settings.provider}' (known: {', '.join(EMBEDDERS)})") from None
    return factory(settings)


def judge_embedder(model: str, retrieval: Embedder, embedding: EmbeddingSettings) -> Embedder:
    """The embedder of evidence selection and the support judge (``answer.judge_embedding``):
    the retrieval embedder itself when ``model`` is empty or is the retrieval model, else the
    bundled sentence-transformers ``model`` on ``embedding.runtime``."""
    if not model or retrieval.name == f"sentence-transformers:{model}":
        return retrieval
    # float, always: the judge's thresholds were calibrated on float cosines
    own = EmbeddingSettings(provider="sentence-transformers", model=model, runtime=embedding.runtime, batch_size=embedding.batch_size, quantization="none")
    return make_embedder(own)


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


# -- sentence-transformers (default: the bundled all-mpnet-base-v2) -------------------


class SentenceTransformerEmbedder:
    def __init__(self, settings: EmbeddingSettings):
        self.settings = settings
        self.name = f"sentence-transformers:{settings.model}"
        self._model = None
        self._lock = threading.Lock()
        if settings.model == BUNDLED_MINILM:
            self.dim = 384
        else:  # sentence-transformers 6 renamed the method
            get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            self.dim = get_dim()

    @property
    def model(self):  # loaded on first use: importing torch costs seconds
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self):
        offline_models()
        from .models import BUNDLED_EMBEDDERS, resolve_embedder_dir

        if self.settings.model == BUNDLED_MINILM:
            from .onnx_embedder import bundled_model_dir

            path = str(bundled_model_dir())
        elif self.settings.model in BUNDLED_EMBEDDERS:
            path = str(resolve_embedder_dir(BUNDLED_EMBEDDERS[self.settings.model]))
        else:
            path = str(resolve_path(self.settings.model))
            if not os.path.isdir(path):
                raise ConfigError(f"embedding.model: '{self.settings.model}' is not a local model folder (no downloads here)")
        from sentence_transformers import SentenceTransformer

        log.debug("loading sentence-transformers model from %s", path)
        return SentenceTransformer(path, device="cpu")

    @property
    def cache_key(self) -> str | None:
        """Names these vectors for :mod:`rag.vector_cache`: a bundled model on torch; a local
        model folder can change under the same name, so its vectors are not cached."""
        return f"torch:{self.settings.model}" if is_bundled(self.settings.model) else None

    def embed(self, texts: Sequence[str], *, kind: Kind = "document") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(
            list(texts), batch_size=self.settings.batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        return np.asarray(vecs, dtype=np.float32)


def is_bundled(model: str) -> bool:
    """Is ``model`` one of the embedding models this project ships (MiniLM, all-mpnet-base-v2)?"""
    from .models import BUNDLED_EMBEDDERS

    return model == BUNDLED_MINILM or model in BUNDLED_EMBEDDERS


@register("sentence-transformers")
def _sentence_transformers(settings: EmbeddingSettings) -> Embedder:
    bundled = is_bundled(settings.model)
    if settings.runtime == "onnx" and bundled:
        from .onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(settings.model, batch_size=settings.batch_size, quantization=settings.quantization)
    if bundled and settings.quantization != "none":
        raise ConfigError(
            f'embedding.quantization = "{settings.quantization}" runs on ONNX Runtime only: set embedding.runtime = "onnx" '
            'or embedding.quantization = "none"'
        )
    return SentenceTransformerEmbedder(settings)


# -- OpenAI -----------------------------------------------------------------------------


class OpenAIEmbedder:
    def __init__(self, settings: EmbeddingSettings, api_key_env: str = "OPENAI_API_KEY", base_url: str | None = None):
        key = os.environ.get(api_key_env)
        if not key:
            raise ConfigError(f"embedding.provider = openai needs an API key: set the environment variable {api_key_env}")
        from openai import OpenAI

        self.client = OpenAI(api_key=key, base_url=base_url, timeout=30, max_retries=3)
        self.settings = settings
        self.name = f"openai:{settings.model}"
        self.dim = settings.dimensions

    def embed(self, texts: Sequence[str], *, kind: Kind = "document") -> np.ndarray:
        out: list[list[float]] = []
        for i in range(0, len(texts), max(self.settings.batch_size, 1)):
            resp = self.client.embeddings.create(
                model=self.settings.model, input=list(texts[i : i + self.settings.batch_size]), dimensions=self.dim
            )
            out.extend(d.embedding for d in resp.data)
        return _normalize(np.array(out, dtype=np.float32).reshape(len(out), -1))


@register("openai")
def _openai(settings: EmbeddingSettings) -> Embedder:
    return OpenAIEmbedder(settings)


# -- hashing (deterministic, no model) ----------------------------------------------------


class HashingEmbedder:
    """Signed feature hashing of lower-cased word unigrams and bigrams.

    No model and no randomness: the same text always gives the same vector. Lexical only,
    so it is a fast stand-in for tests of the pipeline's plumbing, not a semantic model.
    """

    def __init__(self, settings: EmbeddingSettings):
        self.dim = settings.dimensions
        self.name = f"hashing:{self.dim}"

    def embed(self, texts: Sequence[str], *, kind: Kind = "document") -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"[a-z0-9]+", text.lower())
            for feat in words + [a + " " + b for a, b in zip(words, words[1:])]:
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        return _normalize(out)


@register("hashing")
def _hashing(settings: EmbeddingSettings) -> Embedder:
    return HashingEmbedder(settings)
