"""Shared fixtures: real components (Chroma in a temp dir, the bundled embedding model)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from rag.llm import register as register_llm
from rag.settings import PROJECT_ROOT, Settings, load_settings

SEEDS = PROJECT_ROOT / "data" / "seeds"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


class ScriptedLLM:
    """The tests' LLM: registered like the real backends (``llm.backend = "scripted"``), it
    replies with the texts queued on it, in order, then with ``default``, and keeps the
    prompts it was given (``prompts == []``: it was never asked). A queued reply may be a
    function of the messages (to answer from the sources it was given) and may end with
    ``finish_reason = "length"`` (cut at the token limit). Answer-logic tests use it where the
    real model cannot be made to produce a case on demand; the end-to-end tests use the real
    model."""

    name = "scripted"

    def __init__(self, settings: Settings | None = None):
        self.replies: list[tuple[str | Callable[[list], str], str]] = []
        self.default = "The sources do not answer this question."
        self.prompts: list = []

    def enqueue(self, *texts: str | Callable[[list], str], finish_reason: str = "stop") -> ScriptedLLM:
        self.replies.extend((t, finish_reason) for t in texts)
        return self

    def complete(self, messages, *, max_tokens=None, on_token=None, cancel=None):
        from rag.llm import Completion

        self.prompts.append(messages)
        reply, finish = self.replies.pop(0) if self.replies else (self.default, "stop")
        text = reply(messages) if callable(reply) else reply
        if on_token is not None:
            on_token(text)
        return Completion(text, self.name, sum(len(m.content) for m in messages) // 4, len(text.split()), 0.0, 0.0, finish, True)


register_llm("scripted")(ScriptedLLM)


def scripted_llm(settings: Settings, default: str | None = None) -> ScriptedLLM:
    """A ScriptedLLM made the way the pipeline makes any backend (rag.llm.make_llm)."""
    from rag.llm import make_llm

    llm = make_llm(settings.model_copy(update={"llm": settings.llm.model_copy(update={"backend": "scripted"})}))
    if default is not None:
        llm.default = default
    return llm


def make_settings(store: Path, **overrides) -> Settings:
    """Settings for a test: a private store folder, otherwise the project's defaults."""
    return load_settings(overrides={"store.path": str(store), **overrides}, environ={})


@pytest.fixture(scope="session")
def embedder():
    from rag.embeddings import make_embedder

    return make_embedder(make_settings(Path("/nonexistent")).embedding)


@pytest.fixture(scope="session")
def full_index(tmp_path_factory, embedder):
    """The whole bundled collection ingested once with the real model, shared by tests."""
    from rag.ingest import ingest

    store = tmp_path_factory.mktemp("full-index")
    settings = make_settings(store)
    report = ingest(settings, embedder=embedder, progress=False)
    return settings, report


@pytest.fixture(scope="session")
def retriever(full_index, embedder):
    from rag.retrieve import Retriever

    settings, _ = full_index
    return Retriever(settings, embedder=embedder)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def check_references(answer, retriever) -> None:
    """Citations point only at retrieved papers (which exist in the index), numbered 1..n by
    first use, every reference's sentence and quotes are the abstract at their offsets (the
    sentence among the quotes, which are in abstract order), and every [n] resolves."""
    import re

    retrieved = {p.paper_id for p in answer.retrieved}
    assert [r.n for r in answer.references] == list(range(1, len(answer.references) + 1))
    for ref in answer.references:
        assert ref.paper_id in retrieved
        paper = retriever.paper(ref.paper_id)
        assert paper.title == ref.title
        assert paper.abstract[ref.start : ref.end] == ref.sentence
        spans = [(q.start, q.end) for q in ref.quotes]
        assert ref.quotes and (ref.start, ref.end) in spans and spans == sorted(set(spans)), ref
        assert all(paper.abstract[q.start : q.end] == q.text for q in ref.quotes)
    used = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert set(used) == {r.n for r in answer.references}, answer.text
    first_use = list(dict.fromkeys(used))
    assert first_use == sorted(first_use), answer.text


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_server(argv: list[str], port: int, log_path: Path, timeout: float = 120):
    """Start a real server process on 127.0.0.1:port, wait until it accepts connections, stop it after."""
    import socket
    import subprocess
    import time

    log = open(log_path, "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        deadline = time.time() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"{argv[0]} exited: " + log_path.read_text()[-2000:])
                if time.time() > deadline:
                    pytest.fail(f"{argv[0]} did not start in {timeout:.0f} s")
                time.sleep(0.3)
        yield proc
    finally:
        stop_process(proc)
        log.close()


def stop_process(proc) -> None:
    """SIGTERM, then SIGKILL after 20 s; reaped either way."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
