"""Question answering over research-paper abstracts, with checkable citations.

Library entry points (imported lazily, so ``import rag`` is cheap):

- :func:`rag.load_settings` — the typed settings tree
- :func:`rag.ingest` — build or update the index
- :class:`rag.Retriever` — hybrid paper search
- :func:`rag.ask`, :func:`rag.aask`, :func:`rag.ask_stream` — cited answers (:class:`rag.Answer`)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["load_settings", "Settings", "ingest", "Retriever", "ask", "aask", "ask_stream", "Answer", "Answerer"]

if TYPE_CHECKING:
    from .answer import Answer, Answerer, aask, ask, ask_stream
    from .ingest import ingest
    from .retrieve import Retriever
    from .settings import Settings, load_settings

_LAZY = {
    "load_settings": ".settings",
    "Settings": ".settings",
    "ingest": ".ingest",
    "Retriever": ".retrieve",
    "ask": ".answer",
    "aask": ".answer",
    "ask_stream": ".answer",
    "Answer": ".answer",
    "Answerer": ".answer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
