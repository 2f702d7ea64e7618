"""A plain llama-index pipeline over the same papers and models, as an evaluation baseline.

``VectorStoreIndex`` with llama-index's default chunking (``SentenceSplitter``, 1024 tokens,
so one node per abstract here) in its in-memory vector store, and ``CitationQueryEngine``
for answers. The embedder and the LLM are the project's own, passed explicitly through the
adapters below (never through llama-index's global ``Settings``).
"""

from __future__ import annotations

import re
import time
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import PrivateAttr

from .corpus import Paper
from .embeddings import Embedder
from .llm import LLM, Message


class EmbedderAdapter(BaseEmbedding):
    """The project's :class:`Embedder` as a llama-index embedding model."""

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any):
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed([query], kind="query")[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class LLMAdapter(CustomLLM):
    """The project's :class:`LLM` backend as a llama-index LLM (each prompt sent as one user turn)."""

    context_window: int = 4096
    num_output: int = 256
    _llm: Any = PrivateAttr()

    def __init__(self, llm: LLM, **kwargs: Any):
        super().__init__(**kwargs)
        self._llm = llm

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=self.context_window, num_output=self.num_output, model_name=self._llm.name)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        out = self._llm.complete([Message("user", prompt)], max_tokens=self.num_output)
        return CompletionResponse(text=out.text)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        text = self.complete(prompt).text
        yield CompletionResponse(text=text, delta=text)


class LlamaIndexBaseline:
    def __init__(self, papers: list[Paper], embedder: Embedder, llm: LLM | None, top_k: int = 10, answer_k: int = 4):
        from llama_index.core import Document, VectorStoreIndex

        t = time.perf_counter()
        docs = [Document(text=p.abstract, metadata={"title": p.title, "paper_id": p.id}, excluded_embed_metadata_keys=["paper_id"]) for p in papers]
        self.embed_model = EmbedderAdapter(embedder, embed_batch_size=64)
        self.index = VectorStoreIndex.from_documents(docs, embed_model=self.embed_model)
        self.build_seconds = time.perf_counter() - t
        self.retriever = self.index.as_retriever(similarity_top_k=top_k)
        self.llm = LLMAdapter(llm) if llm is not None else None
        self.answer_k = answer_k

    def search(self, question: str) -> list[str]:
        """Paper ids, best first, each once."""
        ids = [n.node.metadata["paper_id"] for n in self.retriever.retrieve(question)]
        return list(dict.fromkeys(ids))

    def answer(self, question: str) -> tuple[str, list[list[str]], list[str]]:
        """Answer text, the paper ids cited by each sentence, and the sentences (markers removed)."""
        from llama_index.core.query_engine import CitationQueryEngine

        from .citations import split_answer

        engine = CitationQueryEngine.from_args(self.index, llm=self.llm, similarity_top_k=self.answer_k)
        response = engine.query(question)
        sources = [n.node.metadata["paper_id"] for n in response.source_nodes]
        text = str(response)
        sentences = split_answer(re.sub(r"Source (\d+)", r"[\1]", text))
        cited = [[sources[n - 1] for n in s.cited if 1 <= n <= len(sources)] for s in sentences]
        return text, cited, [s.text for s in sentences]
