"""Every environment variable this package sets, in one place.

Third-party libraries take some settings only from the process environment. The package sets
them through these functions alone, always as defaults (a value the user exported wins), and
never at import time: :func:`quiet_libraries` where a ``rag`` command starts (rag/cli.py),
:func:`chroma_without_telemetry` before chromadb is imported (rag/store.py),
:func:`offline_models` just before the torch embedder loads a model, :func:`offline_tiktoken`
just before tiktoken is first used. Reading variables (``RAG__*`` settings, ``RAG_HOME``,
``XDG_*``, API keys) is done where they are used and changes nothing.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

CHROMA = {"ANONYMIZED_TELEMETRY": "False"}  # chromadb reads it when imported; the client settings say so too
QUIET = {"TRANSFORMERS_VERBOSITY": "error", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
OFFLINE = {
    "HF_HUB_OFFLINE": "1",  # the bundled models are local files: never ask the Hub
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",  # no fork warnings from the tokenizers' thread pool
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def set_defaults(values: Mapping[str, str], environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set each variable that is not set yet; returns the ones it set."""
    env = os.environ if environ is None else environ
    added = {k: v for k, v in values.items() if k not in env}
    env.update(added)
    return added


def quiet_libraries() -> None:
    set_defaults(QUIET)


def chroma_without_telemetry() -> None:
    set_defaults(CHROMA)


def offline_models() -> None:
    set_defaults(OFFLINE)


def offline_tiktoken() -> None:
    """Point tiktoken at the BPE files llama-index ships, so it needs no download."""
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    spec = importlib.util.find_spec("llama_index.core")
    if spec and spec.submodule_search_locations:
        cache = Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
        if cache.is_dir():
            set_defaults({"TIKTOKEN_CACHE_DIR": str(cache)})
